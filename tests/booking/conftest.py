from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from booking import services
from booking.payments import simulated_success_event

WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture
def stripe_webhooks(settings):
    """Stripe's webhooks configured: events signed with WEBHOOK_SECRET are taken in."""
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


@pytest.fixture
def day(studio):
    """A studio-local day a few days ahead, inside every test photographer's hours."""
    return timezone.now().astimezone(studio.zone).date() + timedelta(days=4)


@pytest.fixture
def at(studio, day):
    """Return an aware datetime on `day` at a studio-local wall-clock time."""

    def at(hour: int, minute: int = 0, *, days: int = 0):
        return datetime.combine(day + timedelta(days=days), time(hour, minute), studio.zone)

    return at


@pytest.fixture
def deposit_type(session_type):
    """A 200.00 EUR session that takes a 50.00 EUR deposit to book."""
    session_type.price_minor, session_type.deposit_minor = 20000, 5000
    session_type.save()
    return session_type


@pytest.fixture
def paid(client_user, deposit_type, photographer, at, django_capture_on_commit_callbacks):
    """Return a booking of `client_user` confirmed by its deposit paid in test mode."""

    def paid(hour: int = 10):
        booking = services.booking_hold(
            client=client_user, session_type=deposit_type, start=at(hour)
        )
        payment = services.payment_start(booking=booking, actor=client_user)
        with django_capture_on_commit_callbacks(execute=True):
            services.payment_event_record(event=simulated_success_event(payment))
        booking.refresh_from_db()
        assert booking.status == "confirmed"
        return booking

    return paid
