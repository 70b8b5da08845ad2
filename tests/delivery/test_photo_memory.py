"""Memory per photo: what checking an upload and making its sizes cost one process at most.

Each is measured in a fresh child process, as its peak resident memory (ru_maxrss) above what
the child held before the work began, against the bound the README states.
"""

import io
import subprocess
import sys
import threading
import zlib

import pytest
from django.conf import settings
from django.db import connection

from delivery import images, services
from delivery.models import Photo
from tests.delivery import corpus
from tests.delivery.conftest import add_photo

# README, Security limits: memory per photo ≈ 8 bytes × pixels + 100 MB (the smaller sizes).
BYTES_PER_PIXEL = 8
FIXED_BYTES = 100_000_000
# A 24-megapixel camera's size: large enough that what is per pixel outweighs what is not.
WIDTH, HEIGHT = 6000, 4000
LIMITS = {"max_bytes": 10**9, "max_pixels": 10**8, "max_strips": 32_768, "max_frames": 64}

CHILD = """
import resource, sys
from delivery import images

job, path = sys.argv[1], sys.argv[2]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open(path, "rb") as file:
    if job == "inspect":
        size = file.seek(0, 2)
        images.inspect(
            file, size=size, max_bytes=size, max_pixels=10**8, max_strips=32_768, max_frames=64
        )
    else:
        made = images.renditions(file, "png", max_pixels=10**8, watermark_text="PROOF")
        assert set(made) == {"thumb", "web", "proof", "full"}
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)  # KiB on Linux
"""


def peak_bytes(job: str, path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, job, str(path)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@pytest.fixture(scope="module", params=[False, True], ids=["rgb", "rgba"])
def large_png(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("photos") / "large.png"
    path.write_bytes(corpus.large_png(WIDTH, HEIGHT, alpha=request.param))
    return path


def test_making_the_sizes_of_a_large_png_stays_within_the_stated_memory(large_png):
    # Before: 14 (RGB) and 17 (RGBA) bytes a pixel, one full-size copy after another.
    peak = peak_bytes("renditions", large_png)

    assert peak <= BYTES_PER_PIXEL * WIDTH * HEIGHT + FIXED_BYTES, f"{peak / 1e6:.0f} MB"


def test_checking_a_large_png_at_upload_never_holds_its_pixels(large_png):
    # Every byte of its image data is inflated and checked, a megabyte at a time (before: all
    # of its pixels decoded at once, 4 bytes each).
    peak = peak_bytes("inspect", large_png)

    assert peak <= 0.5 * WIDTH * HEIGHT, f"{peak / 1e6:.0f} MB"


@pytest.mark.django_db(transaction=True)  # real commits, one connection per uploading thread
def test_a_process_checks_one_upload_at_a_time_and_each_gets_its_own_answer(
    gallery, photographer, settings, monkeypatch
):
    settings.DELIVERY_UPLOAD_CHECKS_PER_PROCESS = 1
    checking, most, lock = 0, 0, threading.Lock()
    real_inspect = images.inspect

    def inspect_counted(*args, **kwargs):  # the real check, counted while it runs
        nonlocal checking, most
        with lock:
            checking += 1
            most = max(most, checking)
        try:
            return real_inspect(*args, **kwargs)
        finally:
            with lock:
                checking -= 1

    monkeypatch.setattr(images, "inspect", inspect_counted)
    files = {f"large-{n}.png": corpus.large_png(2000, 1500, seed=n) for n in range(3)}
    files["cut.png"] = files["large-0.png"][:-100_000]
    start, answers = threading.Barrier(len(files)), {}

    def upload_one(name: str) -> None:
        start.wait()
        try:
            add_photo(gallery, photographer, files[name], name)
            answers[name] = "stored"
        except services.PhotoRejected as error:
            answers[name] = error.code
        finally:
            connection.close()

    threads = [threading.Thread(target=upload_one, args=(name,)) for name in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert most == 1
    assert answers == {"large-0.png": "stored", "large-1.png": "stored", "large-2.png": "stored",
                       "cut.png": "truncated"}  # fmt: skip
    stored = sorted(Photo.objects.values_list("original_name", flat=True))
    assert stored == ["large-0.png", "large-1.png", "large-2.png"]  # nothing for the cut one


def _with_image_data(png: bytes, replace) -> bytes:
    """`png` with its image data (all IDAT chunks) replaced by `replace(inflated)`, recompressed
    into one IDAT chunk with a right CRC: damage only decoding finds."""
    chunks, at = [], 8
    while at < len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        chunks.append((png[at + 4 : at + 8], png[at + 8 : at + 8 + length]))
        at += 12 + length
    data = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    idat = corpus._png_chunk(b"IDAT", zlib.compress(replace(data)))
    first = [kind for kind, _ in chunks].index(b"IDAT")
    kept = [corpus._png_chunk(kind, body) for kind, body in chunks if kind != b"IDAT"]
    return png[:8] + b"".join(kept[:first]) + idat + b"".join(kept[first:])


def _bad_filter(data: bytes) -> bytes:
    row = 1 + 640 * 3
    return data[: 5 * row] + b"\x09" + data[5 * row + 1 :]  # filter types go up to 4


@pytest.mark.parametrize(
    "damage, code",
    [
        (lambda png: _with_image_data(png, _bad_filter), "corrupt"),
        (lambda png: _with_image_data(png, lambda data: data[:-5000]), "truncated"),
        (lambda png: png[:5000] + bytes([png[5000] ^ 0xFF]) + png[5001:], "corrupt"),  # CRC
    ],
    ids=["unknown-row-filter", "image-data-short", "flipped-byte"],
)
def test_a_png_damaged_inside_its_image_data_is_refused_at_upload(damage, code):
    png = corpus.png(640, 480)
    assert images.inspect(io.BytesIO(png), size=len(png), **LIMITS).width == 640
    damaged = damage(png)

    with pytest.raises(images.ImageRejected) as refused:
        images.inspect(io.BytesIO(damaged), size=len(damaged), **LIMITS)

    assert refused.value.code == code
