import zoneinfo

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/Berlin).")


class Studio(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    currency = models.CharField(max_length=3, default="EUR", help_text="ISO 4217 code")
    address = models.TextField(blank=True)
    email = models.EmailField(blank=True)
    cancellation_cutoff_hours = models.PositiveIntegerField(
        default=24, help_text="Clients may cancel or reschedule until this many hours before."
    )
    hold_minutes = models.PositiveIntegerField(
        default=10, help_text="How long a slot stays reserved while the client finishes booking."
    )

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **fields):
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **fields):
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True, role=User.Role.STAFF)
        return self._create(email, password, **fields)


class User(AbstractUser):
    """Anyone who logs in; `role` says what they do at a studio."""

    class Role(models.TextChoices):
        CLIENT = "client", "Client"
        PHOTOGRAPHER = "photographer", "Photographer"
        STAFF = "staff", "Studio staff / owner"

    username = None
    email = models.EmailField("e-mail address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CLIENT)
    studio = models.ForeignKey(
        Studio,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        help_text="The studio a photographer or staff member works for.",
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="The zone this person sees times in; empty until detected in their browser.",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def is_photographer(self) -> bool:
        return self.role == self.Role.PHOTOGRAPHER

    @property
    def is_studio_staff(self) -> bool:
        return self.role == self.Role.STAFF
