"""Writes for bookings: hold, confirm, cancel, reschedule, and the periodic housekeeping.

Every change of a booking's status, and every move, is atomic, safe to repeat, and writes its
audit event in the same transaction (a reminder's claim only marks it as sent).
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from studio.audit import audit_record
from studio.models import AuditEvent, User
from studio.selectors import works_for
from studio.throttles import Limit, address_key, throttle_take

from ..models import Booking, Payment, SessionType
from ..selectors import (
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
    expire_holds,
    free_after_expiring_holds,
    lost_race,
    record_email,
    send_email_on_commit,
    slot_taken,
)
from .payments import refund_record, unpaid_payments_close_on_commit


def _check_offered(
    session_type: SessionType,
    start: datetime,
    photographer_id: int | None,
    now: datetime,
    exclude_booking_pk: int | None = None,
) -> list[int]:
    """Return the photographers free at `start`, or raise why the studio does not offer it."""
    if start <= now:
        raise BookingError("slot_in_past")
    if start < now + timedelta(minutes=session_type.min_notice_minutes):
        hours = session_type.min_notice_minutes / 60
        raise BookingError("too_short_notice", hours=f"{hours:g}")
    if start > now + timedelta(days=session_type.max_advance_days):
        raise BookingError("too_far_ahead", days=session_type.max_advance_days)
    window = {
        "session_type": session_type,
        "range_start": start,
        "range_end": start + timedelta(seconds=1),
        "photographer_id": photographer_id,
        "now": now,
        "exclude_booking_pk": exclude_booking_pk,
    }
    if not slot_list(**window, ignore_bookings=True):
        raise BookingError("slot_not_offered")
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
    ip: str | None,
) -> Booking | None:
    """Insert a hold for one photographer; return None when that photographer is taken."""
    studio = session_type.studio
    blocked = blocked_time(session_type, start)
    try:
        with transaction.atomic():
            if not free_after_expiring_holds(photographer_id, blocked, now):
                return None
            # A client finishes one booking at a time, so nobody can hold the whole calendar.
            expire_holds(
                Booking.objects.filter(client=client),
                actor=client,
                reason="the client held another time",
            )
            # Counted in the hold's transaction: only holds that went through count.
            throttle_take(limits=_hold_limits(client, ip), code="too_many_holds", now=now)
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
            audit_record(
                kind=AuditEvent.Kind.BOOKING_HELD,
                actor=client,
                studio_id=studio.pk,
                booking_id=booking.pk,
                start=start.isoformat(),
            )
            return booking
    except (IntegrityError, OperationalError) as error:
        if lost_race(error):
            return None
        raise


def _hold_limits(client: User, ip: str | None) -> list[Limit]:
    """Holds per account, and per address (one person with many accounts)."""
    window = settings.BOOKING_HOLD_WINDOW_SECONDS
    limits = [Limit(f"hold:account:{client.pk}", settings.BOOKING_HOLDS_PER_ACCOUNT, window)]
    if ip:
        limits.append(Limit(f"hold:ip:{address_key(ip)}", settings.BOOKING_HOLDS_PER_IP, window))
    return limits


def booking_hold(
    *,
    client: User,
    session_type: SessionType,
    start: datetime,
    photographer_id: int | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> Booking:
    """Reserve a slot for `client` for the studio's hold time while they finish booking; `ip`,
    the client's address, is throttled along with the account."""
    now = now or timezone.now()
    if not session_type.is_active:
        raise BookingError("session_type_unavailable")
    start = start.astimezone(UTC)
    for candidate in _check_offered(session_type, start, photographer_id, now):
        booking = _insert_hold(
            client=client,
            session_type=session_type,
            start=start,
            photographer_id=candidate,
            now=now,
            ip=ip,
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
    check_is_client(actor, booking)
    now = now or timezone.now()
    session_type = booking.session_type
    if booking.status == Booking.Status.CONFIRMED:
        return booking
    if booking.status != Booking.Status.HELD:
        raise BookingError("not_confirmable", state=booking.get_status_display().lower())
    check_details(session_type, location_address)
    if booking.deposit_minor:
        raise BookingError("payment_required")
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
            audit_record(
                kind=AuditEvent.Kind.BOOKING_CONFIRMED,
                actor=actor,
                studio_id=session_type.studio_id,
                booking_id=booking.pk,
            )
            send_email_on_commit(booking, "confirmation")
    if booking.status != Booking.Status.CONFIRMED:
        # Searched after the transaction: on SQLite it would hold the write lock meanwhile.
        raise BookingError(
            "hold_expired",
            alternatives=slots_near(session_type=session_type, around=booking.start, now=now),
        )
    return booking


def _check_may_change(actor: User, booking: Booking) -> None:
    """The client or the studio's staff change a booking; photographers ask the staff."""
    if booking.client_id != actor.pk and not works_for(
        actor, booking.session_type.studio_id, staff_only=True
    ):
        raise BookingError("studio_staff_only")


def _check_client_cutoff(booking: Booking, actor: User, now: datetime) -> None:
    if booking.status != Booking.Status.CONFIRMED or works_for(
        actor, booking.session_type.studio_id, staff_only=True
    ):
        return
    if now >= cancellation_cutoff(booking):
        raise BookingError("cutoff_passed", hours=booking.studio.cancellation_cutoff_hours)


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
        raise BookingError("not_cancellable", state=booking.get_status_display().lower())
    by = "studio" if works_for(actor, booking.session_type.studio_id, staff_only=True) else "client"
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
            raise BookingError("not_cancellable", state=booking.get_status_display().lower())
        audit_record(
            kind=AuditEvent.Kind.BOOKING_CANCELLED,
            actor=actor,
            studio_id=booking.session_type.studio_id,
            booking_id=booking.pk,
            by=by,
            reason=reason.strip(),
        )
        refunds = cancellation_refunds(
            booking=booking, payments=payments, by_studio=by == "studio", now=now
        )
        for payment, amount in refunds:
            refund_record(payment, amount, f"cancelled by the {by}", actor=actor)
        unpaid_payments_close_on_commit(payments)
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
        raise BookingError("not_reschedulable")
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
                    raise BookingError("not_reschedulable")
                booking.refresh_from_db()
                audit_record(
                    kind=AuditEvent.Kind.BOOKING_RESCHEDULED,
                    actor=actor,
                    studio_id=session_type.studio_id,
                    booking_id=booking.pk,
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
    with transaction.atomic():
        return expire_holds(
            Booking.objects.filter(hold_expires_at__lte=now),
            actor=None,
            reason="its time ran out",
        )


def booking_complete_finished(*, now: datetime | None = None) -> int:
    """Mark confirmed sessions that have ended as completed, asking for any balance; return how
    many. Each is claimed by a conditional UPDATE, so two workers never ask twice."""
    now = now or timezone.now()
    finished = Booking.objects.filter(status=Booking.Status.CONFIRMED, end__lte=now)
    completed = 0
    for booking in finished.select_related("session_type"):
        with transaction.atomic():
            if not Booking.objects.filter(pk=booking.pk, status=Booking.Status.CONFIRMED).update(
                status=Booking.Status.COMPLETED
            ):
                continue
            completed += 1
            about = {"studio_id": booking.session_type.studio_id, "booking_id": booking.pk}
            audit_record(kind=AuditEvent.Kind.BOOKING_COMPLETED, actor=None, **about)
            if due := balance_due_minor(booking=booking):
                audit_record(
                    kind=AuditEvent.Kind.BALANCE_REQUESTED,
                    actor=None,
                    **about,
                    amount_minor=due,
                    currency=booking.currency,
                )
                send_email_on_commit(booking, "balance_due")
    return completed


def booking_claim_due_reminders(*, now: datetime | None = None) -> list[int]:
    """Claim confirmed bookings starting within a day that have had no reminder, and promise each
    its reminder e-mail in the claim's transaction; return the e-mails' ids, for the caller to
    queue once committed.

    Each claim is a conditional UPDATE, so two workers running this at once never remind twice.
    """
    now = now or timezone.now()
    due = Booking.objects.filter(
        status=Booking.Status.CONFIRMED,
        reminder_sent_at__isnull=True,
        start__gt=now,
        start__lte=now + timedelta(days=1),
    ).select_related("client")
    emails = []
    for booking in due:
        with transaction.atomic():
            claim = Booking.objects.filter(
                pk=booking.pk,
                status=Booking.Status.CONFIRMED,
                reminder_sent_at__isnull=True,
                sequence=booking.sequence,  # not moved meanwhile: its reminder is for this time
            )
            if claim.update(reminder_sent_at=now) and (email := record_email(booking, "reminder")):
                emails.append(email.pk)
    return emails
