"""Writes for booking. Every state change is atomic, safe to repeat, and leaves an audit event.

No double booking, ever: on PostgreSQL an exclusion constraint rejects overlapping held or
confirmed bookings of one photographer; on SQLite every write transaction is IMMEDIATE (see
settings), so the overlap check and the insert below run one booking at a time.
"""

import logging
from datetime import UTC, datetime, timedelta

import stripe
from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from studio.errors import DomainError
from studio.models import User

from .models import Booking, BookingEvent, Payment, PaymentEvent, Refund, SessionType
from .payments import payment_provider, provider_for
from .selectors import (
    Slot,
    acts_for_studio,
    balance_due_minor,
    booking_takes_payment,
    cancellation_cutoff,
    cancellation_refunds,
    live_payment,
    overlapping_bookings,
    slot_list,
    slots_near,
)

# PostgreSQL's SQLSTATEs for losing a race over a photographer's time: the exclusion constraint
# rejected the row, or two conflicting inserts waited on each other and one was aborted.
LOST_RACE_SQLSTATES = {"23P01", "40P01", "40001"}

logger = logging.getLogger(__name__)


class BookingError(DomainError):
    """A booking request that cannot be carried out, with open slots to offer instead."""

    def __init__(self, code: str, message: str, *, status: int = 400, alternatives=()):
        super().__init__(code, message, status=status)
        self.alternatives: list[Slot] = list(alternatives)

    def extra(self) -> dict:
        if not self.alternatives:
            return {}
        return {
            "alternatives": [
                {
                    "start": s.start.isoformat(),
                    "end": s.end.isoformat(),
                    "photographer_ids": list(s.photographer_ids),
                }
                for s in self.alternatives
            ]
        }


def _lost_race(error: DatabaseError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) in LOST_RACE_SQLSTATES


def _slot_taken(session_type: SessionType, start: datetime, photographer_id, now) -> BookingError:
    return BookingError(
        "slot_taken",
        "That time was just booked by someone else. Here are the nearest open times.",
        status=409,
        alternatives=slots_near(
            session_type=session_type, around=start, photographer_id=photographer_id, now=now
        ),
    )


def _record(booking: Booking, actor: User | None, kind: str, **details) -> None:
    BookingEvent.objects.create(booking=booking, actor=actor, kind=kind, details=details)


def _send_email_on_commit(booking: Booking, kind: str) -> None:
    from .tasks import booking_email_task

    transaction.on_commit(lambda: booking_email_task.delay(booking.pk, kind))


def _check_offered(
    session_type: SessionType,
    start: datetime,
    photographer_id: int | None,
    now: datetime,
    exclude_booking_pk: int | None = None,
) -> list[int]:
    """Return the photographers free at `start`, or raise why the studio does not offer it."""
    if start <= now:
        raise BookingError("slot_in_past", "That time is in the past.")
    if start < now + timedelta(minutes=session_type.min_notice_minutes):
        hours = session_type.min_notice_minutes / 60
        raise BookingError(
            "too_short_notice", f"This session must be booked at least {hours:g} hours ahead."
        )
    if start > now + timedelta(days=session_type.max_advance_days):
        raise BookingError(
            "too_far_ahead",
            f"This session can be booked at most {session_type.max_advance_days} days ahead.",
        )
    window = {
        "session_type": session_type,
        "range_start": start,
        "range_end": start + timedelta(seconds=1),
        "photographer_id": photographer_id,
        "now": now,
        "exclude_booking_pk": exclude_booking_pk,
    }
    if not slot_list(**window, ignore_bookings=True):
        raise BookingError(
            "slot_not_offered",
            "The studio does not offer that time: it is outside working hours or not a start time.",
        )
    open_slots = slot_list(**window)
    if not open_slots:
        raise _slot_taken(session_type, start, photographer_id, now)
    return list(open_slots[0].photographer_ids)


def _blocked(session_type: SessionType, start: datetime) -> tuple[datetime, datetime]:
    end = start + session_type.duration
    return start - session_type.buffer_before, end + session_type.buffer_after


def _is_free(photographer_id: int, blocked, now: datetime, exclude_pk: int | None = None) -> bool:
    """Within the booking's transaction: whether the photographer's `blocked` time is free.

    Holds whose time ran out are marked expired first, so that they do not trip the constraint.
    """
    Booking.objects.filter(
        photographer_id=photographer_id,
        status=Booking.Status.HELD,
        hold_expires_at__lte=now,
        blocked_start__lt=blocked[1],
        blocked_end__gt=blocked[0],
    ).update(status=Booking.Status.EXPIRED)
    return not overlapping_bookings(
        photographer_id=photographer_id, blocked=blocked, now=now, exclude_pk=exclude_pk
    ).exists()


def _insert_hold(
    *,
    client: User,
    session_type: SessionType,
    start: datetime,
    photographer_id: int,
    now: datetime,
) -> Booking | None:
    """Insert a hold for one photographer; return None when that photographer is taken."""
    studio = session_type.studio
    blocked = _blocked(session_type, start)
    try:
        with transaction.atomic():
            if not _is_free(photographer_id, blocked, now):
                return None
            # A client finishes one booking at a time, so nobody can hold the whole calendar.
            Booking.objects.filter(client=client, status=Booking.Status.HELD).update(
                status=Booking.Status.EXPIRED
            )
            booking = Booking.objects.create(
                session_type=session_type,
                photographer_id=photographer_id,
                client=client,
                status=Booking.Status.HELD,
                start=start,
                end=start + session_type.duration,
                blocked_start=blocked[0],
                blocked_end=blocked[1],
                hold_expires_at=now + timedelta(minutes=studio.hold_minutes),
                price_minor=session_type.price_minor,
                deposit_minor=session_type.deposit_minor,
                currency=studio.currency,
            )
            _record(booking, client, "held", start=start.isoformat())
            return booking
    except (IntegrityError, OperationalError) as error:
        if _lost_race(error):
            return None
        raise


def booking_hold(
    *,
    client: User,
    session_type: SessionType,
    start: datetime,
    photographer_id: int | None = None,
    now: datetime | None = None,
) -> Booking:
    """Reserve a slot for `client` for the studio's hold time while they finish booking."""
    now = now or timezone.now()
    if not session_type.is_active:
        raise BookingError("session_type_unavailable", "This session type is not offered any more.")
    start = start.astimezone(UTC)
    for candidate in _check_offered(session_type, start, photographer_id, now):
        booking = _insert_hold(
            client=client,
            session_type=session_type,
            start=start,
            photographer_id=candidate,
            now=now,
        )
        if booking:
            return booking
    raise _slot_taken(session_type, start, photographer_id, now)


def booking_confirm(
    *,
    booking: Booking,
    actor: User,
    location_address: str = "",
    notes: str = "",
    now: datetime | None = None,
) -> Booking:
    """Confirm a held booking. Until payments exist, only session types without a deposit can."""
    _check_is_client(actor, booking, "confirms")
    now = now or timezone.now()
    session_type = booking.session_type
    if booking.status == Booking.Status.CONFIRMED:
        return booking
    if booking.status != Booking.Status.HELD:
        raise BookingError(
            "not_confirmable",
            f"This booking is {booking.get_status_display().lower()}.",
            status=409,
        )
    _check_details(session_type, location_address)
    if booking.deposit_minor:
        raise BookingError(
            "payment_required",
            "This session needs a deposit: pay it, and the booking is confirmed once the payment "
            "provider reports the payment.",
            status=402,
        )
    with transaction.atomic():
        confirmed = Booking.objects.filter(
            pk=booking.pk, status=Booking.Status.HELD, hold_expires_at__gt=now
        ).update(
            status=Booking.Status.CONFIRMED,
            confirmed_at=now,
            hold_expires_at=None,
            location_address=location_address.strip(),
            notes=notes.strip(),
        )
        booking.refresh_from_db()
        if confirmed:
            _record(booking, actor, "confirmed")
            _send_email_on_commit(booking, "confirmation")
    if booking.status != Booking.Status.CONFIRMED:
        # Searched after the transaction: on SQLite it would hold the write lock meanwhile.
        raise BookingError(
            "hold_expired",
            "Your hold on this time ran out. Please pick a time again.",
            status=409,
            alternatives=slots_near(session_type=session_type, around=booking.start, now=now),
        )
    return booking


def _check_is_client(actor: User, booking: Booking, action: str) -> None:
    if booking.client_id != actor.pk:
        raise BookingError("not_your_booking", f"Only the client {action} a booking.", status=403)


def _check_details(session_type: SessionType, location_address: str) -> None:
    if session_type.location == session_type.Location.ON_LOCATION and not location_address.strip():
        raise BookingError("address_required", "Please give the address of the location.")


def _check_may_change(actor: User, booking: Booking) -> None:
    """The client or the studio's staff change a booking; photographers ask the staff."""
    if booking.client_id != actor.pk and not acts_for_studio(actor, booking):
        raise BookingError(
            "studio_staff_only",
            "Only the client or the studio's staff can change this booking.",
            status=403,
        )


def _check_client_cutoff(booking: Booking, actor: User, now: datetime) -> None:
    if booking.status != Booking.Status.CONFIRMED or acts_for_studio(actor, booking):
        return
    if now >= cancellation_cutoff(booking):
        raise BookingError(
            "cutoff_passed",
            f"Bookings can only be moved up to {booking.studio.cancellation_cutoff_hours} hours "
            "before the session. Please contact the studio.",
            status=409,
        )


def booking_cancel(
    *, booking: Booking, actor: User, reason: str = "", now: datetime | None = None
) -> Booking:
    """Cancel a booking and refund by the studio's policy.

    The client gets everything back before the cutoff and loses the deposit after it; the studio
    may cancel at any time and refunds everything.
    """
    now = now or timezone.now()
    _check_may_change(actor, booking)
    if booking.status == Booking.Status.CANCELLED:
        return booking
    if booking.status not in Booking.ACTIVE_STATUSES:
        raise BookingError(
            "not_cancellable",
            f"This booking is {booking.get_status_display().lower()}.",
            status=409,
        )
    by = "studio" if acts_for_studio(actor, booking) else "client"
    with transaction.atomic():
        # Payments first, then the booking: the same lock order as a payment event's.
        payments = list(Payment.objects.select_for_update().filter(booking=booking))
        was_confirmed = booking.status == Booking.Status.CONFIRMED
        changed = Booking.objects.filter(pk=booking.pk, status=booking.status).update(
            status=Booking.Status.CANCELLED,
            cancelled_at=now,
            cancelled_by=actor,
            cancellation_reason=reason.strip(),
            hold_expires_at=None,
        )
        booking.refresh_from_db()
        if not changed:
            if booking.status == Booking.Status.CANCELLED:
                return booking
            raise BookingError("not_cancellable", "This booking changed meanwhile.", status=409)
        _record(booking, actor, "cancelled", by=by, reason=reason.strip())
        refunds = cancellation_refunds(
            booking=booking, payments=payments, by_studio=by == "studio", now=now
        )
        for payment, amount in refunds:
            _refund_record(payment, amount, f"cancelled by the {by}")
            _record(booking, actor, "refunded", amount=amount, reason=f"cancelled by the {by}")
        if was_confirmed:
            _send_email_on_commit(booking, "cancellation")
    return booking


def booking_reschedule(
    *,
    booking: Booking,
    actor: User,
    start: datetime,
    photographer_id: int | None = None,
    now: datetime | None = None,
) -> Booking:
    """Move a confirmed booking to another open slot of the same session type."""
    now = now or timezone.now()
    _check_may_change(actor, booking)
    if booking.status != Booking.Status.CONFIRMED:
        raise BookingError("not_reschedulable", "Only confirmed bookings can be moved.", status=409)
    _check_client_cutoff(booking, actor, now)
    session_type = booking.session_type
    start = start.astimezone(UTC)
    blocked = _blocked(session_type, start)
    old_start = booking.start
    for candidate in _check_offered(session_type, start, photographer_id, now, booking.pk):
        try:
            with transaction.atomic():
                if not _is_free(candidate, blocked, now, exclude_pk=booking.pk):
                    continue
                moved = Booking.objects.filter(
                    pk=booking.pk, status=Booking.Status.CONFIRMED
                ).update(
                    photographer_id=candidate,
                    start=start,
                    end=start + session_type.duration,
                    blocked_start=blocked[0],
                    blocked_end=blocked[1],
                    reminder_sent_at=None,
                    sequence=F("sequence") + 1,
                )
                if not moved:
                    raise BookingError(
                        "not_reschedulable", "This booking changed meanwhile.", status=409
                    )
                booking.refresh_from_db()
                _record(
                    booking,
                    actor,
                    "rescheduled",
                    old_start=old_start.isoformat(),
                    new_start=start.isoformat(),
                )
                _send_email_on_commit(booking, "rescheduled")
                return booking
        except (IntegrityError, OperationalError) as error:
            if not _lost_race(error):
                raise
    raise _slot_taken(session_type, start, photographer_id, now)


def booking_expire_holds(*, now: datetime | None = None) -> int:
    """Mark holds whose time ran out as expired; return how many."""
    now = now or timezone.now()
    return Booking.objects.filter(status=Booking.Status.HELD, hold_expires_at__lte=now).update(
        status=Booking.Status.EXPIRED
    )


def booking_complete_finished(*, now: datetime | None = None) -> int:
    """Mark confirmed sessions that have ended as completed, asking for any balance; return how
    many. Each is claimed by a conditional UPDATE, so two workers never ask twice."""
    now = now or timezone.now()
    finished = Booking.objects.filter(status=Booking.Status.CONFIRMED, end__lte=now)
    completed = 0
    for booking in finished:
        with transaction.atomic():
            if not Booking.objects.filter(pk=booking.pk, status=Booking.Status.CONFIRMED).update(
                status=Booking.Status.COMPLETED
            ):
                continue
            completed += 1
            if balance_due_minor(booking=booking):
                _send_email_on_commit(booking, "balance_due")
    return completed


def booking_claim_due_reminders(*, now: datetime | None = None) -> list[int]:
    """Claim confirmed bookings starting within a day that have had no reminder; return their ids.

    Each claim is a conditional UPDATE, so two workers running this at once never remind twice.
    """
    now = now or timezone.now()
    due = Booking.objects.filter(
        status=Booking.Status.CONFIRMED,
        reminder_sent_at__isnull=True,
        start__gt=now,
        start__lte=now + timedelta(days=1),
    ).values_list("pk", flat=True)
    claimed = []
    for pk in due:
        claim = Booking.objects.filter(
            pk=pk, status=Booking.Status.CONFIRMED, reminder_sent_at__isnull=True
        )
        if claim.update(reminder_sent_at=now):
            claimed.append(pk)
    return claimed


# --- Payments -------------------------------------------------------------------------------


def payment_start(
    *, booking: Booking, actor: User, location_address: str = "", notes: str = ""
) -> Payment:
    """Save the client's details and open the deposit payment; asking again returns the same one.

    The booking stays held: only the provider's report that the money arrived confirms it.
    """
    _check_is_client(actor, booking, "pays for")
    if not booking_takes_payment(booking=booking, kind=Payment.Kind.DEPOSIT):
        raise BookingError("not_payable", "This booking is not waiting for a payment.", status=409)
    if not booking.deposit_minor:
        raise BookingError("no_deposit", "This session needs no deposit: confirm it instead.")
    _check_details(booking.session_type, location_address)
    Booking.objects.filter(pk=booking.pk).update(
        location_address=location_address.strip(), notes=notes.strip()
    )
    return _payment_open(booking, actor, Payment.Kind.DEPOSIT, booking.deposit_minor)


def balance_payment_start(*, booking: Booking, actor: User) -> Payment:
    """Open the payment of what is left of the price; asking again returns the same one."""
    _check_is_client(actor, booking, "pays for")
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
    _check_is_client(actor, booking, "buys extras for")
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
            _record(booking, actor, "payment_started", payment=payment.pk, of=kind)
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
        refund = _refund_record(payment, amount_minor, reason.strip(), key=idempotency_key)
        _record(booking, actor, "refunded", amount=amount_minor, reason=reason.strip())
    return refund


def payment_event_record(*, event: dict) -> PaymentEvent | None:
    """Record a provider event once by its id; return None for a duplicate delivery."""
    from .tasks import payment_event_process_task

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
    _record(booking, None, "payment_succeeded", payment=payment.pk, amount=payment.amount_minor)
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
    if not _is_free(booking.photographer_id, blocked, now, exclude_pk=booking.pk):
        return False
    try:
        with transaction.atomic():
            Booking.objects.filter(pk=booking.pk).update(
                status=Booking.Status.CONFIRMED, confirmed_at=now, hold_expires_at=None
            )
    except (IntegrityError, OperationalError) as error:
        if _lost_race(error):
            return False
        raise
    _record(booking, None, "confirmed", by="payment")
    _send_email_on_commit(booking, "confirmation")
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
    _record(booking, None, "cancelled", by="payment", reason=reason)


def _refund_late_payment(payment: Payment, now: datetime) -> None:
    """The money came after someone else took the time: give all of it back, and say so."""
    _cancel_for_payment(
        payment.booking, now, "The payment arrived after the time was booked by someone else."
    )
    _refund_rest(payment, "late payment")
    _send_email_on_commit(payment.booking, "late_payment_refunded")


def _refund_rest(payment: Payment, reason: str) -> None:
    amount = payment.amount_minor - payment.refunded_minor
    if amount <= 0:
        return  # already given back at the provider (reported before the payment itself)
    _refund_record(payment, amount, reason)
    _record(payment.booking, None, "refunded", amount=amount, reason=reason)


def _refund_record(payment: Payment, amount_minor: int, reason: str, key: str = "") -> Refund:
    """Write the refund down, then (on commit) send it to the provider under its idempotency key."""
    from .tasks import refund_send_task

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
    from .tasks import receipt_email_task

    transaction.on_commit(lambda: receipt_email_task.delay(kind, pk))


def _charge_refunded(intent_id: str, amount_refunded: int, now: datetime) -> None:
    """A refund made at the provider (possibly reported before the payment itself)."""
    payment = _locked_payment(intent_id)
    if payment is None or amount_refunded <= payment.refunded_minor:
        return
    payment.refunded_minor = min(amount_refunded, payment.amount_minor)
    payment.save(update_fields=["refunded_minor"])
    _record(payment.booking, None, "refunded", amount=payment.refunded_minor, by="provider")
    if _deposit_refunded(payment):
        _cancel_for_payment(payment.booking, now, "The payment was refunded.")


def _deposit_refunded(payment: Payment) -> bool:
    """A deposit given back in full undoes the booking; a refunded balance or extras do not."""
    return payment.kind == Payment.Kind.DEPOSIT and payment.refunded_minor >= payment.amount_minor
