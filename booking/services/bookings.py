"""Writes for bookings: hold, confirm, cancel, reschedule, and the periodic housekeeping.

Every state change is atomic, safe to repeat, and leaves an audit event.
"""

from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from studio.models import User

from ..models import Booking, Payment, SessionType
from ..selectors import (
    acts_for_studio,
    balance_due_minor,
    cancellation_cutoff,
    cancellation_refunds,
    slot_list,
    slots_near,
)
from .common import (
    BookingError,
    blocked_time,
    check_details,
    check_is_client,
    free_after_expiring_holds,
    lost_race,
    record_event,
    send_email_on_commit,
    slot_taken,
)
from .payments import refund_record


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
        raise slot_taken(session_type, start, photographer_id, now)
    return list(open_slots[0].photographer_ids)


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
    blocked = blocked_time(session_type, start)
    try:
        with transaction.atomic():
            if not free_after_expiring_holds(photographer_id, blocked, now):
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
            record_event(booking, client, "held", start=start.isoformat())
            return booking
    except (IntegrityError, OperationalError) as error:
        if lost_race(error):
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
    raise slot_taken(session_type, start, photographer_id, now)


def booking_confirm(
    *,
    booking: Booking,
    actor: User,
    location_address: str = "",
    notes: str = "",
    now: datetime | None = None,
) -> Booking:
    """Confirm a held booking. Until payments exist, only session types without a deposit can."""
    check_is_client(actor, booking, "confirms")
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
    check_details(session_type, location_address)
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
            record_event(booking, actor, "confirmed")
            send_email_on_commit(booking, "confirmation")
    if booking.status != Booking.Status.CONFIRMED:
        # Searched after the transaction: on SQLite it would hold the write lock meanwhile.
        raise BookingError(
            "hold_expired",
            "Your hold on this time ran out. Please pick a time again.",
            status=409,
            alternatives=slots_near(session_type=session_type, around=booking.start, now=now),
        )
    return booking


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
        record_event(booking, actor, "cancelled", by=by, reason=reason.strip())
        refunds = cancellation_refunds(
            booking=booking, payments=payments, by_studio=by == "studio", now=now
        )
        for payment, amount in refunds:
            refund_record(payment, amount, f"cancelled by the {by}")
            record_event(booking, actor, "refunded", amount=amount, reason=f"cancelled by the {by}")
        if was_confirmed:
            send_email_on_commit(booking, "cancellation")
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
    blocked = blocked_time(session_type, start)
    old_start = booking.start
    for candidate in _check_offered(session_type, start, photographer_id, now, booking.pk):
        try:
            with transaction.atomic():
                if not free_after_expiring_holds(candidate, blocked, now, exclude_pk=booking.pk):
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
                record_event(
                    booking,
                    actor,
                    "rescheduled",
                    old_start=old_start.isoformat(),
                    new_start=start.isoformat(),
                )
                send_email_on_commit(booking, "rescheduled")
                return booking
        except (IntegrityError, OperationalError) as error:
            if not lost_race(error):
                raise
    raise slot_taken(session_type, start, photographer_id, now)


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
                send_email_on_commit(booking, "balance_due")
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
