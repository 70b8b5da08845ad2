from datetime import time, timedelta

import factory
from django.utils import timezone

from booking.models import Booking, Payment, SessionType, WeeklyHours
from studio.models import Studio, User

PASSWORD = "a-long-test-password-1"


class StudioFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Studio

    name = factory.Sequence(lambda n: f"Studio {n}")
    slug = factory.Sequence(lambda n: f"studio-{n}")
    time_zone = "Europe/Berlin"
    currency = "EUR"
    email = "hello@studio.example"
    cancellation_cutoff_hours = 24
    hold_minutes = 10


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Sequence(lambda n: f"User {n}")
    role = User.Role.CLIENT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class PhotographerFactory(UserFactory):
    role = User.Role.PHOTOGRAPHER
    studio = factory.SubFactory(StudioFactory)


class StaffFactory(UserFactory):
    role = User.Role.STAFF
    studio = factory.SubFactory(StudioFactory)


class SessionTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SessionType

    studio = factory.SubFactory(StudioFactory)
    name = factory.Sequence(lambda n: f"Session {n}")
    slug = factory.Sequence(lambda n: f"session-{n}")
    duration_minutes = 60
    price_minor = 15000
    deposit_minor = 0
    min_notice_minutes = 0
    max_advance_days = 365
    slot_step_minutes = 30


def working_week(photographer, start=time(9), end=time(17), weekdays=range(7)) -> None:
    """Give a photographer the same hours on the given weekdays (studio time)."""
    WeeklyHours.objects.bulk_create(
        WeeklyHours(photographer=photographer, weekday=day, start_time=start, end_time=end)
        for day in weekdays
    )


# Delivery: bookings with galleries, payments against them.


class BookingFactory(factory.django.DjangoModelFactory):
    """A confirmed booking about a week ago (its photos are ready to deliver); each one two
    hours before the last, so that a photographer's bookings never overlap."""

    class Meta:
        model = Booking

    session_type = factory.SubFactory(SessionTypeFactory)
    photographer = factory.SubFactory(
        PhotographerFactory, studio=factory.SelfAttribute("..session_type.studio")
    )
    client = factory.SubFactory(UserFactory)
    status = Booking.Status.CONFIRMED
    start = factory.Sequence(lambda n: timezone.now() - timedelta(days=7, hours=2 * n))
    end = factory.LazyAttribute(lambda o: o.start + timedelta(hours=1))
    blocked_start = factory.SelfAttribute("start")
    blocked_end = factory.SelfAttribute("end")
    price_minor = factory.SelfAttribute("session_type.price_minor")
    deposit_minor = 0
    currency = "EUR"


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    booking = factory.SubFactory(BookingFactory)
    kind = Payment.Kind.DEPOSIT
    provider = Payment.Provider.TEST_MODE
    intent_id = factory.Sequence(lambda n: f"pi_test_{n}")
    amount_minor = factory.SelfAttribute("booking.price_minor")
    currency = "EUR"
    status = Payment.Status.SUCCEEDED
