"""A booking's history: every change written down with it, and told in sentences on its page."""

import html
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from booking import services
from booking.models import Booking
from booking.payments import simulated_success_event
from booking.tasks import booking_expire_holds_task
from studio.audit import audit_record
from studio.models import AuditEvent
from studio.selectors import booking_history

K = AuditEvent.Kind


def kinds(booking) -> list[str]:
    return [event.kind for event in booking_history(booking_id=booking.pk)]


def history_on_page(user, booking, tz: str = "") -> list[str]:
    """The lines of the booking page's history, as `user` (of the studio) reads them."""
    browser = Client()
    browser.force_login(user)
    return history_on_page_of(browser, booking, tz)


def history_on_page_of(browser, booking, tz: str = "") -> list[str]:
    page = browser.get(f"/bookings/{booking.pk}/", {"tz": tz} if tz else {}).content.decode()
    items = re.search(r'<ul id="history">(.*?)</ul>', page, re.S).group(1)
    lines = re.findall(r"<li>(.*?)</li>", items, re.S)
    return [html.unescape(re.sub(r"\s+", " ", line)).strip() for line in lines]


def said(at, zone: str) -> str:
    """How a moment reads in a sentence: "14:00 on 3 Dec"."""
    local = at.astimezone(ZoneInfo(zone))
    return f"{local:%H:%M} on {local.day} {local:%b}"


def test_audit_records_are_written_inside_the_change_only(transactional_db, studio):
    with pytest.raises(RuntimeError):
        audit_record(kind=K.GALLERY_CREATED, actor=None, studio_id=studio.pk)
    with transaction.atomic():
        audit_record(kind=K.GALLERY_CREATED, actor=None, studio_id=studio.pk, gallery_id=1)
    assert AuditEvent.objects.count() == 1


def test_expired_holds_get_one_event_each(
    client_user, other_client, session_type, photographer, at
):
    first = services.booking_hold(client=client_user, session_type=session_type, start=at(10))
    second = services.booking_hold(client=other_client, session_type=session_type, start=at(12))
    Booking.objects.update(hold_expires_at=timezone.now())

    assert booking_expire_holds_task.delay().get() == 2
    assert booking_expire_holds_task.delay().get() == 0

    for booking in (first, second):
        assert kinds(booking) == [K.BOOKING_HELD, K.HOLD_EXPIRED]
        expired = booking_history(booking_id=booking.pk).last()
        assert expired.actor is None and expired.details["reason"] == "its time ran out"


def test_a_hold_that_ran_out_is_expired_by_the_next_booking_of_its_time(
    client_user, other_client, session_type, photographer, at
):
    stale = services.booking_hold(client=client_user, session_type=session_type, start=at(10))
    Booking.objects.filter(pk=stale.pk).update(hold_expires_at=timezone.now())

    services.booking_hold(client=other_client, session_type=session_type, start=at(10))

    assert kinds(stale) == [K.BOOKING_HELD, K.HOLD_EXPIRED]
    assert booking_expire_holds_task.delay().get() == 0  # already expired, with its one event


def test_a_clients_new_hold_gives_up_their_previous_one(
    client_user, staff, session_type, photographer, at
):
    previous = services.booking_hold(client=client_user, session_type=session_type, start=at(10))
    services.booking_hold(client=client_user, session_type=session_type, start=at(12))

    assert Booking.objects.get(pk=previous.pk).status == "expired"
    assert kinds(previous) == [K.BOOKING_HELD, K.HOLD_EXPIRED]
    lines = history_on_page(staff, previous)
    assert lines[-1].endswith(f"Hold expired: the client held another time — {client_user}")


@pytest.mark.parametrize("mover", ["client_user", "staff"])
def test_reschedules_are_recorded_whoever_moves_the_booking(
    request, client_user, session_type, photographer, staff, at, mover
):
    actor = request.getfixturevalue(mover)
    booking = services.booking_hold(client=client_user, session_type=session_type, start=at(10))
    services.booking_confirm(booking=booking, actor=client_user)

    services.booking_reschedule(booking=booking, actor=actor, start=at(13))

    moved = booking_history(booking_id=booking.pk).last()
    assert (moved.kind, moved.actor) == (K.BOOKING_RESCHEDULED, actor)
    berlin = "Europe/Berlin"
    assert history_on_page(staff, booking)[-1].endswith(
        f"Rescheduled from {said(at(10), berlin)} to {said(at(13), berlin)} — {actor}"
    )


def test_the_page_tells_the_payment_story_in_the_viewers_zone(
    paid, staff, client_user, at, django_capture_on_commit_callbacks
):
    booking = paid()
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=booking, actor=client_user, reason="Ill")

    lines = history_on_page(staff, booking, tz="America/New_York")

    sentences = [line.split(": ", 1)[1].rsplit(" — ", 1)[0] for line in lines]
    assert sentences == [
        f"Held {said(at(10), 'America/New_York')}",
        "Payment of 50.00 EUR deposit started",
        "Paid 50.00 EUR deposit",
        "Booking confirmed: the deposit was paid",
        "Cancelled by the client: Ill",
        "Refunded 50.00 EUR: cancelled by the client",
        "Refund of 50.00 EUR sent to the payment provider",
    ]
    assert lines[0].endswith(f"— {client_user}") and lines[2].count(" — ") == 0  # the provider
    assert "(America/New_York)" in lines[0]


def test_the_studio_refund_and_the_providers_refund_are_told_apart(
    paid, staff, django_capture_on_commit_callbacks
):
    booking = paid()
    deposit = booking.payments.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.refund_issue(
            payment=deposit, actor=staff, amount_minor=2000, reason="Late start", request_key="k1"
        )
        refunded = {
            "id": "evt_refunded_more",
            "type": "charge.refunded",
            "data": {
                "object": {
                    "id": "ch_1",
                    "payment_intent": deposit.intent_id,
                    "amount_refunded": 3000,
                }
            },
        }
        services.payment_event_record(event=refunded)

    lines = history_on_page(staff, booking)[-3:]
    assert lines[0].endswith(f"Refunded 20.00 EUR: Late start — {staff}")
    assert lines[1].endswith("Refund of 20.00 EUR sent to the payment provider")
    assert lines[2].endswith("The payment provider reports 30.00 EUR of the deposit refunded")


def test_a_late_payment_is_refunded_and_says_so(
    client_user,
    other_client,
    deposit_type,
    photographer,
    staff,
    at,
    django_capture_on_commit_callbacks,
):
    booking = services.booking_hold(client=client_user, session_type=deposit_type, start=at(10))
    payment = services.payment_start(booking=booking, actor=client_user)
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now())
    services.booking_hold(client=other_client, session_type=deposit_type, start=at(10))

    with django_capture_on_commit_callbacks(execute=True):
        services.payment_event_record(event=simulated_success_event(payment))

    assert kinds(booking) == [
        K.BOOKING_HELD,
        K.PAYMENT_STARTED,
        K.HOLD_EXPIRED,
        K.PAYMENT_SUCCEEDED,
        K.BOOKING_CANCELLED,
        K.REFUND_RECORDED,
        K.REFUND_SENT,
    ]
    lines = history_on_page(staff, booking)
    assert lines[4].endswith(
        "Cancelled automatically: The payment arrived after the time was booked by someone else."
    )
    assert lines[5].endswith("Refunded 50.00 EUR: late payment")


def test_completion_and_the_balance_asked_for_are_recorded_once(paid, staff):
    booking = paid()
    later = booking.end + timedelta(minutes=1)

    assert services.booking_complete_finished(now=later) == 1
    assert services.booking_complete_finished(now=later) == 0

    assert kinds(booking)[-2:] == [K.BOOKING_COMPLETED, K.BALANCE_REQUESTED]
    assert [line.split(": ", 1)[1] for line in history_on_page(staff, booking)[-2:]] == [
        "Session completed",
        "Asked for the 150.00 EUR balance",
    ]


def test_the_history_is_read_in_a_fixed_number_of_queries(
    paid, staff, client_user, at, django_assert_max_num_queries
):
    booking = paid()
    browser = Client()
    browser.force_login(staff)
    with django_assert_max_num_queries(40) as first:
        browser.get(f"/bookings/{booking.pk}/")
    for hour in (11, 12, 14):
        services.booking_reschedule(booking=booking, actor=client_user, start=at(hour))

    with django_assert_max_num_queries(len(first.captured_queries)):
        assert len(history_on_page_of(browser, booking)) == 7
