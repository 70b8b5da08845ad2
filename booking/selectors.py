"""Reads for booking: open slots, and the bookings each kind of user may see."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from studio.models import Studio, User
from studio.selectors import employer_of

from .models import AvailabilityException, Booking, Payment, Refund, SessionType, WeeklyHours

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Slot:
    """An open start time for a session type, and the photographers free then."""

    start: datetime
    end: datetime
    photographer_ids: tuple[int, ...]


def session_type_list(*, studio: Studio | None = None) -> QuerySet[SessionType]:
    qs = SessionType.objects.filter(is_active=True).select_related("studio")
    return qs.filter(studio=studio) if studio else qs


def session_type_get(*, pk: int) -> SessionType | None:
    return session_type_list().filter(pk=pk).first()


def photographer_list(*, studio: Studio) -> QuerySet[User]:
    return User.objects.filter(studio=studio, role=User.Role.PHOTOGRAPHER, is_active=True).order_by(
        "pk"
    )


def active_bookings_q(*, now: datetime) -> Q:
    """Bookings that occupy their photographer's time: confirmed, or held and not yet expired."""
    return Q(status=Booking.Status.CONFIRMED) | Q(
        status=Booking.Status.HELD, hold_expires_at__gt=now
    )


def overlapping_bookings(
    *, photographer_id: int, blocked: Interval, now: datetime, exclude_pk: int | None = None
) -> QuerySet[Booking]:
    qs = Booking.objects.filter(
        active_bookings_q(now=now),
        photographer_id=photographer_id,
        blocked_start__lt=blocked[1],
        blocked_end__gt=blocked[0],
    )
    return qs.exclude(pk=exclude_pk) if exclude_pk else qs


def _subtract(
    intervals: list[tuple[time, time]], cut: tuple[time, time]
) -> list[tuple[time, time]]:
    result = []
    for start, end in intervals:
        if cut[1] <= start or cut[0] >= end:
            result.append((start, end))
            continue
        if start < cut[0]:
            result.append((start, cut[0]))
        if cut[1] < end:
            result.append((cut[1], end))
    return result


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def working_intervals(
    *,
    weekly: list[WeeklyHours],
    exceptions: list[AvailabilityException],
    days: Iterable[date],
    zone: ZoneInfo,
) -> list[Interval]:
    """Return one photographer's working time on the given studio-local days, as aware datetimes.

    Hours are wall-clock times in the studio's zone, so 09:00–17:00 stays 09:00–17:00 local on
    both sides of a daylight-saving change (and is 7 or 8 hours long on the change day when the
    hours span the jump).
    """
    by_weekday = defaultdict(list)
    for hours in weekly:
        by_weekday[hours.weekday].append((hours.start_time, hours.end_time))
    by_date = defaultdict(list)
    for exception in exceptions:
        by_date[exception.date].append(exception)

    result = []
    for day in days:
        local = list(by_weekday[day.weekday()])
        local += [
            (e.start_time, e.end_time)
            for e in by_date[day]
            if e.kind == AvailabilityException.Kind.EXTRA_HOURS
        ]
        for e in by_date[day]:
            if e.kind == AvailabilityException.Kind.TIME_OFF:
                local = _subtract(local, (e.start_time or time.min, e.end_time or time.max))
        # In UTC from here on: adding a timedelta to a zoned datetime adds wall-clock time.
        result += [
            (
                datetime.combine(day, start, zone).astimezone(UTC),
                datetime.combine(day, end, zone).astimezone(UTC),
            )
            for start, end in local
        ]
    return _merge(result)


def _first_on_grid(moment: datetime, step_minutes: int, zone: ZoneInfo) -> datetime:
    """Return the first start at or after `moment` on the step grid of its local day.

    Starts line up with studio-local midnight (every 30 minutes: :00 and :30), so extra hours
    beside the weekly ones never shift the day's start times.
    """
    local = moment.astimezone(zone)
    seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    late = seconds % (step_minutes * 60)
    return moment + timedelta(seconds=step_minutes * 60 - late) if late else moment


def _overlaps_any(blocked: Interval, busy: list[Interval]) -> bool:
    return any(start < blocked[1] and blocked[0] < end for start, end in busy)


def slot_list(
    *,
    session_type: SessionType,
    range_start: datetime,
    range_end: datetime,
    photographer_id: int | None = None,
    now: datetime | None = None,
    ignore_bookings: bool = False,
    exclude_booking_pk: int | None = None,
) -> list[Slot]:
    """Return the open slots for `session_type` that start in [range_start, range_end).

    Open = working hours (weekly hours plus extra hours, minus time off) minus held and confirmed
    bookings widened by both sides' buffers, no earlier than the minimum notice and no later
    than the session type's booking horizon. With `ignore_bookings`, the slots the studio offers
    at all. `exclude_booking_pk` leaves one booking out (the one being rescheduled).
    """
    now = now or timezone.now()
    studio = session_type.studio
    zone = studio.zone
    earliest = max(range_start, now + timedelta(minutes=session_type.min_notice_minutes))
    latest = min(range_end, now + timedelta(days=session_type.max_advance_days))
    if earliest >= latest:
        return []

    photographers = photographer_list(studio=studio)
    if photographer_id is not None:
        photographers = photographers.filter(pk=photographer_id)
    photographer_ids = list(photographers.values_list("pk", flat=True))
    # Studio-local days that can hold a start in range, one day of slack for zone offsets.
    first_day = earliest.astimezone(zone).date() - timedelta(days=1)
    days = [
        first_day + timedelta(days=i)
        for i in range((latest.astimezone(zone).date() - first_day).days + 1)
    ]

    weekly = defaultdict(list)
    for hours in WeeklyHours.objects.filter(photographer_id__in=photographer_ids):
        weekly[hours.photographer_id].append(hours)
    exceptions = defaultdict(list)
    for exception in AvailabilityException.objects.filter(
        photographer_id__in=photographer_ids, date__gte=days[0], date__lte=days[-1]
    ):
        exceptions[exception.photographer_id].append(exception)
    busy = defaultdict(list)
    if not ignore_bookings:
        before, after = session_type.buffer_before, session_type.buffer_after
        bookings = Booking.objects.filter(
            active_bookings_q(now=now),
            photographer_id__in=photographer_ids,
            blocked_start__lt=latest + session_type.duration + after,
            blocked_end__gt=earliest - before,
        ).exclude(pk=exclude_booking_pk)
        for pid, start, end in bookings.values_list(
            "photographer_id", "blocked_start", "blocked_end"
        ):
            busy[pid].append((start, end))

    step, duration = timedelta(minutes=session_type.slot_step_minutes), session_type.duration
    before, after = session_type.buffer_before, session_type.buffer_after
    free_at = defaultdict(list)
    for pid in photographer_ids:
        for open_start, open_end in working_intervals(
            weekly=weekly[pid], exceptions=exceptions[pid], days=days, zone=zone
        ):
            start = _first_on_grid(open_start, session_type.slot_step_minutes, zone)
            while start + duration <= open_end:
                if earliest <= start < latest and not _overlaps_any(
                    (start - before, start + duration + after), busy[pid]
                ):
                    free_at[start].append(pid)
                start += step
    return [
        Slot(start=start, end=start + duration, photographer_ids=tuple(pids))
        for start, pids in sorted(free_at.items())
    ]


def slots_near(
    *,
    session_type: SessionType,
    around: datetime,
    photographer_id: int | None = None,
    limit: int = 6,
    now: datetime | None = None,
) -> list[Slot]:
    """Return up to `limit` open slots closest to `around` (offered after a lost race)."""
    slots = slot_list(
        session_type=session_type,
        range_start=around - timedelta(days=2),
        range_end=around + timedelta(days=14),
        photographer_id=photographer_id,
        now=now,
    )
    nearest = sorted(slots, key=lambda slot: abs(slot.start - around))[:limit]
    return sorted(nearest, key=lambda slot: slot.start)


def bookings_for_client(*, client: User, now: datetime | None = None) -> QuerySet[Booking]:
    """Return the client's bookings, newest first, leaving out holds that ran out."""
    ran_out = Q(status=Booking.Status.EXPIRED) | Q(
        status=Booking.Status.HELD, hold_expires_at__lte=now or timezone.now()
    )
    return (
        Booking.objects.filter(client=client)
        .exclude(ran_out)
        .select_related("session_type__studio", "photographer")
        .order_by("-start")
    )


def booking_visible_to(*, user: User) -> QuerySet[Booking]:
    """Bookings `user` may open: their own, or every booking of the studio they work for."""
    qs = Booking.objects.select_related("session_type__studio", "photographer", "client")
    if studio_id := employer_of(user):
        return qs.filter(Q(client=user) | Q(session_type__studio_id=studio_id))
    return qs.filter(client=user)


def booking_get_for(*, user: User, pk: int) -> Booking | None:
    """Return the booking if `user` may see it; anyone else's booking is simply not found."""
    return booking_visible_to(user=user).filter(pk=pk).first()


def schedule_for_day(*, user: User, day: date, now: datetime | None = None) -> QuerySet[Booking]:
    """Return a studio-local day's live and completed bookings of the studio `user` works for;
    a photographer sees only theirs."""
    zone = user.studio.zone
    start = datetime.combine(day, time.min, zone)
    end = datetime.combine(day + timedelta(days=1), time.min, zone)
    qs = (
        Booking.objects.filter(
            active_bookings_q(now=now or timezone.now()) | Q(status=Booking.Status.COMPLETED),
            session_type__studio_id=employer_of(user),
            start__gte=start,
            start__lt=end,
        )
        .select_related("session_type__studio", "photographer", "client")
        .order_by("start", "photographer_id")
    )
    return qs if employer_of(user, staff_only=True) else qs.filter(photographer=user)


def payment_get_for_client(*, client: User, pk: int) -> Payment | None:
    return (
        Payment.objects.select_related("booking__session_type__studio")
        .filter(pk=pk, booking__client=client)
        .first()
    )


def live_payment(*, booking: Booking, kind: str = Payment.Kind.DEPOSIT) -> Payment | None:
    """The booking's payment of `kind` that is pending or paid, if any."""
    return booking.payments.filter(
        kind=kind, status__in=[Payment.Status.PENDING, Payment.Status.SUCCEEDED]
    ).first()


# Which booking states still take each kind of payment; a cancelled booking takes none.
PAYABLE_STATUSES = {
    Payment.Kind.DEPOSIT: {Booking.Status.HELD},
    Payment.Kind.BALANCE: {Booking.Status.CONFIRMED, Booking.Status.COMPLETED},
    Payment.Kind.EXTRAS: {Booking.Status.CONFIRMED, Booking.Status.COMPLETED},
}


def booking_takes_payment(*, booking: Booking, kind: str) -> bool:
    return booking.status in PAYABLE_STATUSES[kind]


def payment_no_longer_due(*, payment: Payment) -> bool:
    """A payment closed at the provider, or a pending one its booking no longer takes
    (cancelled, hold expired, paid in full): the pay page must not offer it."""
    if payment.status != Payment.Status.PENDING:
        return payment.status == Payment.Status.CANCELLED
    booking = payment.booking
    if not booking_takes_payment(booking=booking, kind=payment.kind):
        return True
    return payment.kind == Payment.Kind.BALANCE and not balance_due_minor(booking=booking)


def balance_due_minor(*, booking: Booking) -> int:
    """What is left of the price after the payments that went through (refunds are goodwill)."""
    paid = booking.payments.filter(
        status=Payment.Status.SUCCEEDED, kind__in=[Payment.Kind.DEPOSIT, Payment.Kind.BALANCE]
    )
    return max(0, booking.price_minor - sum(p.amount_minor for p in paid))


def cancellation_cutoff(booking: Booking) -> datetime:
    return booking.start - timedelta(hours=booking.studio.cancellation_cutoff_hours)


def cancellation_refunds(
    *, booking: Booking, payments: Iterable[Payment], by_studio: bool, now: datetime
) -> list[tuple[Payment, int]]:
    """The studio's policy: everything back before the cutoff or when the studio cancels;
    a client cancelling later keeps nothing of the deposit."""
    keep_deposit = not by_studio and now >= cancellation_cutoff(booking)
    refunds = []
    for payment in payments:
        left = payment.amount_minor - payment.refunded_minor
        if payment.status != Payment.Status.SUCCEEDED or left <= 0:
            continue
        if not (keep_deposit and payment.kind == Payment.Kind.DEPOSIT):
            refunds.append((payment, left))
    return refunds


def cancellation_refund_minor(*, booking: Booking, by_studio: bool, now: datetime) -> int:
    """How much cancelling now gives back, to show before the client decides."""
    refunds = cancellation_refunds(
        booking=booking, payments=booking.payments.all(), by_studio=by_studio, now=now
    )
    return sum(amount for _, amount in refunds)


def payment_history(*, booking: Booking) -> QuerySet[Payment]:
    return booking.payments.prefetch_related("refunds")


def payment_visible_to(*, user: User) -> QuerySet[Payment]:
    """Payments of the bookings `user` may open."""
    return Payment.objects.select_related(
        "booking__session_type__studio", "booking__client"
    ).filter(booking__in=booking_visible_to(user=user))


def payment_get_for(*, user: User, pk: int) -> Payment | None:
    return payment_visible_to(user=user).filter(pk=pk).first()


def refund_get_for(*, user: User, pk: int) -> Refund | None:
    return (
        Refund.objects.select_related(
            "payment__booking__session_type__studio", "payment__booking__client"
        )
        .filter(pk=pk, payment__in=payment_visible_to(user=user))
        .first()
    )


@dataclass(frozen=True)
class Receipt:
    """What a client is told about money that moved: one per payment and per refund."""

    number: str
    title: str
    amount_minor: int
    currency: str
    at: datetime
    booking: Booking
    provider: str
    provider_id: str
    test_mode: bool
    url: str
    reason: str = ""


def receipt_of_payment(payment: Payment) -> Receipt | None:
    """The payment's receipt, once it has gone through."""
    if payment.status != Payment.Status.SUCCEEDED:
        return None
    return Receipt(
        number=f"P-{payment.pk:06d}",
        title=f"{payment.get_kind_display()} received",
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        at=payment.succeeded_at,
        booking=payment.booking,
        provider=payment.get_provider_display(),
        provider_id=payment.intent_id,
        test_mode=payment.provider == Payment.Provider.TEST_MODE,
        url=reverse("payment_receipt", args=[payment.pk]),
    )


def receipt_of_refund(refund: Refund) -> Receipt | None:
    """The refund's receipt, unless the provider refused it."""
    if refund.status == Refund.Status.FAILED:
        return None
    payment = refund.payment
    return Receipt(
        number=f"R-{refund.pk:06d}",
        title="Refund",
        amount_minor=refund.amount_minor,
        currency=payment.currency,
        at=refund.created_at,
        booking=payment.booking,
        provider=payment.get_provider_display(),
        provider_id=refund.provider_refund_id,
        test_mode=payment.provider == Payment.Provider.TEST_MODE,
        url=reverse("refund_receipt", args=[refund.pk]),
        reason=refund.reason,
    )
