"""Payment providers: Stripe, or a local test mode that takes no real money.

Only the `stripe` library talks to Stripe. Both providers answer the same two calls, and both
report outcomes as Stripe-shaped events that `services.payment_event_record` takes in.
"""

import secrets
from dataclasses import dataclass

import stripe
from django.conf import settings

from .models import Payment


@dataclass(frozen=True)
class Intent:
    id: str
    client_secret: str


class TestModeProvider:
    """Runs the payment flow locally: a pay page succeeds or fails on demand."""

    name = Payment.Provider.TEST_MODE

    def create_intent(
        self, *, amount_minor: int, currency: str, metadata: dict, idempotency_key: str
    ) -> Intent:
        return Intent(id=f"pi_testmode_{secrets.token_hex(12)}", client_secret="")

    def refund(self, *, intent_id: str, amount_minor: int, idempotency_key: str) -> str:
        return f"re_testmode_{secrets.token_hex(12)}"


class StripeProvider:
    name = Payment.Provider.STRIPE

    def __init__(self) -> None:
        base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
        self.client = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses=base,
            http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
            # Our tasks retry instead, and look first for what a lost answer had done.
            max_network_retries=0,
        )

    def create_intent(
        self, *, amount_minor: int, currency: str, metadata: dict, idempotency_key: str
    ) -> Intent:
        intent = self.client.v1.payment_intents.create(
            params={
                "amount": amount_minor,
                "currency": currency.lower(),
                "metadata": metadata,
                "payment_method_types": ["card"],
            },
            options={"idempotency_key": idempotency_key},
        )
        return Intent(id=intent.id, client_secret=intent.client_secret)

    def refund(self, *, intent_id: str, amount_minor: int, idempotency_key: str) -> str:
        """Refund once: a retry after a lost answer finds the refund the first try made.

        Stripe itself honours the idempotency key; the metadata lookup also covers a server
        that does not (localstripe) and keys older than Stripe's 24 hours.
        """
        earlier = self.client.v1.refunds.list(params={"payment_intent": intent_id, "limit": 100})
        for refund in earlier.data:
            if (refund.to_dict().get("metadata") or {}).get("idempotency_key") == idempotency_key:
                return refund.id
        refund = self.client.v1.refunds.create(
            params={
                "payment_intent": intent_id,
                "amount": amount_minor,
                "metadata": {"idempotency_key": idempotency_key},
            },
            options={"idempotency_key": idempotency_key},
        )
        return refund.id


def payment_provider() -> TestModeProvider | StripeProvider:
    return StripeProvider() if settings.STRIPE_SECRET_KEY else TestModeProvider()


def provider_for(payment: Payment) -> TestModeProvider | StripeProvider:
    return (
        TestModeProvider() if payment.provider == Payment.Provider.TEST_MODE else StripeProvider()
    )


def verify_webhook(payload: bytes, signature: str) -> dict:
    """Return the event if Stripe signed it recently; raise ValueError otherwise."""
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=300
        )
    except stripe.SignatureVerificationError as error:
        raise ValueError(f"bad signature: {error.user_message or error}") from None
    return event.to_dict()


def simulated_success_event(payment: Payment) -> dict:
    """The event Stripe would send for a successful payment, from the test-mode provider."""
    return {
        "id": f"evt_testmode_{secrets.token_hex(12)}",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": payment.intent_id, "amount": payment.amount_minor}},
    }
