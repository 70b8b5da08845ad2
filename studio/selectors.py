"""Reads about people and the studio they work for (the one home of "works for this studio"),
and the audit log's histories."""

from django.db.models import QuerySet

from .models import AuditEvent, User


def employer_of(user: User | None, *, staff_only: bool = False) -> int | None:
    """Return the id of the studio `user` works for (as a photographer, or as staff only when
    `staff_only`), or None for clients, visitors and anyone without a studio."""
    if user is None or not user.is_authenticated or not user.studio_id:
        return None
    roles = (User.Role.STAFF,) if staff_only else (User.Role.PHOTOGRAPHER, User.Role.STAFF)
    return user.studio_id if user.role in roles else None


def works_for(user: User | None, studio_id: int | None, *, staff_only: bool = False) -> bool:
    """Whether `user` works for the studio `studio_id` (its staff only, when `staff_only`)."""
    return studio_id is not None and employer_of(user, staff_only=staff_only) == studio_id


def booking_history(*, booking_id: int) -> QuerySet[AuditEvent]:
    """Return what happened to a booking, oldest first, with who did it."""
    return AuditEvent.objects.filter(booking_id=booking_id).select_related("actor")


def gallery_history(*, gallery_id: int) -> QuerySet[AuditEvent]:
    """Return what happened to a gallery and its photos, oldest first, with who did it."""
    return AuditEvent.objects.filter(gallery_id=gallery_id).select_related("actor")
