"""Payment providers: Stripe, or a local test mode that takes no real money.

Only the `stripe` library talks to Stripe. Both providers answer the same calls (open, refund,
cancel), and both report outcomes as Stripe-shaped events that `services.payment_event_record`
takes in. Amounts are ISO 4217 minor units (`studio.currencies`) here, and Stripe's own units
there; every idempotency key sent to Stripe carries this installation's prefix.
"""

import json
import logging
import secrets
import time
from dataclasses import dataclass

import stripe
from django.conf import settings

from studio.errors import DomainError
from studio.formats import decimals, money

from .models import Installation, Payment

logger = logging.getLogger(__name__)

# Where Stripe's unit of an amount is not the ISO 4217 minor unit. ISK has no decimals in ISO but
# two at Stripe (always 00: Stripe's 500 is 5 ISK); MGA has two in ISO and none at Stripe.
# Everywhere else they agree: JPY, KRW, VND, UGX ... 0, most 2, and BHD, JOD, KWD, OMR, TND 3
# (Stripe refuses a three-decimal amount whose last digit is not 0). HUF and TWD are two-decimal
# for charges and refunds (whole units only in payouts, which this platform does not make).
# Stripe does not take CLF, UYW (4 decimals), IQD, LYD or UYI at all: it refuses such a payment.
STRIPE_DECIMALS = {"ISK": 2, "MGA": 0}


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

    def refund(
        self, *, intent_id: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> str:
        return f"re_testmode_{secrets.token_hex(12)}"

    def cancel_intent(self, *, intent_id: str, idempotency_key: str) -> bool:
        return True  # nothing is open anywhere: the pay page refuses a cancelled booking

    def amount_minor(self, amount: int, currency: str) -> int:
        return amount


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
                "amount": stripe_amount(amount_minor, currency),
                "currency": currency.lower(),
                "metadata": metadata,
                "payment_method_types": ["card"],
            },
            options=_options(idempotency_key),
        )
        return Intent(id=intent.id, client_secret=intent.client_secret)

    def refund(
        self, *, intent_id: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> str:
        """Refund once: a retry after a lost answer finds the refund the first try made.

        Stripe itself honours the idempotency key; the metadata lookup also covers a server
        that does not (localstripe) and keys older than Stripe's 24 hours. The metadata holds
        our own key, unprefixed: it is looked up within the one intent, and tells a refund of
        ours from one made in the Stripe Dashboard.
        """
        earlier = self.client.v1.refunds.list(params={"payment_intent": intent_id, "limit": 100})
        for refund in earlier.data:
            if (refund.to_dict().get("metadata") or {}).get("idempotency_key") == idempotency_key:
                return refund.id
        refund = self.client.v1.refunds.create(
            params={
                "payment_intent": intent_id,
                "amount": stripe_amount(amount_minor, currency),
                "metadata": {"idempotency_key": idempotency_key},
            },
            options=_options(idempotency_key),
        )
        return refund.id

    def cancel_intent(self, *, intent_id: str, idempotency_key: str) -> bool:
        """Cancel the intent so that it can no longer be paid; False when it no longer can be
        cancelled (paid or being paid meanwhile: its own event decides what happens)."""
        try:
            self.client.v1.payment_intents.cancel(intent_id, options=_options(idempotency_key))
        except stripe.InvalidRequestError as error:
            # Perhaps cancelled by an earlier try whose answer was lost.
            status = self.client.v1.payment_intents.retrieve(intent_id).status
            if status != "canceled":
                logger.info("intent %s not cancelled (%s): %s", intent_id, status, error)
                return False
        return True

    def amount_minor(self, amount: int, currency: str) -> int:
        """An amount Stripe reports (e.g. a charge's `amount_refunded`) in ISO minor units."""
        shift = _stripe_shift(currency)
        return amount // 10**shift if shift >= 0 else amount * 10**-shift


def _stripe_shift(currency: str) -> int:
    """How many more decimals Stripe's unit of `currency` has than ISO 4217's."""
    return STRIPE_DECIMALS.get(currency.upper(), decimals(currency)) - decimals(currency)


def stripe_amount(amount_minor: int, currency: str) -> int:
    """ISO minor units as the amount Stripe expects, e.g. 500 ISK → 50000, 1500 JPY → 1500."""
    shift = _stripe_shift(currency)
    if shift >= 0:
        return amount_minor * 10**shift
    whole, rest = divmod(amount_minor, 10**-shift)
    if rest:
        # What Stripe itself answers for an amount its unit cannot carry.
        raise stripe.InvalidRequestError(
            f"{money(amount_minor, currency)} is not a whole number of Stripe's units", "amount"
        )
    return whole


def _options(idempotency_key: str) -> dict:
    return {"idempotency_key": f"{idempotency_prefix()}-{idempotency_key}"}


def idempotency_prefix() -> str:
    """What makes this installation's idempotency keys its own at a Stripe account that other
    databases share (their ids, and so their keys, repeat ours)."""
    if settings.STRIPE_IDEMPOTENCY_PREFIX:
        return settings.STRIPE_IDEMPOTENCY_PREFIX
    installation, _ = Installation.objects.get_or_create(
        pk=1, defaults={"key": secrets.token_hex(8)}
    )
    return installation.key


def payment_provider() -> TestModeProvider | StripeProvider:
    return StripeProvider() if settings.STRIPE_SECRET_KEY else TestModeProvider()


def provider_for(payment: Payment) -> TestModeProvider | StripeProvider:
    return (
        TestModeProvider() if payment.provider == Payment.Provider.TEST_MODE else StripeProvider()
    )


def verify_webhook(payload: bytes, signature: str) -> dict:
    """Return the event if Stripe signed it within the tolerance, either side of our clock;
    raise DomainError otherwise (`bad_signature`, or `bad_event` for a body not a JSON object)."""
    tolerance = settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
    try:
        body = payload.decode()
        stripe.WebhookSignature.verify_header(
            body, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance
        )
    except (UnicodeDecodeError, stripe.SignatureVerificationError) as error:
        logger.warning("webhook refused: %s", error)
        raise DomainError("bad_signature") from None
    # Stripe's check looks only into the past: a time ahead of ours is refused here.
    if _signed_at(signature) > time.time() + tolerance:
        logger.warning("webhook refused: signed %s, in the future", _signed_at(signature))
        raise DomainError("bad_signature")
    try:
        event = json.loads(body)
    except ValueError:
        event = None
    if not isinstance(event, dict):
        raise DomainError("bad_event", problem="it is not a JSON object")
    return event


def _signed_at(header: str) -> int:
    """The header's timestamp, read as Stripe's check reads it (the first `t=`)."""
    items = [item.split("=", 2) for item in header.split(",")]
    return int(next(item[1] for item in items if item[0] == "t"))


def simulated_success_event(payment: Payment) -> dict:
    """The event Stripe would send for a successful payment, from the test-mode provider."""
    return {
        "id": f"evt_testmode_{secrets.token_hex(12)}",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": payment.intent_id, "amount": payment.amount_minor}},
    }
