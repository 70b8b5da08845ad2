from django.db import transaction

from .errors import DomainError
from .models import User
from .selectors import works_for


def user_sign_up(*, email: str, password: str, full_name: str = "", time_zone: str = "") -> User:
    """Create a client account."""
    with transaction.atomic():
        return User.objects.create_user(
            email=email,
            password=password,
            full_name=full_name.strip(),
            role=User.Role.CLIENT,
            time_zone=time_zone,
        )


def user_set_time_zone(*, user: User, time_zone: str) -> None:
    user.time_zone = time_zone
    user.save(update_fields=["time_zone"])


def require_works_for(actor: User | None, studio_id: int, *, staff_only: bool = False) -> None:
    """Refuse anyone who does not work for the studio (only its staff, when `staff_only`)."""
    if not works_for(actor, studio_id, staff_only=staff_only):
        raise DomainError("studio_staff_only" if staff_only else "studio_only")
