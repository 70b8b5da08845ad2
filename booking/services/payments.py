"""Writes for payments: deposits, balances and extras, provider events, refunds.

Only the provider's report that money arrived confirms a booking, never the browser.
"""

import logging
from collections.abc import Iterable
from datetime import datetime
from functools import partial

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
    send_receipt_on_commit,
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


def unpaid_payments_close_on_commit(payments: Iterable[Payment]) -> None:
    """Within a cancellation's transaction: once committed, have the provider close each of
    `payments` still waiting to be paid (a retried task), so that it can no longer be paid."""
    from ..tasks import payment_cancel_task

    for payment in payments:
        if payment.status == Payment.Status.PENDING:
            transaction.on_commit(partial(payment_cancel_task.delay, payment.pk), robust=True)


def payment_cancel(*, payment_pk: int) -> None:
    """Close a cancelled booking's unpaid payment at the provider; one paid meanwhile is left to
    its own event (which refunds it)."""
    payment = Payment.objects.filter(
        pk=payment_pk, status=Payment.Status.PENDING, booking__status=Booking.Status.CANCELLED
    ).first()
    if payment is None:
        return
    closed = provider_for(payment).cancel_intent(
        intent_id=payment.intent_id, idempotency_key=f"cancel-{payment.intent_id}"
    )
    if closed:
        Payment.objects.filter(pk=payment.pk, status=Payment.Status.PENDING).update(
            status=Payment.Status.CANCELLED
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
    """Record a provider event once by its id; return None for a duplicate delivery.

    An event lacking what its processing reads is refused (`bad_event`) and not recorded.
    """
    from ..tasks import payment_event_process_task

    if problem := event_problem(event):
        raise BookingError("bad_event", problem=problem)
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


# What processing reads from `data.object` of the event types it acts on, and the types each
# may have; other types are recorded and left alone.
EVENT_FIELDS = {
    "payment_intent.succeeded": {"id": str},
    # No payment intent: a charge made some other way, not ours.
    "charge.refunded": {"payment_intent": (str, type(None)), "amount_refunded": int},
}


def event_problem(event: dict) -> str:
    """What makes `event` unusable (a missing or malformed field), or "" when nothing does."""
    for name, longest in (("id", 255), ("type", 100)):
        if not isinstance(event.get(name), str) or not 0 < len(event[name]) <= longest:
            return f"{name} must be a text of 1 to {longest} characters"
    obj = event.get("data", {}).get("object") if isinstance(event.get("data"), dict) else None
    if not isinstance(obj, dict):
        return "data.object must be an object"
    for name, kinds in EVENT_FIELDS.get(event["type"], {}).items():
        if not _is(obj.get(name, ...), kinds):
            return f"data.object.{name} is missing or malformed"
    if event["type"] == "charge.refunded" and not _lists_refunds(obj.get("refunds")):
        return "data.object.refunds.data must list refunds, each with its id and amount"
    return ""


def _lists_refunds(refunds) -> bool:
    """A charge's list of refunds is well formed, or absent (as in newer Stripe API versions)."""
    listed = (refunds or {"data": []}).get("data") if isinstance(refunds or {}, dict) else None
    return isinstance(listed, list) and all(
        isinstance(r, dict)
        and _is(r.get("id"), str)
        and _is(r.get("amount"), int)
        and isinstance(r.get("metadata") or {}, dict)
        for r in listed
    )


def _is(value, kinds) -> bool:
    """`value` is of `kinds`; an amount is a whole number, not below 0 (nor a boolean)."""
    if kinds is int:
        return type(value) is int and value >= 0
    return isinstance(value, kinds) and value != ""


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
            _charge_refunded(obj, event.event_id, now)
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
    send_receipt_on_commit(booking, payment_id=payment.pk)
    if _deposit_refunded(payment):
        _cancel_for_refund(booking, now)
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


def _cancel_for_refund(booking: Booking, now: datetime) -> None:
    """The deposit was given back in full at the provider: the booking is undone, and the
    client told (the e-mail names what is refunded; the refund's receipt follows)."""
    if _cancel_for_payment(booking, now, "The payment was refunded."):
        send_email_on_commit(booking, "cancellation")


def _cancel_for_payment(booking: Booking, now: datetime, reason: str) -> bool:
    if booking.status == Booking.Status.CANCELLED:
        return False
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
    return True


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
    """Ask the provider for the refund, once: a retry finds the refund an earlier try made.

    A refund the provider refuses for good is marked failed, with its error, and never sent again.
    """
    refund = Refund.objects.select_related("payment__booking__session_type").get(pk=refund_pk)
    if refund.status != Refund.Status.SENDING:
        return
    payment = refund.payment
    try:
        provider_refund_id = provider_for(payment).refund(
            intent_id=payment.intent_id,
            amount_minor=refund.amount_minor,
            currency=payment.currency,
            idempotency_key=refund.idempotency_key,
        )
    except (stripe.InvalidRequestError, stripe.IdempotencyError) as error:
        # Asking again gets the same answer: e.g. more than is left at Stripe, an unknown intent.
        _refund_failed(refund, error.user_message or str(error))
        return
    with transaction.atomic():
        sent = Refund.objects.filter(pk=refund.pk, status=Refund.Status.SENDING).update(
            provider_refund_id=provider_refund_id, status=Refund.Status.SENT
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
            send_receipt_on_commit(payment.booking, refund_id=refund.pk)


def _refund_failed(refund: Refund, error: str) -> None:
    """The provider refused the refund for good: what it was to give back counts as not
    refunded again, so that staff can refund it another way."""
    logger.warning("refund %s refused by the provider: %s", refund.pk, error)
    with transaction.atomic():
        # The payment first, as everywhere: its refunds change under its lock.
        Payment.objects.select_for_update().filter(pk=refund.payment_id).first()
        failed = Refund.objects.filter(pk=refund.pk, status=Refund.Status.SENDING)
        if failed.update(status=Refund.Status.FAILED, error=error[:2000]):
            Payment.objects.filter(pk=refund.payment_id).update(
                refunded_minor=F("refunded_minor") - refund.amount_minor
            )


def _charge_refunded(charge: dict, event_id: str, now: datetime) -> None:
    """Refunds reported by the provider: ours coming back, or ones made there (the Stripe
    Dashboard), possibly reported before the payment itself. Each made there is recorded once,
    with its receipt; a deposit given back in full cancels the booking."""
    payment = _locked_payment(charge["payment_intent"])
    if payment is None:
        return
    provider = provider_for(payment)
    reported = provider.amount_minor(charge["amount_refunded"], payment.currency)
    # `refunded_minor` already counts ours, sent or being sent: only more than that is new.
    new = min(reported, payment.amount_minor) - payment.refunded_minor
    if new <= 0:
        return
    for listed in _refunds_made_there(charge, payment):
        amount = min(provider.amount_minor(listed["amount"], payment.currency), new)
        if amount > 0:
            _record_refund_made_there(payment, amount, listed["id"], listed["id"])
            new -= amount
    if new > 0:  # no list of refunds in the event (or not all of them): the rest, by amount
        _record_refund_made_there(payment, new, "", event_id)
    payment.refresh_from_db(fields=["refunded_minor"])
    _audit_payment(AuditEvent.Kind.REFUNDED_AT_PROVIDER, payment, None, payment.refunded_minor)
    if _deposit_refunded(payment):
        _cancel_for_refund(payment.booking, now)


def _refunds_made_there(charge: dict, payment: Payment) -> list[dict]:
    """The charge's listed refunds that are not ours and not yet recorded."""
    listed = [
        refund
        for refund in (charge.get("refunds") or {}).get("data", [])
        if refund.get("status") not in ("failed", "canceled")
    ]
    ours = payment.refunds.values_list("idempotency_key", "provider_refund_id")
    known = {key for pair in ours for key in pair if key}
    return [
        refund
        for refund in listed
        if refund["id"] not in known
        and (refund.get("metadata") or {}).get("idempotency_key") not in known
    ]


def _record_refund_made_there(
    payment: Payment, amount_minor: int, provider_refund_id: str, source: str
) -> None:
    refund = Refund.objects.create(
        payment=payment,
        amount_minor=amount_minor,
        reason="made at the payment provider",
        idempotency_key=f"provider-{source}",
        provider_refund_id=provider_refund_id,
        status=Refund.Status.SENT,
    )
    Payment.objects.filter(pk=payment.pk).update(refunded_minor=F("refunded_minor") + amount_minor)
    send_receipt_on_commit(payment.booking, refund_id=refund.pk)


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
