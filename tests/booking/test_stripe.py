"""Deposits against a real Stripe protocol peer: localstripe, started here on 127.0.0.1."""

import http.server
import json
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

import pytest
import requests
import stripe
from django.core import mail

from booking import services
from booking.models import Booking, Installation, Payment, Refund
from booking.tasks import refunds_retry_task
from studio.celery import app
from tests.factories import SessionTypeFactory, StaffFactory, UserFactory
from tests.helpers import free_port, wait_for

SECRET = "whsec_localstripe"


@pytest.fixture(scope="module")
def localstripe_url():
    """A fresh localstripe on loopback only (its own command listens on every interface)."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import aiohttp.web as w; from localstripe.server import app; "
            f"w.run_app(app, host='127.0.0.1', port={port}, print=None)",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.delete(f"{url}/_config/data", timeout=1)  # start from scratch
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("localstripe did not start")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def stripe_settings(settings, localstripe_url, live_server):
    settings.STRIPE_SECRET_KEY = "sk_test_localstripe"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_localstripe"
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_API_BASE = localstripe_url
    requests.post(
        f"{localstripe_url}/_config/webhooks/studio",
        data={
            "url": f"{live_server.url}/payments/stripe/webhook/",
            "secret": SECRET,
            "events[]": ["payment_intent.succeeded"],
        },
        timeout=5,
    ).raise_for_status()
    return stripe.StripeClient("sk_test_localstripe", base_addresses={"api": localstripe_url})


def pay_by_card(stripe_client, intent_id: str) -> None:
    """What Stripe.js does in the browser: attach a card to the intent and confirm it."""
    card = stripe_client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    stripe_client.v1.payment_intents.update(intent_id, params={"payment_method": card.id})
    stripe_client.v1.payment_intents.confirm(intent_id)


def test_card_payment_at_stripe_confirms_through_its_webhook(
    stripe_settings, session_type, photographer, at
):
    session_type.deposit_minor = 5000
    session_type.save()
    client = UserFactory()
    booking = services.booking_hold(client=client, session_type=session_type, start=at(10))

    payment = services.payment_start(booking=booking, actor=client)

    assert payment.provider == "stripe" and payment.client_secret
    assert Booking.objects.get(pk=booking.pk).status == "held"
    pay_by_card(stripe_settings, payment.intent_id)

    wait_for(
        lambda: Booking.objects.get(pk=booking.pk).status == "confirmed",
        timeout=15,
        what="confirmation by Stripe's webhook",
    )
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"


def test_refunds_go_to_stripe_once(stripe_settings, session_type, photographer, at):
    session_type.deposit_minor = 5000
    session_type.save()
    client = UserFactory()
    booking = services.booking_hold(client=client, session_type=session_type, start=at(11))
    payment = services.payment_start(booking=booking, actor=client)
    pay_by_card(stripe_settings, payment.intent_id)
    refund = Refund.objects.create(
        payment=payment, amount_minor=2000, reason="test", idempotency_key="refund-test-1"
    )

    services.refund_send(refund_pk=refund.pk)
    services.refund_send(refund_pk=refund.pk)  # a retry after success sends nothing more

    refund.refresh_from_db()
    at_stripe = stripe_settings.v1.refunds.list(params={"payment_intent": payment.intent_id})
    assert [r.id for r in at_stripe.data] == [refund.provider_refund_id]


class AnswerLostOnce:
    """A proxy to localstripe that lets the first refund through but loses Stripe's answer:
    the client times out not knowing that the refund was made."""

    def __init__(self, upstream: str, delay: float):
        self.refunds_reached_stripe = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.forward()

            def do_POST(self):
                self.forward()

            def forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = requests.request(
                    self.command,
                    upstream + self.path,
                    data=body,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                    timeout=10,
                )
                if self.command == "POST" and self.path.startswith("/v1/refunds"):
                    proxy.refunds_reached_stripe += 1
                    if proxy.refunds_reached_stripe == 1:
                        time.sleep(delay)  # longer than the client waits
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", ""))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_refund_retried_after_a_timeout_is_made_once(
    stripe_settings, settings, localstripe_url, session_type, photographer, at
):
    session_type.deposit_minor = 5000
    session_type.save()
    client = UserFactory()
    booking = services.booking_hold(client=client, session_type=session_type, start=at(12))
    payment = services.payment_start(booking=booking, actor=client)
    pay_by_card(stripe_settings, payment.intent_id)
    wait_for(
        lambda: Booking.objects.get(pk=booking.pk).status == "confirmed",
        timeout=15,
        what="the payment webhook",
    )
    proxy = AnswerLostOnce(localstripe_url, delay=3)
    settings.STRIPE_API_BASE, settings.STRIPE_TIMEOUT_SECONDS = proxy.url, 1
    # As on a worker: the task's failure goes to its retry rather than up to the caller.
    app.conf.task_eager_propagates = False
    try:
        booking.refresh_from_db()
        # Cancelling before the cutoff refunds the deposit; its task times out, then retries.
        services.booking_cancel(booking=booking, actor=client)
    finally:
        app.conf.task_eager_propagates = True
        proxy.close()

    (refund,) = Refund.objects.all()
    at_stripe = stripe_settings.v1.refunds.list(params={"payment_intent": payment.intent_id})
    assert proxy.refunds_reached_stripe == 1
    assert [(r.id, r.amount) for r in at_stripe.data] == [(refund.provider_refund_id, 5000)]


def held_with_stripe_payment(session_type, at, hour: int, deposit_minor: int = 5000):
    session_type.deposit_minor = deposit_minor
    session_type.save()
    client = UserFactory()
    booking = services.booking_hold(client=client, session_type=session_type, start=at(hour))
    return booking, services.payment_start(booking=booking, actor=client)


# --- Refunds Stripe refuses -------------------------------------------------------------------


def test_a_refund_stripe_refuses_for_good_is_failed_shown_and_not_sent_again(
    stripe_settings, client, session_type, photographer, at
):
    booking, payment = held_with_stripe_payment(session_type, at, 13)
    # Paid at a Stripe account this one does not know (keys since changed, say).
    Payment.objects.filter(pk=payment.pk).update(
        intent_id="pi_of_another_account", status="succeeded"
    )
    Booking.objects.filter(pk=booking.pk).update(status="confirmed")
    staff = StaffFactory(studio=session_type.studio)
    client.force_login(staff)
    form = {"amount": "20.00", "reason": "Goodwill", "request_key": str(uuid.uuid4())}

    answer = client.post(f"/payments/{payment.pk}/refund/", form, follow=True).content.decode()

    refund = Refund.objects.get()
    assert (refund.status, refund.provider_refund_id) == ("failed", "")
    assert refund.error and "The payment provider refused the refund" in answer
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 0  # nothing went back
    Refund.objects.filter(pk=refund.pk).update(created_at=refund.created_at - timedelta(hours=1))
    assert refunds_retry_task() == 0  # the sweep leaves it alone
    services.refund_send(refund_pk=refund.pk)
    assert Refund.objects.get().status == "failed"
    page = client.get(f"/bookings/{booking.pk}/").content.decode()
    assert f"refused by the payment provider: {refund.error}" in page
    assert f"/refunds/{refund.pk}/receipt/" not in page
    assert 'class="refund-form"' in page  # staff may refund again, another way
    client.force_login(booking.client)
    client_page = client.get(f"/bookings/{booking.pk}/").content.decode()
    assert "Failed" in client_page and refund.error not in client_page
    assert client.get(f"/refunds/{refund.pk}/receipt/").status_code == 404
    assert not [m for m in mail.outbox if m.subject.startswith("Receipt R-")]


# --- Cancelling unpaid bookings closes their intents ------------------------------------------


def test_cancelling_an_unpaid_booking_cancels_its_intent_at_stripe(
    stripe_settings, session_type, photographer, at
):
    booking, payment = held_with_stripe_payment(session_type, at, 14)

    services.booking_cancel(booking=booking, actor=booking.client)

    assert stripe_settings.v1.payment_intents.retrieve(payment.intent_id).status == "canceled"
    assert Payment.objects.get(pk=payment.pk).status == "cancelled"
    services.payment_cancel(payment_pk=payment.pk)  # again: nothing more happens
    assert Payment.objects.get(pk=payment.pk).status == "cancelled"


def test_an_intent_paid_just_before_the_cancel_is_refunded_not_cancelled(
    stripe_settings, session_type, photographer, at
):
    booking, payment = held_with_stripe_payment(session_type, at, 15)
    pay_by_card(stripe_settings, payment.intent_id)  # its webhook is on the way

    services.booking_cancel(booking=booking, actor=booking.client)

    assert stripe_settings.v1.payment_intents.retrieve(payment.intent_id).status == "succeeded"
    wait_for(
        lambda: Refund.objects.filter(payment=payment).exclude(provider_refund_id="").exists(),
        timeout=15,
        what="the refund of the payment that arrived after the cancel",
    )
    at_stripe = stripe_settings.v1.refunds.list(params={"payment_intent": payment.intent_id})
    assert [r.amount for r in at_stripe.data] == [5000]
    assert Booking.objects.get(pk=booking.pk).status == "cancelled"
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"


# --- Amounts in Stripe's units -----------------------------------------------------------------


@pytest.mark.parametrize(
    "currency, deposit_minor, at_stripe, shown",
    [
        ("JPY", 5000, 5000, "5,000 JPY"),  # zero-decimal: yen
        ("KWD", 12500, 12500, "12.500 KWD"),  # three decimals: fils
        ("ISK", 5000, 500000, "5,000 ISK"),  # zero-decimal, but two at Stripe
        ("EUR", 5000, 5000, "50.00 EUR"),
    ],
)
def test_stripe_is_sent_its_own_units_of_each_currency(
    stripe_settings, client, photographer, at, currency, deposit_minor, at_stripe, shown
):
    studio = photographer.studio
    studio.currency = currency
    studio.save()
    session_type = SessionTypeFactory(studio=studio, price_minor=deposit_minor * 3)
    booking, payment = held_with_stripe_payment(session_type, at, 9, deposit_minor)

    intent = stripe_settings.v1.payment_intents.retrieve(payment.intent_id)

    assert (intent.amount, intent.currency) == (at_stripe, currency.lower())
    client.force_login(booking.client)
    assert shown in client.get(f"/payments/{payment.pk}/").content.decode()
    pay_by_card(stripe_settings, payment.intent_id)
    wait_for(
        lambda: Booking.objects.get(pk=booking.pk).status == "confirmed",
        timeout=15,
        what="confirmation by Stripe's webhook",
    )
    booking.refresh_from_db()
    services.booking_cancel(booking=booking, actor=booking.client)  # refunds the deposit
    refunded = stripe_settings.v1.refunds.list(params={"payment_intent": payment.intent_id})
    assert [r.amount for r in refunded.data] == [at_stripe]
    receipt = next(m for m in mail.outbox if m.subject.startswith("Receipt R-"))
    assert f"we have refunded {shown}" in receipt.body


def test_amounts_stripe_reports_are_read_in_its_units(
    stripe_settings, client, photographer, at, django_capture_on_commit_callbacks
):
    studio = photographer.studio
    studio.currency = "ISK"
    studio.save()
    session_type = SessionTypeFactory(studio=studio, price_minor=15000)
    _, payment = held_with_stripe_payment(session_type, at, 10)
    Payment.objects.filter(pk=payment.pk).update(status="succeeded")
    event = {
        "id": "evt_isk_refund",
        "type": "charge.refunded",
        "data": {
            "object": {
                "payment_intent": payment.intent_id,
                "amount_refunded": 150000,  # 1,500 ISK, in Stripe's hundredths
                "refunds": {"data": [{"id": "re_isk", "amount": 150000}]},
            }
        },
    }
    payload = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(payload, SECRET)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/payments/stripe/webhook/",
            payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=header,
        )

    assert response.status_code == 200
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 1500
    assert Refund.objects.get().amount_minor == 1500


# --- Idempotency keys are this installation's own ---------------------------------------------


class KeysSeen:
    """A proxy to localstripe that notes the Idempotency-Key of every request passing through."""

    def __init__(self, upstream: str):
        self.keys: list[tuple[str, str]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.forward()

            def do_POST(self):
                self.forward()

            def forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if key := self.headers.get("Idempotency-Key"):
                    proxy.keys.append((self.path.split("?")[0], key))
                answer = requests.request(
                    self.command,
                    upstream + self.path,
                    data=body,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                    timeout=10,
                )
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", ""))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def keys_seen(stripe_settings, settings, localstripe_url):
    proxy = KeysSeen(localstripe_url)
    settings.STRIPE_API_BASE = proxy.url
    yield proxy
    proxy.close()


def test_every_idempotency_key_sent_to_stripe_carries_the_installations_prefix(
    keys_seen, session_type, photographer, at
):
    booking, paid = held_with_stripe_payment(session_type, at, 11)
    pay_by_card(
        stripe.StripeClient("sk_test", base_addresses={"api": keys_seen.url}), paid.intent_id
    )
    wait_for(
        lambda: Booking.objects.get(pk=booking.pk).status == "confirmed",
        timeout=15,
        what="confirmation by Stripe's webhook",
    )
    extras = services.extras_payment_start(
        booking=Booking.objects.get(pk=booking.pk), actor=booking.client, amount_minor=3000, key="x"
    )
    keys_seen.keys.clear()  # what we sent from here on, not what the test sent as Stripe.js

    services.booking_cancel(booking=Booking.objects.get(pk=booking.pk), actor=booking.client)

    prefix = Installation.objects.get().key
    assert len(prefix) == 16
    paths = sorted(path for path, _ in keys_seen.keys)
    assert paths == ["/v1/payment_intents/" + extras.intent_id + "/cancel", "/v1/refunds"]
    assert all(key.startswith(f"{prefix}-") for _, key in keys_seen.keys)


def test_another_installation_sends_other_keys_for_the_same_ids(
    keys_seen, settings, session_type, photographer, at
):
    _, payment = held_with_stripe_payment(session_type, at, 12)
    (ours,) = [key for path, key in keys_seen.keys if path == "/v1/payment_intents"]
    # The same database ids elsewhere (a copy restored for staging, say), with its own prefix.
    settings.STRIPE_IDEMPOTENCY_PREFIX = "staging"
    Payment.objects.filter(pk=payment.pk).delete()
    keys_seen.keys.clear()

    again = services.payment_start(booking=payment.booking, actor=payment.booking.client)

    (theirs,) = [key for path, key in keys_seen.keys if path == "/v1/payment_intents"]
    assert theirs == "staging-" + ours.split("-", 1)[1] and theirs != ours
    assert again.intent_id != payment.intent_id
