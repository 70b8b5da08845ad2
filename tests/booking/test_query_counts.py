"""Lists of bookings and payments cost the same number of queries for one row as for many."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from booking.models import Payment, Refund
from tests.factories import BookingFactory, PaymentFactory, UserFactory
from tests.helpers import queries_to_get


def logged_in(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def book(session_type, photographer, client_user, at):
    """Book `client_user` (or another client) with the photographer on the test day."""
    made = []

    def book(client=None):
        start = at(9) + timedelta(hours=len(made))
        made.append(
            BookingFactory(
                session_type=session_type,
                photographer=photographer,
                client=client or client_user,
                start=start,
                end=start + timedelta(hours=1),
                blocked_start=start,
                blocked_end=start + timedelta(hours=1),
            )
        )
        return made[-1]

    return book


@pytest.mark.parametrize("url", ["/api/bookings/", "/bookings/"])
def test_a_clients_bookings(url, book, client_user):
    client = logged_in(client_user)
    book()
    one = queries_to_get(client, url)
    for _ in range(3):
        book()
    assert queries_to_get(client, url) == one


@pytest.mark.parametrize("url", ["/api/schedule/?date={day}", "/schedule/?date={day}"])
@pytest.mark.parametrize("role", ["photographer", "staff"])
def test_the_studios_schedule(url, role, book, day, request):
    client, url = logged_in(request.getfixturevalue(role)), url.format(day=day.isoformat())
    book()
    one = queries_to_get(client, url)
    for _ in range(3):
        book(client=UserFactory())
    assert queries_to_get(client, url) == one


def pay_with_refunds(booking) -> None:
    """An extra bought and paid for, with two refunds of it."""
    payment = PaymentFactory(booking=booking, kind=Payment.Kind.EXTRAS, amount_minor=1000)
    for n in range(2):
        Refund.objects.create(
            payment=payment,
            amount_minor=100,
            reason="goodwill",
            idempotency_key=f"{payment.pk}-{n}",
        )


@pytest.mark.parametrize("url", ["/api/bookings/{pk}/payments/", "/bookings/{pk}/"])
@pytest.mark.parametrize("who", ["client_user", "staff"])
def test_a_bookings_payments_and_refunds(url, who, book, request):
    booking = book()
    client, url = logged_in(request.getfixturevalue(who)), url.format(pk=booking.pk)
    pay_with_refunds(booking)
    one = queries_to_get(client, url)
    for _ in range(3):
        pay_with_refunds(booking)
    assert queries_to_get(client, url) == one
