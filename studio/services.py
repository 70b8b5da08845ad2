from django.db import transaction

from .models import User


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
