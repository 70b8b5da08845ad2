"""Benchmark booking on PostgreSQL: slot listing latency and concurrent booking throughput.

Run from the repository root:  .venv/bin/python bench/booking.py

It drops and recreates the database named by DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/studio_bench; the name must contain "bench"), migrates it and
seeds one studio, with DEBUG off and Celery tasks (the e-mails) run eagerly. Then it prints:

1. Slot listing: p50/p99 ms of GET /api/session-types/<id>/slots/ for one photographer over
   30 days holding 3 confirmed bookings per working day, the p50 of GET /api/session-types/ as
   the baseline, and their ratio.
2. Booking: 20 threads, each a logged-in client on its own connection, hold and confirm distinct
   slots, and race 4 at a time for 10 more: bookings/s, p50/p99 ms of the hold and of
   hold+confirm, each status code's count, and ratios against one thread booking alone.
   Any 5xx, or a confirmed count the database disagrees with, exits non-zero.

Requests go through the whole Django stack with django.test.Client inside this one process, so
the threads share one GIL: this measures one Python process, not a deployment of several.
"""

import os
import random
import statistics
import sys
import threading
import time
import warnings
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# As a script, bench/ comes first on sys.path and this file would shadow the `booking` app.
sys.path[0] = str(Path(__file__).resolve().parent.parent)
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/studio_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
# Like production, DEBUG off (no query log); the test client speaks plain HTTP.
for name, value in (("DEBUG", "0"), ("SECRET_KEY", "bench-only"), ("SECURE_SSL_REDIRECT", "0")):
    os.environ.setdefault(name, value)
os.environ.pop("CELERY_BROKER_URL", None)  # no broker: e-mail tasks run eagerly

import django  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

django.setup()

import logging  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from booking.models import Booking, SessionType, WeeklyHours  # noqa: E402
from booking.services import booking_confirm, booking_hold  # noqa: E402
from studio.models import Studio, User  # noqa: E402

ZONE_NAME = "Europe/Berlin"
DAYS = 30
LIST_REPEATS, WARM_UP = 200, 20
THREADS, PER_THREAD, SERIAL = 20, 20, 60  # bookings per thread; the 1-thread baseline's count
RACED, RACERS = 10, 4  # slots that several threads try to book, and how many threads each
DAY_STARTS = [clock(9), clock(10, 30), clock(12), clock(13, 30), clock(15), clock(16, 30)]


def recreate_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"Refusing to drop database {name!r}: its name must contain 'bench'.")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    call_command("migrate", verbosity=0)


def tomorrow(studio: Studio) -> date:
    return datetime.now(studio.zone).date() + timedelta(days=1)


def working_days(first: date, count: int) -> list[date]:
    """Return the Monday-to-Friday dates among the `count` days from `first`."""
    days = [first + timedelta(days=i) for i in range(count)]
    return [day for day in days if day.weekday() < 5]


def seed():
    studio = Studio.objects.create(name="Bench", slug="bench", time_zone=ZONE_NAME, hold_minutes=10)
    session_type = SessionType.objects.create(
        studio=studio,
        name="Portrait",
        slug="portrait",
        duration_minutes=60,
        price_minor=15000,
        buffer_before_minutes=15,
        buffer_after_minutes=15,
        min_notice_minutes=60,
        max_advance_days=90,
        slot_step_minutes=30,
    )
    role = User.Role.PHOTOGRAPHER
    photographers = [
        User.objects.create_user(f"photographer{i}@bench.example", role=role, studio=studio)
        for i in range(5)
    ]
    WeeklyHours.objects.bulk_create(
        WeeklyHours(photographer=p, weekday=day, start_time=clock(9), end_time=clock(18))
        for p in photographers
        for day in range(5)
    )
    clients = [User.objects.create_user(f"client{i}@bench.example") for i in range(THREADS + 1)]
    return studio, session_type, photographers, clients


def ms_stats(seconds: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


def timed_gets(client: Client, url: str) -> list[float]:
    for _ in range(WARM_UP):
        assert client.get(url).status_code == 200, url
    times = []
    for _ in range(LIST_REPEATS):
        began = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - began)
        assert response.status_code == 200, url
    return times


def bench_slot_listing(studio, session_type, photographer, user) -> None:
    first, kind, pid = tomorrow(studio), session_type, photographer.pk
    for day in working_days(first, DAYS):
        for hour in (9, 12, 15):
            start = datetime.combine(day, clock(hour), studio.zone)
            hold = booking_hold(client=user, session_type=kind, start=start, photographer_id=pid)
            booking_confirm(booking=hold, actor=user)
    client = Client()
    url = (
        f"/api/session-types/{session_type.pk}/slots/?date={first}&days={DAYS}"
        f"&photographer={photographer.pk}&tz={ZONE_NAME}"
    )
    slots = len(client.get(url).json()["slots"])
    slot_p50, slot_p99 = ms_stats(timed_gets(client, url))
    base_p50, _ = ms_stats(timed_gets(client, "/api/session-types/"))
    print(
        f"Slot listing, 1 photographer x {DAYS} days, {Booking.objects.count()} confirmed "
        f"bookings, {slots} open slots ({LIST_REPEATS} requests):"
    )
    print(f"  slots         p50 {slot_p50:7.2f} ms   p99 {slot_p99:7.2f} ms")
    print(f"  baseline p50 {base_p50:7.2f} ms (GET /api/session-types/)")
    print(f"  ratio        {slot_p50 / base_p50:7.1f}x baseline p50")


def booking_plans(studio, photographers) -> tuple[list[tuple[int, str]], list[list]]:
    """Return a serial baseline's slots, and each thread's own slots plus some raced ones."""
    free = [
        (p.pk, datetime.combine(day, start, studio.zone).isoformat())
        for day in working_days(tomorrow(studio), 80)
        for start in DAY_STARTS
        for p in photographers
    ]
    random.Random(1).shuffle(free)
    baseline, raced, free = free[:SERIAL], free[SERIAL : SERIAL + RACED], free[SERIAL + RACED :]
    plans = [free[i * PER_THREAD : (i + 1) * PER_THREAD] for i in range(THREADS)]
    for j, slot in enumerate(raced):
        for k in range(RACERS):
            plans[(j * RACERS + k) % THREADS].append(slot)
    for i, plan in enumerate(plans):
        random.Random(i).shuffle(plan)
    return baseline, plans


def book_all(user, kind_id, plan, barrier, result) -> None:
    """Hold and confirm each (photographer id, start) of `plan` as `user`, on its own connection."""
    try:
        client = Client(raise_request_exception=False)  # a crash is a 500 to count, not raised
        client.force_login(user)
        barrier.wait()
        for pid, start in plan:
            body = {"session_type": kind_id, "start": start, "photographer": pid}
            began = time.perf_counter()
            hold = client.post("/api/bookings/", body, content_type="application/json")
            result["hold"].append(time.perf_counter() - began)
            result["codes"].append(hold.status_code)
            if hold.status_code == 201:
                confirm = client.post(f"/api/bookings/{hold.json()['id']}/confirm/")
                result["both"].append(time.perf_counter() - began)
                result["codes"].append(confirm.status_code)
    finally:
        connection.close()


def run_clients(users, session_type_id, plans) -> tuple[float, dict]:
    """Run one thread per plan, started together; return the seconds taken and merged results."""
    barrier = threading.Barrier(len(plans) + 1)
    results = [{"hold": [], "both": [], "codes": []} for _ in plans]
    threads = [
        threading.Thread(target=book_all, args=(user, session_type_id, plan, barrier, result))
        for user, plan, result in zip(users, plans, results, strict=True)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, {k: sum((r[k] for r in results), []) for k in results[0]}


def bench_throughput(studio, session_type, photographers, clients) -> bool:
    baseline, plans = booking_plans(studio, photographers)
    serial_s, serial = run_clients(clients[:1], session_type.pk, [baseline])
    elapsed, merged = run_clients(clients[:THREADS], session_type.pk, plans)
    codes = merged["codes"]
    counts = {code: codes.count(code) for code in (201, 200, 409)}
    server_errors = sum(code >= 500 for code in codes + serial["codes"])
    serial_rate, rate = serial["codes"].count(200) / serial_s, counts[200] / elapsed
    serial_p50, _ = ms_stats(serial["both"])
    print(
        f"\nBooking, {THREADS} threads, {len(merged['hold'])} holds "
        f"({RACED} slots raced by {RACERS} threads each):"
    )
    print(f"  {rate:7.1f} bookings/s ({counts[200]} confirmed in {elapsed:.2f} s)")
    for key, label in (("hold", "hold"), ("both", "hold+confirm")):
        p50, p99 = ms_stats(merged[key])
        print(f"  {label:13} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
    print(
        f"  status codes: 201={counts[201]} 200={counts[200]} 409={counts[409]} "
        f"other={len(codes) - sum(counts.values())} (5xx in both runs: {server_errors})"
    )
    print(
        f"  baseline, 1 thread: {serial_rate:7.1f} bookings/s, hold+confirm p50 {serial_p50:.2f} ms"
    )
    print(
        f"  ratio: {rate / serial_rate:.2f}x baseline bookings/s, "
        f"{ms_stats(merged['both'])[0] / serial_p50:.1f}x baseline hold+confirm p50"
    )
    stored = Booking.objects.filter(status="confirmed", photographer__in=photographers).count()
    if stored != counts[200] + serial["codes"].count(200):
        print(f"  MISMATCH: {stored} confirmed bookings stored")
        return False
    return server_errors == 0


def main() -> int:
    began = time.perf_counter()
    for noisy in ("django.request", "celery", "kombu"):  # 409s and eager tasks log every request
        logging.getLogger(noisy).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", "No directory at", UserWarning)  # whitenoise, no STATIC_ROOT
    recreate_database(os.environ["DATABASE_URL"])
    studio, session_type, photographers, clients = seed()
    print(f"PostgreSQL {connection.pg_version}, DEBUG={settings.DEBUG}, {os.cpu_count()} CPUs\n")
    bench_slot_listing(studio, session_type, photographers[0], clients[-1])
    ok = bench_throughput(studio, session_type, photographers[1:], clients[:THREADS])
    connection.close()
    print(f"\nTotal run time {time.perf_counter() - began:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
