"""Deposits against a real Stripe protocol peer: localstripe, started here on 127.0.0.1."""

import http.server
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
import stripe

from booking import services
from booking.models import Booking, Payment, Refund
from studio.celery import app
from tests.factories import UserFactory
from tests.helpers import wait_for

SECRET = "whsec_localstripe"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
