"""Benchmark: does the site stay responsive while it checks large uploads?

Run from the repository root:  .venv/bin/python bench/uploads.py [--megapixels 64] [--uploads 4]

For each server configuration, one after the other, on a fresh SQLite database and media folder
in a temporary directory (with a broker that nothing consumes, so that renditions leave the web
process as they do in production, for a separate Celery worker):
1. plain GETs of the login page, one after the other, for a few seconds: the idle baseline;
2. the same GETs while --uploads photographers each upload one large PNG at once (distinct files
   of --megapixels each, about 1.5 bytes a pixel on the wire), until every upload is answered.
Printed: upload times, GET p50/p95/max during the uploads, and max ÷ idle p95, for
a. `sync`: 4 sync workers (the deployment that answered a GET in 10.8–15.9 s under 4 uploads);
b. `gthread`: 4 workers with the production settings of studio/gunicorn_conf.py.
"""

import argparse
import base64
import http.client
import importlib.util
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORKERS = 4
PASSWORD = "a-long-test-password-1"
SETUP = """
import django
django.setup()
from delivery import services
from tests import factories
photographers = [factories.PhotographerFactory() for _ in range({uploads})]
galleries = []
for photographer in photographers:
    booking = factories.BookingFactory(
        photographer=photographer,
        session_type=factories.SessionTypeFactory(studio=photographer.studio),
    )
    gallery, _ = services.gallery_create(booking=booking, actor=photographer)
    galleries.append(f"{{photographer.get_username()}}:{{gallery.pk}}")
print(" ".join(galleries))
"""
CONFIGURATIONS = {
    "sync": ["--worker-class", "sync"],
    "gthread": ["-c", "python:studio.gunicorn_conf"],
}


def server_env(folder: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(
        VAR_DIR=str(folder / "var"),
        MEDIA_ROOT=str(folder / "media"),
        FILE_UPLOAD_TEMP_DIR=str(folder),
        # Tasks are published to an in-process broker nobody reads: renditions are not made here.
        CELERY_BROKER_URL="memory://localhost/",
        DJANGO_SETTINGS_MODULE="studio.settings",
        PYTHONWARNINGS="ignore",
    )
    return env


def prepare(folder: Path, uploads: int) -> list[tuple[str, int]]:
    """Migrate a fresh database; return (username, gallery id) for each uploading photographer."""
    env = server_env(folder)
    run = dict(cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], **run)
    out = subprocess.run([sys.executable, "-c", SETUP.format(uploads=uploads)], **run).stdout
    return [(pair.split(":")[0], int(pair.split(":")[1])) for pair in out.split()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(folder: Path, port: int, options: list[str], log) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "gunicorn", "studio.wsgi:application",
        *options, "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
        "--graceful-timeout", "5", "--timeout", "120", "--no-control-socket",
    ]  # fmt: skip
    server = subprocess.Popen(
        command, cwd=ROOT, env=server_env(folder), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {server.returncode}")
        try:
            if get(port) is not None:
                return server
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def get(port: int, path: str = "/login/") -> float:
    """Seconds one GET took, connection included; raise unless it answered 200."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}")
    finally:
        connection.close()
    return time.perf_counter() - started


def upload(port: int, username: str, gallery: int, name: str, data: bytes) -> tuple[int, float]:
    """POST one file to the gallery's upload API; return its status and seconds."""
    boundary = "bench-upload-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = head + data + f"\r\n--{boundary}--\r\n".encode()
    auth = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        connection.request(
            "POST",
            f"/api/galleries/{gallery}/photos/",
            body=body,
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Authorization": f"Basic {auth}",
            },
        )
        response = connection.getresponse()
        body = response.read()
        if response.status != 201:
            print(f"upload answered {response.status}: {body[:300]!r}")
        return response.status, time.perf_counter() - started
    finally:
        connection.close()


def distinct(png: bytes, index: int) -> bytes:
    """The same pixels with a text chunk of its own: a different file, as far as sha256 goes."""
    text = b"Comment\x00upload " + str(index).encode()
    chunk = struct.pack(">I", len(text)) + b"tEXt" + text + zlib.crc32(b"tEXt" + text).to_bytes(4)
    return png[:33] + chunk + png[33:]  # after the signature and IHDR


def get_while(port: int, busy: threading.Event) -> list[float]:
    times = []
    while busy.is_set():
        times.append(get(port))
        time.sleep(0.02)
    return times


def measure(port: int, accounts: list[tuple[str, int]], photo: bytes) -> dict:
    for _ in range(5 * WORKERS):  # each worker's first request loads the site's code
        get(port)
    idle = [get(port) for _ in range(40)]
    busy, results = threading.Event(), []
    busy.set()
    getter = threading.Thread(target=lambda: results.append(get_while(port, busy)))
    getter.start()
    time.sleep(0.3)
    uploads = []
    threads = [
        threading.Thread(
            target=lambda i=i, account=account: uploads.append(
                upload(port, *account, f"large-{i}.png", distinct(photo, i))
            )
        )
        for i, account in enumerate(accounts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    busy.clear()
    getter.join()
    during = results[0]
    return {"idle": idle, "during": during, "uploads": uploads}


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megapixels", type=int, default=64)
    parser.add_argument("--uploads", type=int, default=4)
    args = parser.parse_args()
    if importlib.util.find_spec("gunicorn") is None:
        sys.exit('gunicorn is not installed: .venv/bin/pip install -e ".[prod]"')
    from tests.delivery import corpus

    side = int((args.megapixels * 1_000_000) ** 0.5)
    photo = corpus.large_png(side, side)
    print(
        f"{args.uploads} uploads at once, each a {side}×{side} PNG ({len(photo) / 1e6:.0f} MB); "
        f"{WORKERS} gunicorn workers, {os.cpu_count()} CPUs"
    )
    for name, options in CONFIGURATIONS.items():
        with tempfile.TemporaryDirectory() as folder, open(Path(folder) / "log", "wb+") as log:
            accounts, port = prepare(Path(folder), args.uploads), free_port()
            server = start_server(Path(folder), port, options, log)
            try:
                found = measure(port, accounts, photo)
            finally:
                stop_server(server)
                log.seek(0)
                errors = [line for line in log.read().decode().splitlines() if "ERROR" in line]
                print(*errors[:5], sep="\n")
        report(name, found)


def report(name: str, found: dict) -> None:
    idle, during = found["idle"], found["during"]
    statuses = sorted(status for status, _ in found["uploads"])
    seconds = sorted(seconds for _, seconds in found["uploads"])
    print(
        f"{name:8} uploads {statuses} in {seconds[0]:.1f}–{seconds[-1]:.1f} s; "
        f"GET idle p95 {percentile(idle, 0.95) * 1000:.0f} ms; during ({len(during)} GETs) "
        f"p50 {statistics.median(during) * 1000:.0f} ms, p95 {percentile(during, 0.95) * 1000:.0f}"
        f" ms, max {max(during) * 1000:.0f} ms = {max(during) / percentile(idle, 0.95):.0f}× "
        "idle p95"
    )


if __name__ == "__main__":
    main()
