"""Open slots: working hours minus bookings and buffers, notice, exceptions, DST, other zones."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.models import AvailabilityException, Booking
from booking.selectors import slot_list
from tests.factories import PhotographerFactory, SessionTypeFactory, StudioFactory, working_week

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# A Monday well inside winter time; `now` is passed explicitly so the tests never age.
MONDAY = date(2027, 1, 11)
NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)


def local_starts(slots, zone=BERLIN) -> list[str]:
    return [s.start.astimezone(zone).strftime("%H:%M") for s in slots]


def day_slots(session_type, day, zone=BERLIN, now=NOW, **kwargs):
    start = datetime.combine(day, time.min, zone)
    return slot_list(
        session_type=session_type,
        range_start=start,
        range_end=start + timedelta(days=1),
        now=now,
        **kwargs,
    )


def book(session_type, photographer, client, start, status=Booking.Status.CONFIRMED, **fields):
    return Booking.objects.create(
        session_type=session_type,
        photographer=photographer,
        client=client,
        status=status,
        start=start,
        end=start + session_type.duration,
        blocked_start=start - session_type.buffer_before,
        blocked_end=start + session_type.duration + session_type.buffer_after,
        price_minor=session_type.price_minor,
        deposit_minor=0,
        currency="EUR",
        **fields,
    )


def test_working_hours_give_slots_at_each_step(photographer, session_type):
    slots = day_slots(session_type, MONDAY)

    # 60-minute sessions every 30 minutes, the last one ending at 17:00.
    assert local_starts(slots) == [f"{h:02d}:{m:02d}" for h in range(9, 17) for m in (0, 30)][:-1]
    assert all(s.photographer_ids == (photographer.pk,) for s in slots)
    assert all(s.end - s.start == timedelta(hours=1) for s in slots)


def test_bookings_and_both_buffers_block_time(photographer, session_type, client_user):
    session_type.buffer_before_minutes = session_type.buffer_after_minutes = 15
    session_type.save()
    book(session_type, photographer, client_user, datetime.combine(MONDAY, time(10), BERLIN))

    starts = local_starts(day_slots(session_type, MONDAY))

    # The booking blocks 09:45–11:15; a new session blocks 15 minutes either side of itself.
    assert "09:00" not in starts and "10:30" not in starts and "11:00" not in starts
    assert starts[0] == "11:30"


def test_expired_holds_and_cancelled_bookings_free_their_time(
    photographer, session_type, client_user
):
    ten = datetime.combine(MONDAY, time(10), BERLIN)
    book(
        session_type,
        photographer,
        client_user,
        ten,
        status=Booking.Status.HELD,
        hold_expires_at=NOW - timedelta(minutes=1),
    )
    book(
        session_type,
        photographer,
        client_user,
        ten + timedelta(hours=2),
        status=Booking.Status.CANCELLED,
    )
    live_hold = book(
        session_type,
        photographer,
        client_user,
        ten + timedelta(hours=4),
        status=Booking.Status.HELD,
        hold_expires_at=NOW + timedelta(minutes=5),
    )

    starts = local_starts(day_slots(session_type, MONDAY))

    assert "10:00" in starts and "12:00" in starts
    assert live_hold.start.astimezone(BERLIN).strftime("%H:%M") not in starts


def test_minimum_notice_hides_slots_too_soon(photographer, session_type):
    session_type.min_notice_minutes = 60
    session_type.save()
    now = datetime.combine(MONDAY, time(12, 10), BERLIN)

    assert local_starts(day_slots(session_type, MONDAY, now=now))[0] == "13:30"


def test_booking_horizon_hides_slots_too_far_ahead(photographer, session_type):
    session_type.max_advance_days = 3

    assert day_slots(session_type, NOW.date() + timedelta(days=2))
    assert not day_slots(session_type, NOW.date() + timedelta(days=5))


def test_time_off_removes_whole_days_or_hours(photographer, session_type):
    AvailabilityException.objects.create(photographer=photographer, date=MONDAY, kind="time_off")
    tuesday = MONDAY + timedelta(days=1)
    AvailabilityException.objects.create(
        photographer=photographer,
        date=tuesday,
        kind="time_off",
        start_time=time(12),
        end_time=time(14),
    )

    assert day_slots(session_type, MONDAY) == []
    starts = local_starts(day_slots(session_type, tuesday))
    assert starts == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "14:00",
        "14:30",
        "15:00",
        "15:30",
        "16:00",
    ]


def test_extra_hours_open_a_day_off(studio, session_type):
    photographer = PhotographerFactory(studio=studio)
    working_week(photographer, weekdays=range(5))
    sunday = MONDAY - timedelta(days=1)
    AvailabilityException.objects.create(
        photographer=photographer,
        date=sunday,
        kind="extra_hours",
        start_time=time(10),
        end_time=time(12),
    )

    assert local_starts(day_slots(session_type, sunday)) == ["10:00", "10:30", "11:00"]
    assert day_slots(session_type, sunday + timedelta(days=6)) == []  # the next Saturday


def test_slots_list_every_free_photographer(studio, session_type, client_user):
    ana, ben = PhotographerFactory(studio=studio), PhotographerFactory(studio=studio)
    working_week(ana)
    working_week(ben, start=time(13), end=time(17))
    book(session_type, ana, client_user, datetime.combine(MONDAY, time(14), BERLIN))

    by_start = {
        s.start.astimezone(BERLIN).strftime("%H:%M"): s.photographer_ids
        for s in day_slots(session_type, MONDAY)
    }

    assert by_start["10:00"] == (ana.pk,)
    assert by_start["14:00"] == (ben.pk,)
    assert by_start["15:00"] == (ana.pk, ben.pk)
    assert day_slots(session_type, MONDAY, photographer_id=ben.pk)[0].photographer_ids == (ben.pk,)


@pytest.mark.parametrize(
    "zone_name, day_before, change_day, offsets",
    [
        # Spring forward: 09:00 local moves one hour earlier in UTC.
        ("Europe/Berlin", date(2027, 3, 27), date(2027, 3, 28), (8, 7)),
        ("America/New_York", date(2027, 3, 13), date(2027, 3, 14), (14, 13)),
        # Fall back: 09:00 local moves one hour later in UTC.
        ("Europe/Berlin", date(2027, 10, 30), date(2027, 10, 31), (7, 8)),
        ("America/New_York", date(2027, 11, 6), date(2027, 11, 7), (13, 14)),
    ],
)
def test_hours_stay_wall_clock_across_dst(db, zone_name, day_before, change_day, offsets):
    zone = ZoneInfo(zone_name)
    session_type = SessionTypeFactory(studio=StudioFactory(time_zone=zone_name))
    working_week(PhotographerFactory(studio=session_type.studio))
    now = datetime(2027, 1, 1, tzinfo=UTC)

    before = day_slots(session_type, day_before, zone=zone, now=now)
    after = day_slots(session_type, change_day, zone=zone, now=now)

    assert local_starts(before, zone)[0] == local_starts(after, zone)[0] == "09:00"
    assert local_starts(before, zone)[-1] == local_starts(after, zone)[-1] == "16:00"
    assert (before[0].start.hour, after[0].start.hour) == offsets  # in UTC
    assert len(before) == len(after) == 15


def test_hours_spanning_the_spring_forward_jump_are_shorter(studio, session_type):
    photographer = PhotographerFactory(studio=studio)
    change_day = date(2027, 3, 28)
    AvailabilityException.objects.create(
        photographer=photographer,
        date=change_day,
        kind="extra_hours",
        start_time=time(1),
        end_time=time(4),
    )
    now = datetime(2027, 1, 1, tzinfo=UTC)

    slots = day_slots(session_type, change_day, now=now)

    # 01:00–04:00 on the night 02:00 does not exist is two real hours: 01:00, 01:30, 03:00.
    assert local_starts(slots) == ["01:00", "01:30", "03:00"]
    assert slots[-1].end.astimezone(BERLIN).strftime("%H:%M") == "04:00"


@pytest.mark.parametrize(
    "week_start, new_york_start",
    [
        (date(2027, 3, 15), "04:00"),  # the US changed, Europe not yet: 5 hours apart
        (date(2027, 4, 5), "03:00"),  # both on summer time: 6 hours apart
    ],
)
def test_client_in_another_zone_sees_the_same_slots_in_their_time(
    photographer, session_type, week_start, new_york_start
):
    now = datetime(2027, 1, 1, tzinfo=UTC)

    slots = day_slots(session_type, week_start, zone=NEW_YORK, now=now)

    assert local_starts(slots, NEW_YORK)[0] == new_york_start
    assert local_starts(slots, BERLIN)[0] == "09:00"
    # A New York day can end after midnight in Berlin: the range is the client's day.
    assert all(s.start.astimezone(NEW_YORK).date() == week_start for s in slots)


def test_extra_hours_beside_weekly_hours_keep_the_start_times_on_the_grid(
    photographer, session_type
):
    AvailabilityException.objects.create(
        photographer=photographer,
        date=MONDAY,
        kind="extra_hours",
        start_time=time(8, 15),
        end_time=time(9),
    )

    starts = local_starts(day_slots(session_type, MONDAY))

    assert starts[:3] == ["08:30", "09:00", "09:30"]


def test_extra_hours_need_both_times(photographer):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        AvailabilityException.objects.create(
            photographer=photographer, date=MONDAY, kind="extra_hours"
        )
