"""Benchmark the streamed gallery ZIP: memory stays flat however big the download.

Run from the repository root:  .venv/bin/python bench/zip.py [--gigabytes 2] [--verify]

It writes photos (3000×2000 noise JPEGs at quality 98, about 9 MB each: full-size deliveries) to a
temporary folder until they add up to --gigabytes, records each file's size and CRC-32 (as the
upload and rendition code does), then in a *fresh child process*, one after the other on the
same files (already in the page cache, so both read at memory speed):
1. plain reading: every file in 256 KB chunks, MB/s (the baseline);
2. the ZIP: `delivery.downloads.zip_stream()` over Django's FileSystemStorage, every byte taken
   and thrown away as a client's socket would, MB/s;
and prints their ratio and the child's peak resident memory (ru_maxrss, Django loaded), which
must stay under 150 MB. --verify writes the ZIP to disk instead and checks every CRC with zipfile.
"""

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHUNK = 256 * 1024
LIMIT_MB = 150


def make_photo(seed: int) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(2000, 3000, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=98)
    return out.getvalue()


def make_files(folder: Path, total_bytes: int) -> list[dict]:
    """Write distinct photo files adding up to `total_bytes`; return their sizes and CRCs."""
    sources = [make_photo(seed) for seed in range(3)]
    files, written, index = [], 0, 0
    while written < total_bytes:
        data = sources[index % len(sources)]
        name = f"photo-{index:04d}.jpg"
        (folder / name).write_bytes(data)
        files.append({"name": name, "size": len(data), "crc32": zlib.crc32(data)})
        written += len(data)
        index += 1
    return files


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def child(folder: Path, files: list[dict], verify: bool) -> dict:
    """Runs in a fresh process: measure reading, then the ZIP, of the same files."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    import django

    django.setup()
    from django.core.files.storage import FileSystemStorage
    from django.utils import timezone

    from delivery.downloads import Member, zip_stream

    storage = FileSystemStorage(location=folder)
    total = sum(f["size"] for f in files)
    rss_before = peak_rss_mb()

    start = time.perf_counter()
    for f in files:
        with storage.open(f["name"], "rb") as handle:
            while handle.read(CHUNK):
                pass
    read_s = time.perf_counter() - start

    members = [Member(f["name"], f["name"], f["size"], f["crc32"], timezone.now()) for f in files]
    out = open(folder / "download.zip", "wb") if verify else None  # noqa: SIM115
    zipped = 0
    start = time.perf_counter()
    for chunk in zip_stream(members, storage=storage):
        zipped += len(chunk)
        if out:
            out.write(chunk)
    zip_s = time.perf_counter() - start
    if out:
        out.close()
    return {
        "files": len(files),
        "bytes": total,
        "zip_bytes": zipped,
        "read_mb_s": total / read_s / 1e6,
        "zip_mb_s": total / zip_s / 1e6,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--verify", action="store_true", help="write the ZIP and check its CRCs")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        job = json.loads(Path(args.child).read_text())
        print(json.dumps(child(Path(job["folder"]), job["files"], job["verify"])))
        return

    folder = Path(tempfile.mkdtemp(prefix="bench-zip-"))
    try:
        files = make_files(folder, int(args.gigabytes * 1024**3))
        job = folder / "job.json"
        job.write_text(json.dumps({"folder": str(folder), "files": files, "verify": args.verify}))
        run = subprocess.run(
            [sys.executable, __file__, "--child", str(job)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        result = json.loads(run.stdout.strip().splitlines()[-1])
        if args.verify:
            import zipfile

            with zipfile.ZipFile(folder / "download.zip") as archive:
                assert archive.testzip() is None, "a member's CRC does not match"
                assert len(archive.namelist()) == len(files)
            result["verified"] = True
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    gigabytes = result["bytes"] / 1e9
    print(f"{result['files']} photos, {gigabytes:.2f} GB -> ZIP {result['zip_bytes'] / 1e9:.2f} GB")
    print(f"plain reading:  {result['read_mb_s']:8.0f} MB/s")
    print(f"streamed ZIP:   {result['zip_mb_s']:8.0f} MB/s")
    print(f"ZIP / reading:  {result['zip_mb_s'] / result['read_mb_s']:8.2f}")
    print(
        f"peak RSS: {result['peak_rss_mb']:.0f} MB "
        f"(Django loaded, before streaming: {result['rss_before_mb']:.0f} MB; limit {LIMIT_MB} MB)"
    )
    if result.get("verified"):
        print("ZIP verified: every member's CRC-32 matches")
    if result["peak_rss_mb"] >= LIMIT_MB:
        sys.exit(f"FAIL: peak RSS {result['peak_rss_mb']:.0f} MB is over {LIMIT_MB} MB")


if __name__ == "__main__":
    main()
