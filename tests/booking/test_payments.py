"""Deposits: the booking is confirmed only when the provider reports the money, exactly once."""

import itertools
import json
import threading
import time

import pytest
import stripe
from django.core import mail
from django.db import connection
from django.test import Client

from booking import services
from booking.models import Booking, Payment, PaymentEvent, Refund
from tests.factories import UserFactory

SECRET = "whsec_test_secret"


@pytest.fixture
def stripe_webhooks(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET


def signed(event: dict, secret: str = SECRET, timestamp: int | None = None) -> tuple[str, str]:
    payload = json.dumps(event)
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", secret)
    return payload, f"t={timestamp},v1={signature}"


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


def deliver(client, event, **signing):
    payload, header = signed(event, **signing)
    return client.post(
        "/payments/stripe/webhook/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )


def event(kind: str, payment: Payment, n: int = 1, **obj) -> dict:
    body = {"id": payment.intent_id, "amount": payment.amount_minor, **obj}
    if kind == "charge.refunded":
        body = {"id": f"ch_{n}", "payment_intent": payment.intent_id, **obj}
    return {"id": f"evt_{kind}_{payment.pk}_{n}", "type": kind, "data": {"object": body}}


@pytest.fixture
def held_with_payment(client_user, deposit_type, photographer, at):
    booking = services.booking_hold(client=client_user, session_type=deposit_type, start=at(10))
    payment = services.payment_start(booking=booking, actor=client_user, notes="Two of us")
    return booking, payment


def test_test_mode_pays_and_confirms_through_the_pages(
    client, client_user, deposit_type, photographer, at, django_capture_on_commit_callbacks
):
    client.force_login(client_user)
    client.post(f"/book/{deposit_type.pk}/hold/", {"start": at(10).isoformat()})
    booking = Booking.objects.get()

    response = client.post(f"/bookings/{booking.pk}/details/", {"notes": "hi"})
    pay_page = client.get(response.url).content.decode()

    assert "Test mode — no real money." in pay_page and "50.00 EUR" in pay_page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(response.url, {"outcome": "succeed"})
    assert "Booking confirmed" in client.get(response.url).content.decode()
    payment = Payment.objects.get()
    assert (payment.status, payment.provider, payment.amount_minor) == (
        "succeeded",
        "test_mode",
        5000,
    )
    assert subjects() == [
        f"Receipt P-{payment.pk:06d}: deposit received, {deposit_type.name}",
        f"Your session is booked: {deposit_type.name}",
    ]


def test_a_failed_test_payment_leaves_the_booking_waiting(client, client_user, held_with_payment):
    booking, payment = held_with_payment
    client.force_login(client_user)

    response = client.post(f"/payments/{payment.pk}/", {"outcome": "fail"})

    assert "The test payment failed" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == "held" and not PaymentEvent.objects.exists()
    page = client.get(f"/bookings/{booking.pk}/").content.decode()
    assert "Waiting for payment confirmation" in page


def test_returning_from_the_payment_does_not_confirm(client, client_user, held_with_payment):
    booking, _ = held_with_payment
    client.force_login(client_user)

    page = client.get(f"/bookings/{booking.pk}/?payment_intent=pi_x&redirect_status=succeeded")

    assert "Waiting for payment confirmation" in page.content.decode()
    booking.refresh_from_db()
    assert booking.status == "held"


def test_starting_payment_twice_gives_the_same_payment(client_user, held_with_payment):
    booking, payment = held_with_payment

    again = services.payment_start(booking=booking, actor=client_user)

    assert again.pk == payment.pk and Payment.objects.count() == 1


def test_someone_else_cannot_open_the_pay_page(client, other_client, held_with_payment):
    _, payment = held_with_payment
    client.force_login(other_client)

    assert client.get(f"/payments/{payment.pk}/").status_code == 404


def test_webhook_confirms_a_paid_hold(
    client, stripe_webhooks, held_with_payment, django_capture_on_commit_callbacks
):
    booking, payment = held_with_payment

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, event("payment_intent.succeeded", payment))

    assert response.status_code == 200
    booking.refresh_from_db()
    assert (booking.status, booking.notes) == ("confirmed", "Two of us")
    assert PaymentEvent.objects.get().processed_at is not None


@pytest.mark.parametrize(
    "signing, header",
    [
        ({"secret": "whsec_wrong"}, None),
        ({"timestamp": int(time.time()) - 3600}, None),  # replayed an hour later
        ({}, ""),  # no signature at all
        ({}, "t=1,v1=deadbeef"),
    ],
)
def test_webhooks_that_are_not_stripes_change_nothing(
    client, stripe_webhooks, held_with_payment, signing, header
):
    booking, payment = held_with_payment
    payload, good_header = signed(event("payment_intent.succeeded", payment), **signing)

    response = client.post(
        "/payments/stripe/webhook/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=good_header if header is None else header,
    )

    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_signature"
    assert not PaymentEvent.objects.exists()
    booking.refresh_from_db()
    assert booking.status == "held"


def test_a_tampered_body_is_refused(client, stripe_webhooks, held_with_payment):
    booking, payment = held_with_payment
    payload, header = signed(event("payment_intent.succeeded", payment))

    response = client.post(
        "/payments/stripe/webhook/",
        payload.replace("5000", "1"),
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )

    assert response.status_code == 400
    assert not PaymentEvent.objects.exists()


def test_the_same_event_five_times_at_once_confirms_once(
    transactional_db, stripe_webhooks, deposit_type, photographer, at
):
    client_user = UserFactory()
    booking = services.booking_hold(client=client_user, session_type=deposit_type, start=at(10))
    payment = services.payment_start(booking=booking, actor=client_user)
    payload, header = signed(event("payment_intent.succeeded", payment))
    barrier, statuses = threading.Barrier(5), []

    def deliver_once():
        try:
            barrier.wait()
            response = Client().post(
                "/payments/stripe/webhook/",
                payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=header,
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver_once) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 5
    assert PaymentEvent.objects.count() == 1 and Payment.objects.count() == 1
    assert Booking.objects.get().status == "confirmed"
    assert booking.events.filter(kind="confirmed").count() == 1
    assert [s.split(":")[0] for s in subjects()] == [
        f"Receipt P-{payment.pk:06d}",
        "Your session is booked",
    ]


ORDERS = list(itertools.permutations(["succeeded", "refunded", "expired"]))


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o) for o in ORDERS])
def test_every_order_of_events_ends_the_same(held_with_payment, order):
    booking, payment = held_with_payment
    steps = {
        "succeeded": lambda: event("payment_intent.succeeded", payment),
        "refunded": lambda: event("charge.refunded", payment, amount_refunded=5000),
    }
    for step in order:
        if step == "expired":
            Booking.objects.filter(pk=booking.pk, status="held").update(status="expired")
            continue
        recorded = services.payment_event_record(event=steps[step]())
        services.payment_event_process(event_pk=recorded.pk)

    booking.refresh_from_db()
    payment.refresh_from_db()
    assert booking.status == "cancelled"
    assert (payment.status, payment.refunded_minor) == ("succeeded", 5000)
    assert not Refund.objects.exists()  # refunded at the provider: nothing to send again


def test_a_late_payment_for_a_taken_slot_is_refunded(
    held_with_payment, other_client, deposit_type, at, django_capture_on_commit_callbacks
):
    booking, payment = held_with_payment
    Booking.objects.filter(pk=booking.pk).update(status="expired")
    first = services.booking_hold(client=other_client, session_type=deposit_type, start=at(10))

    with django_capture_on_commit_callbacks(execute=True):
        recorded = services.payment_event_record(event=event("payment_intent.succeeded", payment))

    booking.refresh_from_db()
    assert booking.status == "cancelled"
    (refund,) = Refund.objects.all()
    assert refund.amount_minor == 5000 and refund.provider_refund_id.startswith("re_testmode_")
    assert Booking.objects.get(pk=first.pk).status == "held"  # the slot stays the other client's
    assert PaymentEvent.objects.get(pk=recorded.pk).processed_at
    receipt, message, refund_receipt = mail.outbox
    assert "refunded" in message.subject and "someone else booked it" in message.body
    assert receipt.subject.startswith("Receipt P-") and "50.00 EUR" in receipt.body
    assert refund_receipt.subject.startswith(f"Receipt R-{refund.pk:06d}: refund")
    assert refund.provider_refund_id in refund_receipt.body


def test_a_late_payment_for_a_free_slot_still_confirms(held_with_payment):
    booking, payment = held_with_payment
    Booking.objects.filter(pk=booking.pk).update(status="expired")

    recorded = services.payment_event_record(event=event("payment_intent.succeeded", payment))
    services.payment_event_process(event_pk=recorded.pk)

    booking.refresh_from_db()
    assert booking.status == "confirmed" and not Refund.objects.exists()


def test_events_for_unknown_payments_are_recorded_and_ignored(
    client, stripe_webhooks, db, django_capture_on_commit_callbacks
):
    foreign = {
        "id": "evt_x",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_x"}},
    }

    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, foreign).status_code == 200
    assert PaymentEvent.objects.get().processed_at is not None


def test_api_opens_the_deposit_payment(api, held_with_payment):
    booking, payment = held_with_payment

    response = api.post(f"/api/bookings/{booking.pk}/payment/", {})

    body = response.json()
    assert (body["id"], body["provider"], body["amount"]) == (
        payment.pk,
        "test_mode",
        {"amount_minor": 5000, "currency": "EUR"},
    )
    assert body["pay_url"] == f"/payments/{payment.pk}/"
