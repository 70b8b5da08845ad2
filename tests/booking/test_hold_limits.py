"""Holding is rate-limited per account and per address, so that one person with many accounts
cannot hold a day's slots; only holds that went through count."""

from collections import Counter

import pytest
from django.test import Client

from booking import services
from booking.models import Booking
from tests.factories import UserFactory
from tests.helpers import at_once


def hold(client: Client, session_type, start):
    body = {"session_type": session_type.pk, "start": start.isoformat()}
    return client.post("/api/bookings/", body, content_type="application/json")


def client_at(ip: str, user=None) -> Client:
    client = Client(REMOTE_ADDR=ip, raise_request_exception=False)
    client.force_login(user or UserFactory())
    return client


def test_one_account_gets_so_many_holds_an_hour(session_type, photographer, at, settings):
    settings.BOOKING_HOLDS_PER_ACCOUNT = 3
    holder = client_at("203.0.113.9")

    statuses = [hold(holder, session_type, at(hour)).status_code for hour in (9, 11, 13, 15)]

    assert statuses == [201, 201, 201, 429]
    refused = hold(holder, session_type, at(16))
    assert refused.json()["error"] == {
        "code": "too_many_holds",
        "message": "You have held many times in a short while. "
        "Please wait 60 minutes and try again.",
    }
    assert int(refused["Retry-After"]) in range(3590, 3601)
    # The refused hold changed nothing: the client's last hold is still live.
    assert list(Booking.objects.values_list("status", flat=True).order_by("start")) == [
        "expired",
        "expired",
        "held",
    ]


def test_holds_that_fail_do_not_count(session_type, photographer, other_client, at, settings):
    settings.BOOKING_HOLDS_PER_ACCOUNT = 2
    services.booking_hold(client=other_client, session_type=session_type, start=at(11))
    holder = client_at("203.0.113.9")

    statuses = [hold(holder, session_type, at(hour)).status_code for hour in (9, 11, 11, 13, 15)]

    assert statuses == [201, 409, 409, 201, 429]


def test_many_accounts_from_one_address_are_held_back(session_type, photographer, at, settings):
    settings.BOOKING_HOLDS_PER_IP = 4
    starts = [at(hour) for hour in (9, 10, 11, 12, 13, 14)]

    statuses = [hold(client_at("203.0.113.9"), session_type, s).status_code for s in starts]

    assert statuses == [201] * 4 + [429] * 2
    assert hold(client_at("198.51.100.7"), session_type, at(15)).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_racing_accounts_from_one_address_get_the_limit_and_no_more(
    session_type, photographer, at, settings
):
    settings.BOOKING_HOLDS_PER_IP = 5
    starts = [at(hour, days=day) for day in range(3) for hour in range(9, 16)][:20]
    holders = [client_at("203.0.113.9") for _ in starts]

    statuses = at_once(
        [
            lambda c=c, s=s: hold(c, session_type, s).status_code
            for c, s in zip(holders, starts, strict=True)
        ]
    )

    assert Counter(statuses) == {201: 5, 429: 15}
    assert Booking.objects.filter(status="held").count() == 5


def test_the_slots_page_says_why_a_hold_is_refused(session_type, photographer, at, settings):
    settings.BOOKING_HOLDS_PER_ACCOUNT = 1
    holder = client_at("203.0.113.9")
    assert holder.post(f"/book/{session_type.pk}/hold/", {"start": at(9).isoformat()}).status_code
    response = holder.post(f"/book/{session_type.pk}/hold/", {"start": at(11).isoformat()})

    assert response.status_code == 429
    html = response.content.decode()
    assert 'data-error-code="too_many_holds"' in html
    assert "Please wait 60 minutes" in html
    assert ">12:00</button>" in html  # the open slots, to come back to
