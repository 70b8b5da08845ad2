"""The one way to write the audit log: inside the transaction of the change it records."""

from django.db import transaction

from .models import AuditEvent, User


def audit_record(
    *,
    kind: AuditEvent.Kind,
    actor: User | None,
    studio_id: int | None = None,
    booking_id: int | None = None,
    gallery_id: int | None = None,
    photo_id: int | None = None,
    **details,
) -> AuditEvent:
    """Record that `actor` (None: the platform itself) did `kind`; `details` must be JSON-ready.

    Refuses to run outside a transaction: a record written beside its change, rather than with
    it, could tell of a change that was rolled back, or miss one that was not.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"audit_record({kind}) must run inside the change's transaction")
    return AuditEvent.objects.create(
        kind=kind,
        actor=actor,
        studio_id=studio_id,
        booking_id=booking_id,
        gallery_id=gallery_id,
        photo_id=photo_id,
        details=details,
    )
