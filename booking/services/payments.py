"""Writes for payments: deposits, balances and extras, provider events, refunds.

Only the provider's report that money arrived confirms a booking, never the browser.
"""

import logging
from datetime import datetime

import stripe
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from studio.models import User

from ..models import Booking, Payment, PaymentEvent, Refund
from ..payments import payment_provider, provider_for
from ..selectors import acts_for_studio, balance_due_minor, booking_takes_payment, live_payment
from .common import (
    BookingError,
    check_details,
    check_is_client,
    free_after_expiring_holds,
    lost_race,
    record_event,
    send_email_on_commit,
)

logger = logging.getLogger(__name__)


def payment_start(
    *, booking: Booking, actor: User, location_address: str = "", notes: str = ""
) -> Payment:
    """Save the client's details and open the deposit payment; asking again returns the same one.

    The booking stays held: only the provider's report that the money arrived confirms it.
    """
    check_is_client(actor, booking, "pays for")
    if not booking_takes_payment(booking=booking, kind=Payment.Kind.DEPOSIT):
        raise BookingError("not_payable", "This booking is not waiting for a payment.", status=409)
    if not booking.deposit_minor:
        raise BookingError("no_deposit", "This session needs no deposit: confirm it instead.")
    check_details(booking.session_type, location_address)
    Booking.objects.filter(pk=booking.pk).update(
        location_address=location_address.strip(), notes=notes.strip()
    )
    return _payment_open(booking, actor, Payment.Kind.DEPOSIT, booking.deposit_minor)


def balance_payment_start(*, booking: Booking, actor: User) -> Payment:
    """Open the payment of what is left of the price; asking again returns the same one."""
    check_is_client(actor, booking, "pays for")
    if not booking_takes_payment(booking=booking, kind=Payment.Kind.BALANCE):
        raise BookingError("not_payable", "This booking has no balance to pay.", status=409)
    if payment := live_payment(booking=booking, kind=Payment.Kind.BALANCE):
        return payment
    due = balance_due_minor(booking=booking)
    if not due:
        raise BookingError("nothing_due", "This booking is paid in full.", status=409)
    return _payment_open(booking, actor, Payment.Kind.BALANCE, due)


def extras_payment_start(*, booking: Booking, actor: User, amount_minor: int, key: str) -> Payment:
    """Open a payment for something bought on top of the booking (extra photos); each purchase,
    told apart by `key`, is its own payment."""
    check_is_client(actor, booking, "buys extras for")
    if not booking_takes_payment(booking=booking, kind=Payment.Kind.EXTRAS):
        raise BookingError("not_payable", "Extras are bought for a confirmed session.", status=409)
    return _payment_open(booking, actor, Payment.Kind.EXTRAS, amount_minor, key=key)


def _payment_open(
    booking: Booking, actor: User, kind: str, amount_minor: int, key: str = ""
) -> Payment:
    if not key and (payment := live_payment(booking=booking, kind=kind)):
        return payment
    provider = payment_provider()
    try:
        intent = provider.create_intent(
            amount_minor=amount_minor,
            currency=booking.currency,
            metadata={"booking_id": str(booking.pk), "kind": kind},
            idempotency_key=f"booking-{booking.pk}-{kind}{f'-{key}' if key else ''}",
        )
    except stripe.StripeError as error:
        # Nothing was written yet, and the idempotency key makes asking again safe.
        logger.warning("payment intent for booking %s failed: %r", booking.pk, error)
        raise BookingError(
            "payment_provider_unavailable",
            "We could not reach the payment provider. Please try again in a moment.",
            status=503,
        ) from error
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                booking=booking,
                kind=kind,
                provider=provider.name,
                intent_id=intent.id,
                client_secret=intent.client_secret,
                amount_minor=amount_minor,
                currency=booking.currency,
            )
            record_event(booking, actor, "payment_started", payment=payment.pk, of=kind)
            return payment
    except IntegrityError:
        # A second request of the same client won the race (at Stripe, with the same intent).
        return Payment.objects.filter(intent_id=intent.id).first() or live_payment(
            booking=booking, kind=kind
        )


def refund_issue(
    *, payment: Payment, actor: User, amount_minor: int, reason: str, request_key: str
) -> Refund:
    """Refund part or all of a payment on the studio's word; the same request_key refunds once."""
    # Scoped to the payment: a key reused on another payment must neither skip its refund nor
    # hand back (perhaps to another studio's staff) the refund of the first.
    idempotency_key = f"refund-request-{payment.pk}-{request_key}"
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        booking = payment.booking
        if not acts_for_studio(actor, booking):
            raise BookingError(
                "studio_staff_only", "Only the studio's staff can refund.", status=403
            )
        if done := Refund.objects.filter(idempotency_key=idempotency_key).first():
            return done
        left = payment.amount_minor - payment.refunded_minor
        if payment.status != Payment.Status.SUCCEEDED or not left:
            raise BookingError(
                "not_refundable", "Nothing of this payment is left to refund.", status=409
            )
        if not 0 < amount_minor <= left:
            raise BookingError(
                "bad_amount",
                f"Refund more than 0 and at most {left / 100:.2f} {payment.currency}.",
            )
        if not reason.strip():
            raise BookingError("reason_required", "Say why the money goes back.")
        refund = refund_record(payment, amount_minor, reason.strip(), key=idempotency_key)
        record_event(booking, actor, "refunded", amount=amount_minor, reason=reason.strip())
    return refund


def payment_event_record(*, event: dict) -> PaymentEvent | None:
    """Record a provider event once by its id; return None for a duplicate delivery."""
    from ..tasks import payment_event_process_task

    try:
        with transaction.atomic():
            recorded = PaymentEvent.objects.create(
                event_id=event["id"], type=event["type"], payload=event
            )
            transaction.on_commit(lambda: payment_event_process_task.delay(recorded.pk))
            return recorded
    except IntegrityError:
        return None


def payment_event_process(*, event_pk: int, now: datetime | None = None) -> None:
    """Apply one recorded event; safe to repeat, and any order of events ends the same."""
    now = now or timezone.now()
    with transaction.atomic():
        event = PaymentEvent.objects.select_for_update().get(pk=event_pk)
        if event.processed_at:
            return
        obj = event.payload["data"]["object"]
        if event.type == "payment_intent.succeeded":
            _payment_succeeded(obj["id"], now)
        elif event.type == "charge.refunded":
            _charge_refunded(obj["payment_intent"], obj["amount_refunded"], now)
        event.processed_at = now
        event.attempts += 1
        event.save(update_fields=["processed_at", "attempts"])


def payment_event_failed(*, event_pk: int, error: str) -> None:
    PaymentEvent.objects.filter(pk=event_pk).update(attempts=F("attempts") + 1, last_error=error)


def _locked_payment(intent_id: str) -> Payment | None:
    """The payment and its booking, locked for this transaction; None for a foreign intent."""
    payment = Payment.objects.select_for_update().filter(intent_id=intent_id).first()
    if payment:
        payment.booking = (
            Booking.objects.select_for_update()
            .select_related("session_type__studio")
            .get(pk=payment.booking_id)
        )
    return payment


def _payment_succeeded(intent_id: str, now: datetime) -> None:
    payment = _locked_payment(intent_id)
    if payment is None or payment.status == Payment.Status.SUCCEEDED:
        return
    payment.status, payment.succeeded_at = Payment.Status.SUCCEEDED, now
    payment.save(update_fields=["status", "succeeded_at"])
    booking = payment.booking
    record_event(
        booking, None, "payment_succeeded", payment=payment.pk, amount=payment.amount_minor
    )
    _send_receipt_on_commit("payment", payment.pk)
    if _deposit_refunded(payment):
        _cancel_for_payment(booking, now, "The payment was refunded.")
    elif booking.status == Booking.Status.CANCELLED:
        _refund_rest(payment, "the booking was cancelled before the payment arrived")
    elif payment.kind != Payment.Kind.DEPOSIT or booking.status == Booking.Status.CONFIRMED:
        return
    elif not _confirm_paid(booking, now):
        _refund_late_payment(payment, now)


def _confirm_paid(booking: Booking, now: datetime) -> bool:
    """Confirm a paid booking if its time is still free, even when the hold ran out meanwhile."""
    if booking.status not in (Booking.Status.HELD, Booking.Status.EXPIRED):
        return False
    blocked = (booking.blocked_start, booking.blocked_end)
    if not free_after_expiring_holds(booking.photographer_id, blocked, now, exclude_pk=booking.pk):
        return False
    try:
        with transaction.atomic():
            Booking.objects.filter(pk=booking.pk).update(
                status=Booking.Status.CONFIRMED, confirmed_at=now, hold_expires_at=None
            )
    except (IntegrityError, OperationalError) as error:
        if lost_race(error):
            return False
        raise
    record_event(booking, None, "confirmed", by="payment")
    send_email_on_commit(booking, "confirmation")
    return True


def _cancel_for_payment(booking: Booking, now: datetime, reason: str) -> None:
    if booking.status == Booking.Status.CANCELLED:
        return
    Booking.objects.filter(pk=booking.pk).update(
        status=Booking.Status.CANCELLED,
        cancelled_at=now,
        cancellation_reason=reason,
        hold_expires_at=None,
    )
    record_event(booking, None, "cancelled", by="payment", reason=reason)


def _refund_late_payment(payment: Payment, now: datetime) -> None:
    """The money came after someone else took the time: give all of it back, and say so."""
    _cancel_for_payment(
        payment.booking, now, "The payment arrived after the time was booked by someone else."
    )
    _refund_rest(payment, "late payment")
    send_email_on_commit(payment.booking, "late_payment_refunded")


def _refund_rest(payment: Payment, reason: str) -> None:
    amount = payment.amount_minor - payment.refunded_minor
    if amount <= 0:
        return  # already given back at the provider (reported before the payment itself)
    refund_record(payment, amount, reason)
    record_event(payment.booking, None, "refunded", amount=amount, reason=reason)


def refund_record(payment: Payment, amount_minor: int, reason: str, key: str = "") -> Refund:
    """Write the refund down, then (on commit) send it to the provider under its idempotency key."""
    from ..tasks import refund_send_task

    refund = Refund.objects.create(
        payment=payment,
        amount_minor=amount_minor,
        reason=reason,
        idempotency_key=key or f"refund-{payment.intent_id}-{payment.refunds.count() + 1}",
    )
    Payment.objects.filter(pk=payment.pk).update(refunded_minor=F("refunded_minor") + amount_minor)
    payment.refunded_minor += amount_minor
    transaction.on_commit(lambda: refund_send_task.delay(refund.pk))
    return refund


def refund_send(*, refund_pk: int) -> None:
    """Ask the provider for the refund, once: a retry finds the refund an earlier try made."""
    refund = Refund.objects.select_related("payment").get(pk=refund_pk)
    if refund.provider_refund_id:
        return
    provider_refund_id = provider_for(refund.payment).refund(
        intent_id=refund.payment.intent_id,
        amount_minor=refund.amount_minor,
        idempotency_key=refund.idempotency_key,
    )
    sent = Refund.objects.filter(pk=refund.pk, provider_refund_id="").update(
        provider_refund_id=provider_refund_id
    )
    if sent:
        _send_receipt_on_commit("refund", refund.pk)


def _send_receipt_on_commit(kind: str, pk: int) -> None:
    from ..tasks import receipt_email_task

    transaction.on_commit(lambda: receipt_email_task.delay(kind, pk))


def _charge_refunded(intent_id: str, amount_refunded: int, now: datetime) -> None:
    """A refund made at the provider (possibly reported before the payment itself)."""
    payment = _locked_payment(intent_id)
    if payment is None or amount_refunded <= payment.refunded_minor:
        return
    payment.refunded_minor = min(amount_refunded, payment.amount_minor)
    payment.save(update_fields=["refunded_minor"])
    record_event(payment.booking, None, "refunded", amount=payment.refunded_minor, by="provider")
    if _deposit_refunded(payment):
        _cancel_for_payment(payment.booking, now, "The payment was refunded.")


def _deposit_refunded(payment: Payment) -> bool:
    """A deposit given back in full undoes the booking; a refunded balance or extras do not."""
    return payment.kind == Payment.Kind.DEPOSIT and payment.refunded_minor >= payment.amount_minor
