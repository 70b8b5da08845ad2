"""No double booking, ever: many clients race for one photographer's time at the same instant.

Each request runs the whole Django stack in its own thread with its own database connection.
The suite runs on SQLite by default and on PostgreSQL when DATABASE_URL points there (.ci/run
does both), so the same scenarios prove the exclusion constraint and SQLite's serialized writes.
"""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client

from booking import services
from booking.models import Booking
from tests.factories import UserFactory

RACERS = 50
ROUNDS = 5


def race(requests: list[tuple[Client, str, dict]]) -> list[int]:
    """POST all requests at once, one thread and database connection each; return the statuses."""
    barrier = threading.Barrier(len(requests))
    statuses = [0] * len(requests)

    def run(index, client, url, body):
        try:
            barrier.wait()
            statuses[index] = client.post(url, body, content_type="application/json").status_code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(i, *request)) for i, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.fixture
def racers(transactional_db) -> list[Client]:
    """One logged-in client per racer; `client.user` is who it is logged in as."""
    clients = []
    for _ in range(RACERS):
        client = Client(raise_request_exception=False)
        client.user = UserFactory()
        client.force_login(client.user)
        clients.append(client)
    return clients


def assert_no_overlaps(photographer) -> None:
    live = list(
        Booking.objects.filter(photographer=photographer, status__in=Booking.ACTIVE_STATUSES)
        .order_by("blocked_start")
        .values_list("blocked_start", "blocked_end")
    )
    for (_, end), (next_start, _) in zip(live, live[1:], strict=False):
        assert end <= next_start, "two live bookings of one photographer overlap"


def hold_requests(racers, session_type, photographer, starts):
    return [
        (
            client,
            "/api/bookings/",
            {
                "session_type": session_type.pk,
                "photographer": photographer.pk,
                "start": starts[i % len(starts)].isoformat(),
            },
        )
        for i, client in enumerate(racers)
    ]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_fifty_clients_one_slot_exactly_one_wins(racers, session_type, photographer, at, round_):
    start = at(10, days=round_)

    statuses = race(hold_requests(racers, session_type, photographer, [start]))

    assert Counter(statuses) == {201: 1, 409: RACERS - 1}
    assert Booking.objects.filter(start=start, status="held").count() == 1
    assert_no_overlaps(photographer)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_fifty_clients_overlapping_shifted_slots_exactly_one_wins(
    racers, session_type, photographer, at, round_
):
    # 60-minute sessions starting 10:00, 10:30 and 11:00 with 15-minute buffers all overlap.
    session_type.buffer_before_minutes = session_type.buffer_after_minutes = 15
    session_type.save()
    starts = [at(10, days=round_) + timedelta(minutes=30 * i) for i in range(3)]

    statuses = race(hold_requests(racers, session_type, photographer, starts))

    assert Counter(statuses) == {201: 1, 409: RACERS - 1}
    assert Booking.objects.filter(status="held").count() == 1
    assert_no_overlaps(photographer)


def test_buffers_alone_make_slots_collide(racers, session_type, photographer, at):
    # 10:00–11:00 and 11:30–12:30 do not overlap, but 30-minute buffers on both sides do.
    session_type.buffer_before_minutes = session_type.buffer_after_minutes = 30
    session_type.save()

    statuses = race(hold_requests(racers, session_type, photographer, [at(10), at(11, 30)]))

    assert Counter(statuses) == {201: 1, 409: RACERS - 1}
    assert_no_overlaps(photographer)


def test_reschedules_and_new_holds_racing_for_one_slot(racers, session_type, photographer, at):
    movers = []
    for day, client in enumerate(racers[:10], start=1):
        booking = services.booking_hold(
            client=client.user, session_type=session_type, start=at(9, days=day)
        )
        services.booking_confirm(booking=booking, actor=client.user)
        url = f"/api/bookings/{booking.pk}/reschedule/"
        movers.append((client, url, {"start": at(15).isoformat()}))
    requests = movers + hold_requests(racers[10:], session_type, photographer, [at(15)])

    statuses = race(requests)

    winners = statuses.count(200) + statuses.count(201)  # a move, or a new hold
    assert (winners, statuses.count(409)) == (1, RACERS - 1)
    assert Booking.objects.filter(start=at(15), status__in=Booking.ACTIVE_STATUSES).count() == 1
    assert_no_overlaps(photographer)


def test_the_database_itself_refuses_overlapping_bookings(
    session_type, photographer, client_user, at
):
    """Bypass every Python check: on PostgreSQL the exclusion constraint still says no."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no exclusion constraints; its writes are serialized instead")

    def insert(start, status="confirmed"):
        Booking.objects.create(
            session_type=session_type,
            photographer=photographer,
            client=client_user,
            status=status,
            start=start,
            end=start + timedelta(hours=1),
            blocked_start=start,
            blocked_end=start + timedelta(hours=1),
            price_minor=0,
            deposit_minor=0,
            currency="EUR",
        )

    insert(at(10))
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(at(10, 30), status="held")
    insert(at(10, 30), status="cancelled")  # only held and confirmed bookings count
    insert(at(11))  # touching is not overlapping
