"""Style profile quality: how close a learned profile comes to a studio's own edits.

Run from the repository root:  .venv/bin/python bench/style_quality.py [--quick]
Needs the `ai` and `test` extras (torch, onnxruntime, scikit-image for its photos).

Photos: scikit-image's real photos (astronaut, chelsea, coffee, rocket, the Hubble deep field,
immunohistochemistry, retina), cropped, rescaled and flipped at random into 64 distinct frames,
each shot at its own exposure (±0.6 stops) and white balance (as a shoot's frames differ).
Frames 0–49 are the pool pairs are taken from; frames 50–63 score every profile (never trained
on; they share source photos with the pool, not crops). Edits: four hidden looks, two of which
depend on the photo (white balance and exposure pulled towards a target). Settings were chosen
looking at the tuning looks only; the held-out looks are printed separately.

For 10, 25 and 50 pairs it prints, per look, the test frames' mean CIEDE2000 and PSNR to the
look for: no edit, one global LUT, and the image-adaptive profile; its own held-out ΔE (on the
pairs it kept out); and training time.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from skimage import data  # noqa: E402

from ai_assist.style import mean_delta_e, style_apply, style_learn  # noqa: E402

POOL, TEST = 50, 14
LONG_EDGE = 320


def photos() -> list[np.ndarray]:
    return [
        data.astronaut(),
        data.chelsea(),
        data.coffee(),
        data.rocket(),
        data.hubble_deep_field(),
        data.immunohistochemistry(),
        data.retina(),
    ]


def linear(v):
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def encoded(v):
    v = np.clip(v, 0, 1)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)


def to_uint8(v):
    return (np.clip(v, 0, 1) * 255).round().astype(np.uint8)


def frames(count: int = POOL + TEST) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    sources = photos()
    out = []
    for i in range(count):
        source = sources[i % len(sources)]
        h, w = source.shape[:2]
        share = rng.uniform(0.45, 0.95)
        ch, cw = int(h * share), int(w * share * rng.uniform(0.8, 1.2))
        cw = min(cw, w)
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = Image.fromarray(source[y : y + ch, x : x + cw])
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        scale = LONG_EDGE / max(crop.size)
        crop = crop.resize((round(crop.width * scale), round(crop.height * scale)))
        gains = 2.0 ** rng.uniform(-0.6, 0.6) * np.array([rng.uniform(0.85, 1.15), 1.0, 1.0])
        gains[2] = gains[0] ** -1 * gains[1]  # a warm/cool cast: red up, blue down, or back
        out.append(to_uint8(encoded(linear(np.asarray(crop) / 255) * gains)))
    return out


def saturate(v, amount):
    grey = v @ np.array([0.2126, 0.7152, 0.0722])
    return grey[..., None] + (v - grey[..., None]) * amount


def s_curve(v, strength):
    return v + strength * np.sin(2 * np.pi * v) * -0.5 / np.pi


def warm_film(image):
    v = image / 255
    v = s_curve(v, 0.5) * 0.92 + 0.06  # contrast, lifted blacks
    lum = v.mean(axis=-1, keepdims=True)
    v = v + (1 - lum) * np.array([-0.03, 0.01, 0.03]) + lum * np.array([0.04, 0.01, -0.04])
    return to_uint8(saturate(v, 1.15))


def clean_auto(image):
    """Grey world, 70% of the way, and the mean pulled to mid-grey: depends on the photo."""
    lin = linear(image / 255)
    mean = lin.reshape(-1, 3).mean(axis=0)
    wb = (mean.mean() / mean) ** 0.7
    lin = lin * wb
    exposure = (0.18 / max(lin.mean(), 1e-4)) ** 0.6
    return to_uint8(s_curve(encoded(lin * exposure), 0.3))


def matte_cool(image):
    v = image / 255
    v = v * 0.85 + 0.1
    lum = v.mean(axis=-1, keepdims=True)
    v = v + lum * np.array([-0.03, 0.0, 0.04])
    return to_uint8(saturate(v, 0.8))


def bright_airy(image):
    """Each photo brightened towards one target, then warmed: depends on the photo."""
    lin = linear(image / 255)
    lum = lin @ np.array([0.2126, 0.7152, 0.0722])
    exposure = (0.25 / max(np.median(lum), 1e-4)) ** 0.8
    lin = lin * exposure * np.array([1.06, 1.0, 0.92])
    return to_uint8(saturate(encoded(lin), 0.9))


TUNING = {"warm film": warm_film, "clean auto (adaptive)": clean_auto}
HELD_OUT = {"matte cool": matte_cool, "bright airy (adaptive)": bright_airy}


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return 10 * np.log10(255**2 / max(mse, 1e-9))


def score(outputs, targets):
    de = np.mean([mean_delta_e(o, t) for o, t in zip(outputs, targets, strict=True)])
    return de, np.mean([psnr(o, t) for o, t in zip(outputs, targets, strict=True)])


def run_look(name, look, images, sizes):
    afters = [look(im) for im in images]
    test_before, test_after = images[POOL:], afters[POOL:]
    no_edit = score(test_before, test_after)
    print(f"\n{name}: no edit ΔE {no_edit[0]:.2f}  PSNR {no_edit[1]:.1f} dB")
    for n in sizes:
        pairs = [
            (Image.fromarray(b), Image.fromarray(a))
            for b, a in zip(images[:n], afters[:n], strict=True)
        ]
        row = []
        for adaptive in (False, True):
            start = time.perf_counter()
            profile = style_learn(pairs, adaptive=adaptive)
            seconds = time.perf_counter() - start
            outs = [np.asarray(style_apply(profile, Image.fromarray(b))) for b in test_before]
            de, db = score(outs, test_after)
            row.append((de, db, seconds, profile))
        (g_de, g_db, g_s, _), (a_de, a_db, a_s, profile) = row
        print(
            f"  {n:2d} pairs: global LUT ΔE {g_de:.2f} PSNR {g_db:.1f} ({g_s:.0f} s) | "
            f"adaptive ΔE {a_de:.2f} PSNR {a_db:.1f} ({a_s:.0f} s); own held-out "
            f"{profile.holdout_delta_e:.2f} vs no edit {profile.no_edit_delta_e:.2f} on "
            f"{profile.holdout_pairs} pairs, offered: {profile.beats_no_edit}"
        )


def main():
    quick = "--quick" in sys.argv
    sizes = (25,) if quick else (10, 25, 50)
    images = frames()
    print(f"{len(images)} frames at {LONG_EDGE} px; test frames: {TEST}")
    print("== tuning looks ==")
    for name, look in TUNING.items():
        run_look(name, look, images, sizes)
    print("\n== held-out looks ==")
    for name, look in HELD_OUT.items():
        run_look(name, look, images, sizes)


if __name__ == "__main__":
    main()
