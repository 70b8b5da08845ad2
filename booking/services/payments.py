"""Writes for payments: deposits, balances and extras, provider events, refunds.

Only the provider's report that money arrived confirms a booking, never the browser.
"""

import logging
from datetime import datetime

import stripe
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from studio.audit import audit_record
from studio.formats import money
from studio.models import AuditEvent, User
from studio.selectors import works_for

from ..models import Booking, Payment, PaymentEvent, Refund
from ..payments import payment_provider, provider_for
from ..selectors import balance_due_minor, booking_takes_payment, live_payment
from .common import (
    BookingError,
    check_details,
    check_is_client,
    free_after_expiring_holds,
    lost_race,
    send_email_on_commit,
)

logger = logging.getLogger(__name__)


def payment_start(
    *, booking: Booking, actor: User, location_address: str = "", notes: str = ""
) -> Payment:
    """Save the client's details and open the deposit payment; asking again returns the same one.

    The booking stays held: only the provider's report that the money arrived confirms it.
    """
    check_is_client(actor, booking)
    if not booking_takes_payment(booking=booking, kind=Payment.Kind.DEPOSIT):
        raise BookingError("not_payable")
    if not booking.deposit_minor:
        raise BookingError("no_deposit")
    check_details(booking.session_type, location_address)
    Booking.objects.filter(pk=booking.pk).update(
        location_address=location_address.strip(), notes=notes.strip()
    )
    return _payment_open(booking, actor, Payment.Kind.DEPOSIT, booking.deposit_minor)


def balance_payment_start(*, booking: Booking, actor: User) -> Payment:
    """Open the payment of what is left of the price; asking again returns the same one."""
    check_is_client(actor, booking)
    if not booking_takes_payment(booking=booking, kind=Payment.Kind.BALANCE):
        raise BookingError("not_payable")
    if payment := live_payment(booking=booking, kind=Payment.Kind.BALANCE):
        return payment
    due = balance_due_minor(booking=booking)
    if not due:
        raise BookingError("nothing_due")
    return _payment_open(booking, actor, Payment.Kind.BALANCE, due)


def extras_payment_start(*, booking: Booking, actor: User, amount_minor: int, key: str) -> Payment:
    """Open a payment for something bought on top of the booking (extra photos); each purchase,
    told apart by `key`, is its own payment."""
    check_is_client(actor, booking)
    if not booking_takes_payment(booking=booking, kind=Payment.Kind.EXTRAS):
        raise BookingError("not_payable")
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
        raise BookingError("payment_provider_unavailable") from error
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
            _audit_payment(AuditEvent.Kind.PAYMENT_STARTED, payment, actor)
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
        if not works_for(actor, booking.session_type.studio_id, staff_only=True):
            raise BookingError("studio_staff_only")
        if done := Refund.objects.filter(idempotency_key=idempotency_key).first():
            return done
        left = payment.amount_minor - payment.refunded_minor
        if payment.status != Payment.Status.SUCCEEDED or not left:
            raise BookingError("not_refundable")
        if not 0 < amount_minor <= left:
            raise BookingError("bad_amount", most=money(left, payment.currency))
        if not reason.strip():
            raise BookingError("reason_required")
        return refund_record(
            payment, amount_minor, reason.strip(), key=idempotency_key, actor=actor
        )


def payment_event_record(*, event: dict) -> PaymentEvent | None:
    """Record a provider event once by its id; return None for a duplicate delivery."""
    from ..tasks import payment_event_process_task

    try:
        with transaction.atomic():
            recorded = PaymentEvent.objects.create(
                event_id=event["id"], type=event["type"], payload=event
            )
            # robust: an event that fails while run eagerly keeps its error for the sweep, and
            # the webhook is still answered.
            transaction.on_commit(
                lambda: payment_event_process_task.delay(recorded.pk), robust=True
            )
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
    _audit_payment(AuditEvent.Kind.PAYMENT_SUCCEEDED, payment, None)
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
    audit_record(
        kind=AuditEvent.Kind.BOOKING_CONFIRMED,
        actor=None,
        studio_id=booking.session_type.studio_id,
        booking_id=booking.pk,
        reason="the deposit was paid",
    )
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
    audit_record(
        kind=AuditEvent.Kind.BOOKING_CANCELLED,
        actor=None,
        studio_id=booking.session_type.studio_id,
        booking_id=booking.pk,
        by="payment",
        reason=reason,
    )


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


def refund_record(
    payment: Payment, amount_minor: int, reason: str, key: str = "", actor: User | None = None
) -> Refund:
    """Write the refund down with its audit event, then (on commit) send it to the provider
    under its idempotency key."""
    from ..tasks import refund_send_task

    refund = Refund.objects.create(
        payment=payment,
        amount_minor=amount_minor,
        reason=reason,
        idempotency_key=key or f"refund-{payment.intent_id}-{payment.refunds.count() + 1}",
    )
    Payment.objects.filter(pk=payment.pk).update(refunded_minor=F("refunded_minor") + amount_minor)
    payment.refunded_minor += amount_minor
    audit_record(
        kind=AuditEvent.Kind.REFUND_RECORDED,
        actor=actor,
        studio_id=payment.booking.session_type.studio_id,
        booking_id=payment.booking_id,
        payment=payment.pk,
        refund=refund.pk,
        amount_minor=amount_minor,
        currency=payment.currency,
        reason=reason,
    )
    transaction.on_commit(lambda: refund_send_task.delay(refund.pk))
    return refund


def refund_send(*, refund_pk: int) -> None:
    """Ask the provider for the refund, once: a retry finds the refund an earlier try made."""
    refund = Refund.objects.select_related("payment__booking__session_type").get(pk=refund_pk)
    if refund.provider_refund_id:
        return
    payment = refund.payment
    provider_refund_id = provider_for(payment).refund(
        intent_id=payment.intent_id,
        amount_minor=refund.amount_minor,
        idempotency_key=refund.idempotency_key,
    )
    with transaction.atomic():
        sent = Refund.objects.filter(pk=refund.pk, provider_refund_id="").update(
            provider_refund_id=provider_refund_id
        )
        if sent:
            audit_record(
                kind=AuditEvent.Kind.REFUND_SENT,
                actor=None,
                studio_id=payment.booking.session_type.studio_id,
                booking_id=payment.booking_id,
                refund=refund.pk,
                amount_minor=refund.amount_minor,
                currency=payment.currency,
            )
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
    _audit_payment(AuditEvent.Kind.REFUNDED_AT_PROVIDER, payment, None, payment.refunded_minor)
    if _deposit_refunded(payment):
        _cancel_for_payment(payment.booking, now, "The payment was refunded.")


def _deposit_refunded(payment: Payment) -> bool:
    """A deposit given back in full undoes the booking; a refunded balance or extras do not."""
    return payment.kind == Payment.Kind.DEPOSIT and payment.refunded_minor >= payment.amount_minor


def _audit_payment(
    kind: AuditEvent.Kind, payment: Payment, actor: User | None, amount_minor: int | None = None
) -> None:
    """Record what happened to `payment` (its whole amount unless `amount_minor` says)."""
    audit_record(
        kind=kind,
        actor=actor,
        studio_id=payment.booking.session_type.studio_id,
        booking_id=payment.booking_id,
        payment=payment.pk,
        what=payment.get_kind_display().lower(),
        amount_minor=payment.amount_minor if amount_minor is None else amount_minor,
        currency=payment.currency,
    )
