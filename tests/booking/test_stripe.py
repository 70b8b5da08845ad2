"""Deposits against a real Stripe protocol peer: localstripe, started here on 127.0.0.1."""

import socket
import subprocess
import sys
import time

import pytest
import requests
import stripe

from booking import services
from booking.models import Booking, Payment, Refund
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
