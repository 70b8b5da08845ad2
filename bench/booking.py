"""Benchmark booking on PostgreSQL: slot listing latency and concurrent booking throughput.

Run from the repository root:  .venv/bin/python bench/booking.py
It needs gunicorn, from the `prod` extra:  .venv/bin/pip install -e ".[prod]"

It drops and recreates the database named by DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/studio_bench; the name must contain "bench"), migrates it and
seeds one studio, with DEBUG off and Celery tasks (the e-mails) run eagerly. Then it prints:

1. Slot listing: p50/p99 ms of GET /api/session-types/<id>/slots/ for one photographer over
   30 days holding 3 confirmed bookings per working day, the p50 of GET /api/session-types/ as
   the baseline, and their ratio. These go through django.test.Client in this process: one
   client at a time, so no GIL is shared, and the ratio is not diluted by HTTP overhead.
2. Booking, as deployed: a gunicorn server (WORKERS sync worker processes, a subprocess on a
   free port of 127.0.0.1, DEBUG off, e-mails rendered in the request by eager tasks into the
   locmem backend) on the same database. 20 client threads, each logged in with its own session
   cookie (made here with force_login, so the server never runs the password hasher), speak real
   HTTP to it: they hold and confirm distinct slots, and race 4 at a time for 10 more. It prints
   bookings/s, p50/p99 ms of the hold and of hold+confirm, each status code's count, and ratios
   against one thread booking alone over the same HTTP path. Any 5xx or dropped connection, a
   confirmed count the database disagrees with, or a slot confirmed twice exits non-zero. The
   server is stopped at the end, also on error; its log is printed when something went wrong.

The 20 client threads share this process's GIL, but they only wait on sockets: the server's
Python runs in the worker processes, so the throughput is bounded by the workers, PostgreSQL and
the machine's cores (the load average is printed, as other processes skew the figures).
"""

import http.client
import importlib.metadata
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# As a script, bench/ comes first on sys.path and this file would shadow the `booking` app.
ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)
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
from django.db.models import Count  # noqa: E402
from django.middleware.csrf import _get_new_csrf_string  # noqa: E402
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
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))  # gunicorn worker processes
SERVER_START_S = 60  # how long to wait for the server to answer
# DRF's SessionAuthentication checks CSRF on POST: the cookie's secret and the header must match
# (over plain HTTP there is no Referer check, and no Origin header is sent).
CSRF_TOKEN = _get_new_csrf_string()


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_version() -> tuple[int, ...]:
    try:
        version = importlib.metadata.version("gunicorn")
    except importlib.metadata.PackageNotFoundError:
        sys.exit('gunicorn is not installed: .venv/bin/pip install -e ".[prod]"')
    return tuple(int(part) for part in version.split(".")[:2] if part.isdigit())


def start_server(port: int, log) -> subprocess.Popen:
    """Start gunicorn on the bench database, configured as a plain-HTTP production deployment."""
    env = dict(os.environ)
    env.pop("CELERY_BROKER_URL", None)  # no broker: e-mail tasks run eagerly, in the request
    env.update(
        DATABASE_URL=os.environ["DATABASE_URL"],
        DJANGO_SETTINGS_MODULE="studio.settings",
        DEBUG="0",
        SECRET_KEY=settings.SECRET_KEY,  # the same key signs and checks the session cookies
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        PYTHONWARNINGS="ignore:No directory at",  # whitenoise, no STATIC_ROOT
    )
    command = [
        sys.executable, "-m", "gunicorn", "studio.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(WORKERS),
        "--worker-class", "sync",
        "--graceful-timeout", "5",
    ]  # fmt: skip
    if gunicorn_version() >= (25, 1):  # no control socket in ~/.gunicorn, shared by other runs
        command.append("--no-control-socket")
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_until_up(server: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {server.returncode}")
        api = Api(port, cookie=None, timeout=2)
        try:
            if api.request("GET", "/api/session-types/")[0] == 200:
                return
        except OSError:
            pass
        finally:
            api.connection.close()
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on port {port} within {SERVER_START_S} s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()  # gunicorn's graceful shutdown
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # its own process group: master and workers
            server.wait()


def print_server_log(log, lines: int = 40) -> None:
    """Print the server's log from its first error on (or its end), less per-request lines."""
    log.flush()
    log.seek(0)
    text = [
        line
        for line in log.read().decode(errors="replace").splitlines()
        if not line.startswith(("Task booking.tasks.", "Conflict: /api/"))  # eager e-mails, 409s
    ]
    errors = [i for i, line in enumerate(text) if "Traceback" in line or "[ERROR]" in line]
    shown = text[errors[0] : errors[0] + lines] if errors else text[-lines // 2 :]
    print("\n--- gunicorn log ---", *shown, "---", sep="\n")


def session_cookie(user) -> str:
    """A logged-in session for `user`, stored in the database, and a CSRF token, as a Cookie."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={CSRF_TOKEN}"


class Api:
    """One client's persistent HTTP connection to the server, sending its session cookie.

    gunicorn's sync workers close the connection after each response; http.client then opens a
    new one for the next request, as a browser behind a non-keep-alive server would.
    """

    def __init__(self, port: int, cookie: str | None, timeout: float = 60):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.headers = {"Accept": "application/json"}
        if cookie:
            self.headers.update({"Cookie": cookie, "X-CSRFToken": CSRF_TOKEN})

    def request(self, method: str, path: str, body=None) -> tuple[int, bytes]:
        headers = dict(self.headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.connection.request(method, path, payload, headers)
            response = self.connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise


def book_all(port, cookie, kind_id, plan, barrier, result) -> None:
    """Hold and confirm each (photographer id, start) of `plan` over HTTP with `cookie`."""
    api = Api(port, cookie)
    barrier.wait()
    for pid, start in plan:
        body = {"session_type": kind_id, "start": start, "photographer": pid}
        began = time.perf_counter()
        try:
            status, content = api.request("POST", "/api/bookings/", body)
            result["hold"].append(time.perf_counter() - began)
            result["codes"].append(status)
            if status == 201:
                booking_id = json.loads(content)["id"]
                status, _ = api.request("POST", f"/api/bookings/{booking_id}/confirm/", {})
                result["both"].append(time.perf_counter() - began)
                result["codes"].append(status)
        except (OSError, http.client.HTTPException):
            result["codes"].append(0)  # no answer: a crashed or killed worker
    api.connection.close()


def run_clients(port, cookies, session_type_id, plans) -> tuple[float, dict]:
    """Run one thread per plan, started together; return the seconds taken and merged results."""
    barrier = threading.Barrier(len(plans) + 1)
    results = [{"hold": [], "both": [], "codes": []} for _ in plans]
    threads = [
        threading.Thread(
            target=book_all, args=(port, cookie, session_type_id, plan, barrier, result)
        )
        for cookie, plan, result in zip(cookies, plans, results, strict=True)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, {k: sum((r[k] for r in results), []) for k in results[0]}


def warm_up(port, cookies) -> None:
    """Let every worker connect to the database and load the API before anything is timed."""

    def browse(cookie):
        api = Api(port, cookie)
        for _ in range(10):
            assert api.request("GET", "/api/bookings/")[0] == 200, "warm-up GET /api/bookings/"
        api.connection.close()

    threads = [threading.Thread(target=browse, args=(cookie,)) for cookie in cookies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def bench_throughput(studio, session_type, photographers, clients) -> bool:
    baseline, plans = booking_plans(studio, photographers)
    cookies = [session_cookie(user) for user in clients]
    port = free_port()
    with tempfile.TemporaryFile() as log:
        server, ok = start_server(port, log), False
        try:
            wait_until_up(server, port)
            warm_up(port, cookies)
            serial_s, serial = run_clients(port, cookies[:1], session_type.pk, [baseline])
            elapsed, merged = run_clients(port, cookies, session_type.pk, plans)
            ok = report_throughput(port, photographers, elapsed, merged, serial_s, serial)
        finally:
            stop_server(server)
            if not ok:
                print_server_log(log)
    return ok


def report_throughput(port, photographers, elapsed, merged, serial_s, serial) -> bool:
    codes = merged["codes"]
    counts = {code: codes.count(code) for code in (201, 200, 409)}
    failures = sum(code >= 500 or code == 0 for code in codes + serial["codes"])
    serial_rate, rate = serial["codes"].count(200) / serial_s, counts[200] / elapsed
    serial_p50, _ = ms_stats(serial["both"])
    print(
        f"\nBooking over HTTP: gunicorn, {WORKERS} sync workers on 127.0.0.1:{port}; "
        f"{THREADS} client threads, {len(merged['hold'])} holds "
        f"({RACED} slots raced by {RACERS} threads each):"
    )
    print(f"  {rate:7.1f} bookings/s ({counts[200]} confirmed in {elapsed:.2f} s)")
    for key, label in (("hold", "hold"), ("both", "hold+confirm")):
        p50, p99 = ms_stats(merged[key])
        print(f"  {label:13} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
    print(
        f"  status codes: 201={counts[201]} 200={counts[200]} 409={counts[409]} "
        f"other={len(codes) - sum(counts.values())} (5xx or no answer in both runs: {failures})"
    )
    print(
        f"  baseline, 1 thread: {serial_rate:7.1f} bookings/s, hold+confirm p50 {serial_p50:.2f} ms"
    )
    print(
        f"  ratio: {rate / serial_rate:.2f}x baseline bookings/s, "
        f"{ms_stats(merged['both'])[0] / serial_p50:.1f}x baseline hold+confirm p50"
    )
    confirmed = Booking.objects.filter(status="confirmed", photographer__in=photographers)
    stored = confirmed.count()
    ok = failures == 0
    if stored != counts[200] + serial["codes"].count(200):
        print(f"  MISMATCH: {stored} confirmed bookings stored")
        ok = False
    doubled = confirmed.values("photographer", "start").annotate(n=Count("pk")).filter(n__gt=1)
    if doubled.exists():
        print(f"  DOUBLE BOOKED: {doubled.count()} slots confirmed more than once")
        ok = False
    return ok


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> int:
    began = time.perf_counter()
    for noisy in ("django.request", "celery", "kombu"):  # 409s and eager tasks log every request
        logging.getLogger(noisy).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", "No directory at", UserWarning)  # whitenoise, no STATIC_ROOT
    recreate_database(os.environ["DATABASE_URL"])
    studio, session_type, photographers, clients = seed()
    print(
        f"PostgreSQL {connection.pg_version}, DEBUG={settings.DEBUG}, {os.cpu_count()} CPUs, "
        f"load average {load_average()}\n"
    )
    bench_slot_listing(studio, session_type, photographers[0], clients[-1])
    ok = bench_throughput(studio, session_type, photographers[1:], clients[:THREADS])
    connection.close()
    print(f"\nTotal run time {time.perf_counter() - began:.1f} s, load average {load_average()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
