"""Deposits: the booking is confirmed only when the provider reports the money, exactly once."""

import itertools
import json
import socket
import threading
import time
from datetime import timedelta

import pytest
import stripe
from django.core import mail
from django.db import OperationalError, connection
from django.db.models import F
from django.test import Client

from booking import services
from booking.models import Booking, Payment, PaymentEvent, Refund
from booking.tasks import payment_events_retry_task
from studio.models import AuditEvent
from studio.selectors import booking_history
from tests.booking.conftest import WEBHOOK_SECRET as SECRET
from tests.factories import UserFactory


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
    history = booking_history(booking_id=booking.pk)
    assert history.filter(kind=AuditEvent.Kind.BOOKING_CONFIRMED).count() == 1
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
    # Refunded at the provider: recorded once, as sent, and nothing of ours to send.
    assert [(r.amount_minor, r.status, r.reason) for r in Refund.objects.all()] == [
        (5000, "sent", "made at the payment provider")
    ]


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


@pytest.fixture
def stripe_unreachable(settings):
    """Stripe configured, but its address is a closed local port: every call fails to connect."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.STRIPE_SECRET_KEY = "sk_test_unreachable"
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{port}"
    settings.STRIPE_TIMEOUT_SECONDS = 2


def test_stripe_down_shows_a_message_instead_of_an_error_page(
    client, client_user, deposit_type, photographer, at, stripe_unreachable
):
    booking = services.booking_hold(client=client_user, session_type=deposit_type, start=at(10))
    client.force_login(client_user)

    response = client.post(f"/bookings/{booking.pk}/details/", {"notes": "hi"})

    assert response.status_code == 503
    assert "try again in a moment" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == "held" and not Payment.objects.exists()


def test_api_answers_503_when_stripe_is_down(
    api, client_user, deposit_type, photographer, at, stripe_unreachable
):
    booking = services.booking_hold(client=client_user, session_type=deposit_type, start=at(10))

    response = api.post(f"/api/bookings/{booking.pk}/payment/", {})

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "payment_provider_unavailable"
    assert not Payment.objects.exists()


def sweep_later() -> int:
    """Run the sweep as if the events had waited past its five minutes."""
    PaymentEvent.objects.update(received_at=F("received_at") - timedelta(minutes=10))
    return payment_events_retry_task.delay().get()


def broken(*args):
    raise RuntimeError("a bug in processing, fixed by the next release")


def test_an_event_that_fails_is_kept_and_processed_once_the_cause_is_gone(
    client, stripe_webhooks, held_with_payment, django_capture_on_commit_callbacks, monkeypatch
):
    from booking.services import payments

    booking, payment = held_with_payment
    monkeypatch.setattr(payments, "_charge_refunded", broken)

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, event("charge.refunded", payment, amount_refunded=5000))

    assert response.status_code == 200
    recorded = PaymentEvent.objects.get()
    assert (recorded.processed_at, recorded.attempts) == (None, 1)
    assert "a bug in processing" in recorded.last_error
    monkeypatch.undo()

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_later() == 1

    recorded.refresh_from_db()
    assert recorded.processed_at is not None
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 5000
    assert Booking.objects.get(pk=booking.pk).status == "cancelled"


def test_the_sweep_gives_up_on_an_event_after_ten_attempts(held_with_payment, monkeypatch):
    from booking.services import payments

    _, payment = held_with_payment
    monkeypatch.setattr(payments, "_charge_refunded", broken)  # always raises
    services.payment_event_record(event=event("charge.refunded", payment, amount_refunded=1))

    swept = [sweep_later() for _ in range(12)]

    assert swept == [1] * 10 + [0, 0]
    failed = PaymentEvent.objects.get()
    assert failed.attempts == 10 and failed.processed_at is None and failed.last_error


def test_the_pay_page_refuses_a_cancelled_booking(client, client_user, held_with_payment):
    booking, payment = held_with_payment
    services.booking_cancel(booking=booking, actor=client_user)
    client.force_login(client_user)

    page = client.get(f"/payments/{payment.pk}/")
    paid = client.post(f"/payments/{payment.pk}/", {"outcome": "succeed"}, follow=True)

    assert page.status_code == 302 and page.url == f"/bookings/{booking.pk}/"
    assert "This payment is no longer due" in paid.content.decode()
    assert not PaymentEvent.objects.exists()
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_the_pay_page_refuses_extras_for_a_booking_cancelled_meanwhile(
    client, client_user, paid, staff
):
    booking = paid()
    extras = services.extras_payment_start(
        booking=booking, actor=client_user, amount_minor=3000, key="extra-photos"
    )
    client.force_login(client_user)
    assert client.get(f"/payments/{extras.pk}/").status_code == 200

    services.booking_cancel(booking=booking, actor=staff)

    page = client.get(f"/payments/{extras.pk}/", follow=True)
    assert page.redirect_chain == [(f"/bookings/{booking.pk}/", 302)]
    assert "This payment is no longer due" in page.content.decode()
    deposit = Payment.objects.get(booking=booking, kind="deposit")
    assert client.get(f"/payments/{deposit.pk}/").status_code == 200  # paid: still shown


def test_an_event_the_database_keeps_refusing_is_retried_then_kept_with_its_error(
    held_with_payment, monkeypatch, as_on_a_worker, django_capture_on_commit_callbacks
):
    from booking.services import payments
    from booking.tasks import payment_event_process_task

    _, payment = held_with_payment
    with django_capture_on_commit_callbacks(execute=False):
        recorded = services.payment_event_record(event=event("payment_intent.succeeded", payment))
    tries = []

    def database_locked(*args):
        tries.append(args)
        raise OperationalError("database is locked")

    monkeypatch.setattr(payments, "_payment_succeeded", database_locked)

    result = payment_event_process_task.delay(recorded.pk)

    assert result.state == "FAILURE" and len(tries) == payment_event_process_task.max_retries + 1
    recorded.refresh_from_db()
    assert (recorded.processed_at, recorded.attempts) == (None, 1)  # one give-up, for the sweep
    assert "database is locked" in recorded.last_error


# --- What the webhook takes in ----------------------------------------------------------------


def without(body: dict, *path: str) -> dict:
    """`body` with the field at `path` taken out."""
    *parents, last = path
    inner = body
    for name in parents:
        inner = inner[name]
    del inner[last]
    return body


def with_value(body: dict, value, *path: str) -> dict:
    *parents, last = path
    inner = body
    for name in parents:
        inner = inner[name]
    inner[last] = value
    return body


MALFORMED = {
    "no id": lambda e: without(e, "id"),
    "empty id": lambda e: with_value(e, "", "id"),
    "id too long": lambda e: with_value(e, "evt_" + "x" * 300, "id"),
    "id a number": lambda e: with_value(e, 42, "id"),
    "no type": lambda e: without(e, "type"),
    "no data": lambda e: without(e, "data"),
    "data a list": lambda e: with_value(e, [], "data"),
    "no data.object": lambda e: without(e, "data", "object"),
    "data.object a text": lambda e: with_value(e, "pi_1", "data", "object"),
    "no intent id": lambda e: without(e, "data", "object", "id"),
    "intent id null": lambda e: with_value(e, None, "data", "object", "id"),
}
MALFORMED_REFUNDS = {
    "no amount_refunded": lambda e: without(e, "data", "object", "amount_refunded"),
    "amount_refunded a text": lambda e: with_value(e, "5000", "data", "object", "amount_refunded"),
    "amount_refunded negative": lambda e: with_value(e, -1, "data", "object", "amount_refunded"),
    "amount_refunded a boolean": lambda e: with_value(e, True, "data", "object", "amount_refunded"),
    "no payment_intent": lambda e: without(e, "data", "object", "payment_intent"),
    "refunds.data not a list": lambda e: with_value(
        e, {"data": "re_1"}, "data", "object", "refunds"
    ),
    "a listed refund without its id": lambda e: with_value(
        e, {"data": [{"amount": 100}]}, "data", "object", "refunds"
    ),
    "a listed refund's metadata a text": lambda e: with_value(
        e, {"data": [{"id": "re_1", "amount": 100, "metadata": "x"}]}, "data", "object", "refunds"
    ),
}


@pytest.mark.parametrize(
    "kind, spoil",
    [("payment_intent.succeeded", spoil) for spoil in MALFORMED.values()]
    + [("charge.refunded", spoil) for spoil in MALFORMED_REFUNDS.values()],
    ids=list(MALFORMED) + list(MALFORMED_REFUNDS),
)
def test_a_signed_event_lacking_what_it_needs_is_refused_and_not_stored(
    client, stripe_webhooks, held_with_payment, django_capture_on_commit_callbacks, kind, spoil
):
    booking, payment = held_with_payment
    body = spoil(event(kind, payment, amount_refunded=5000))

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_event"
    assert not PaymentEvent.objects.exists()
    booking.refresh_from_db()
    payment.refresh_from_db()
    assert (booking.status, payment.status, payment.refunded_minor) == ("held", "pending", 0)


@pytest.mark.parametrize("body", ["[1, 2]", '"evt_1"', "null", "{not json"])
def test_a_signed_body_that_is_no_json_object_is_refused(client, stripe_webhooks, db, body):
    timestamp = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{body}", SECRET)

    response = client.post(
        "/payments/stripe/webhook/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={timestamp},v1={signature}",
    )

    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_event"
    assert not PaymentEvent.objects.exists()


def test_a_body_that_is_not_utf8_is_refused(client, stripe_webhooks, db):
    response = client.post(
        "/payments/stripe/webhook/",
        b"\xff\xfe{}",
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=deadbeef",
    )

    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_signature"


def test_an_event_of_a_type_we_do_not_act_on_needs_only_its_envelope(
    client, stripe_webhooks, db, django_capture_on_commit_callbacks
):
    other = {"id": "evt_other", "type": "customer.created", "data": {"object": {}}}

    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, other).status_code == 200

    assert PaymentEvent.objects.get().processed_at is not None


@pytest.mark.parametrize(
    "seconds_ahead, accepted",
    [(10 * 60, False), (6 * 60, False), (4 * 60, True), (-4 * 60, True), (-6 * 60, False)],
)
def test_webhooks_signed_outside_the_tolerance_either_way_are_refused(
    client,
    stripe_webhooks,
    held_with_payment,
    django_capture_on_commit_callbacks,
    seconds_ahead,
    accepted,
):
    booking, payment = held_with_payment
    signed_at = int(time.time()) + seconds_ahead

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, event("payment_intent.succeeded", payment), timestamp=signed_at)

    booking.refresh_from_db()
    if accepted:
        assert response.status_code == 200 and booking.status == "confirmed"
    else:
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "bad_signature"
        assert booking.status == "held" and not PaymentEvent.objects.exists()


def test_the_tolerance_is_a_setting(client, stripe_webhooks, settings, held_with_payment):
    _, payment = held_with_payment
    settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS = 30

    early = deliver(
        client, event("payment_intent.succeeded", payment), timestamp=int(time.time()) + 60
    )
    late = deliver(
        client, event("payment_intent.succeeded", payment), timestamp=int(time.time()) - 60
    )

    assert [early.status_code, late.status_code] == [400, 400]
    assert not PaymentEvent.objects.exists()
