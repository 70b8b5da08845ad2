"""Style profile speed: applying a profile to a 24 MP photo ÷ Pillow's Color3DLUT alone on it.

Run from the repository root:  .venv/bin/python bench/style_speed.py
Needs the `ai` and `test` extras. The profile is learned (quickly) from crops of scikit-image's
photos; the 24 MP photo is the astronaut scaled to 6000 × 4000. The baseline applies one fixed
33³ LUT with Pillow's `Color3DLUT` to the same photo: the ratio is what the CNN (in ONNX Runtime,
on CUDA when present), the thumbnail and the blend add. The torch path (trilinear look-up in
torch) is timed beside it.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402
from skimage import data  # noqa: E402

from ai_assist.style import LUT_SIZE, blended_lut, style_apply, style_learn  # noqa: E402


def best_of(runs, work):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    rng = np.random.default_rng(0)
    source = data.astronaut()
    pairs = []
    for _ in range(12):
        y, x = rng.integers(0, 200, 2)
        before = Image.fromarray(source[y : y + 300, x : x + 300])
        after = Image.fromarray((np.asarray(before) ** 0.9 * 255**0.1).astype(np.uint8))
        pairs.append((before, after))
    profile = style_learn(pairs, steps=100, long_edge=128)
    photo = Image.fromarray(source).resize((6000, 4000), Image.Resampling.BICUBIC)
    fixed = ImageFilter.Color3DLUT(LUT_SIZE, blended_lut(profile, [1, 0, 0]).clip(0, 1).ravel())

    style_apply(profile, photo)  # the session loads once per process, not per photo
    baseline = best_of(3, lambda: photo.filter(fixed))
    onnx = best_of(3, lambda: style_apply(profile, photo))
    torch = best_of(1, lambda: style_apply(profile, photo, engine="torch"))
    print(f"24 MP: Pillow Color3DLUT {baseline:.3f} s")
    print(f"  style_apply (ONNX Runtime + Color3DLUT) {onnx:.3f} s  ratio {onnx / baseline:.2f}")
    print(f"  style_apply (torch)                     {torch:.3f} s  ratio {torch / baseline:.2f}")


if __name__ == "__main__":
    main()
