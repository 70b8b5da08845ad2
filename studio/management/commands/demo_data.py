"""Load a demo studio: owner, two photographers, a client, session types and working hours."""

from datetime import time, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from booking.models import AvailabilityException, SessionType, WeeklyHours
from studio.models import Studio, User

PASSWORD = "demo-studio-2026"
SESSION_TYPES = [
    # name, minutes, price, deposit, buffer before/after, notice hours, location
    ("Studio headshot", 30, 15000, 0, 0, 15, 12, SessionType.Location.STUDIO),
    ("Portrait session", 60, 29000, 0, 15, 15, 24, SessionType.Location.STUDIO),
    ("Family shoot on location", 90, 45000, 0, 30, 30, 48, SessionType.Location.ON_LOCATION),
]


class Command(BaseCommand):
    help = "Create (or refresh) a demo studio with photographers, session types and availability."

    @transaction.atomic
    def handle(self, *args, **options):
        studio, _ = Studio.objects.update_or_create(
            slug="lumen",
            defaults={
                "name": "Lumen Photo Studio",
                "time_zone": "Europe/Berlin",
                "currency": "EUR",
                "address": "Torstraße 1, 10119 Berlin",
                "email": "hello@lumen.example",
                "cancellation_cutoff_hours": 24,
                "hold_minutes": 10,
            },
        )
        logins = [
            self._user("owner@lumen.example", "Olivia Owner", User.Role.STAFF, studio, admin=True),
            self._user("ana@lumen.example", "Ana Photographer", User.Role.PHOTOGRAPHER, studio),
            self._user("ben@lumen.example", "Ben Photographer", User.Role.PHOTOGRAPHER, studio),
            self._user("client@example.com", "Chris Client", User.Role.CLIENT, None),
        ]
        for name, minutes, price, deposit, before, after, notice, location in SESSION_TYPES:
            SessionType.objects.update_or_create(
                studio=studio,
                slug=name.lower().replace(" ", "-"),
                defaults={
                    "name": name,
                    "duration_minutes": minutes,
                    "price_minor": price,
                    "deposit_minor": deposit,
                    "buffer_before_minutes": before,
                    "buffer_after_minutes": after,
                    "min_notice_minutes": notice * 60,
                    "max_advance_days": 90,
                    "slot_step_minutes": 30,
                    "location": location,
                },
            )
        ana, ben = logins[1], logins[2]
        self._hours(ana, [(day, time(9), time(17)) for day in range(5)] + [(5, time(10), time(14))])
        self._hours(ben, [(day, time(12), time(20)) for day in range(1, 6)])
        today = timezone.now().astimezone(studio.zone).date()
        AvailabilityException.objects.filter(photographer__in=[ana, ben]).delete()
        AvailabilityException.objects.create(
            photographer=ana, date=today + timedelta(days=10), kind="time_off", note="Holiday"
        )
        AvailabilityException.objects.create(
            photographer=ben,
            date=today + timedelta(days=6 - today.weekday() + 7),
            kind="extra_hours",
            start_time=time(10),
            end_time=time(16),
            note="Sunday special",
        )
        self.stdout.write(
            self.style.SUCCESS(f"Demo studio ready. Log in with (password {PASSWORD}):")
        )
        for user in logins:
            self.stdout.write(f"  {user.get_role_display():22} {user.email}")
        self._gallery(studio, ana, logins[3])

    def _gallery(self, studio, photographer, client) -> None:
        """A delivered shoot: a past booking with a gallery of generated photos, link + PIN."""
        from delivery.demo import demo_gallery

        gallery, link_path, pin = demo_gallery(studio, photographer, client)
        self.stdout.write(
            f"Demo gallery {gallery.title!r}: {settings.SITE_URL}{link_path} (PIN {pin}), "
            f"or log in as {client.email}."
        )

    def _user(self, email, name, role, studio, admin=False) -> User:
        user, _ = User.objects.update_or_create(
            email=email,
            defaults={
                "full_name": name,
                "role": role,
                "studio": studio,
                "is_staff": admin,
                "is_superuser": admin,
            },
        )
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        return user

    def _hours(self, photographer, hours) -> None:
        WeeklyHours.objects.filter(photographer=photographer).delete()
        WeeklyHours.objects.bulk_create(
            WeeklyHours(photographer=photographer, weekday=d, start_time=s, end_time=e)
            for d, s, e in hours
        )
