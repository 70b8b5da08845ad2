"""Real photographs from scikit-image with defects made on purpose, for tests and bench/."""

from __future__ import annotations

import io
from datetime import datetime

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage
from skimage import data


def astronaut() -> np.ndarray:
    """Eileen Collins' NASA portrait (512², public domain): one sharp face, eyes open."""
    return data.astronaut()


def no_face() -> np.ndarray:
    """A cup of coffee (public domain): a sharp photo with no face in it."""
    return data.coffee()


def defocus(image: np.ndarray, sigma: float) -> np.ndarray:
    """Blur like a missed focus: a gaussian of `sigma` pixels."""
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(sigma)))


def motion_blur(image: np.ndarray, length: int, angle: float = 0.0) -> np.ndarray:
    """Smear like camera shake: a line kernel `length` pixels long at `angle` degrees."""
    kernel = np.zeros((length, length))
    kernel[length // 2, :] = 1
    kernel = ndimage.rotate(kernel, angle, reshape=False, order=1)
    kernel /= kernel.sum()
    channels = [ndimage.convolve(image[..., c].astype(np.float32), kernel) for c in range(3)]
    return np.clip(np.stack(channels, axis=-1), 0, 255).astype(np.uint8)


def exposed(image: np.ndarray, stops: float) -> np.ndarray:
    """Change the exposure by `stops` (negative: darker), clipping as a sensor would."""
    linear = (image.astype(np.float32) / 255) ** 2.2 * 2.0**stops
    return (np.clip(linear, 0, 1) ** (1 / 2.2) * 255).round().astype(np.uint8)


def shifted(image: np.ndarray, dx: int, dy: int, seed: int = 0) -> np.ndarray:
    """The next frame of a burst: the camera moved a few pixels, new sensor noise."""
    moved = np.roll(image, (dy, dx), axis=(0, 1)).astype(np.float32)
    noise = np.random.default_rng(seed).normal(0, 2.0, moved.shape)
    return np.clip(moved + noise, 0, 255).astype(np.uint8)


# Blemishes as RGB changes at their centre: a brown spot, a red pimple, a dark red one.
SPOT_COLOURS = ((-55, -60, -55), (-10, -50, -45), (-35, -55, -50))


def add_spots(image: np.ndarray, centres, radius: float = 1.8) -> np.ndarray:
    """Paint small round blemishes (gaussian, `radius` pixels) at `centres` (x, y)."""
    ys, xs = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    out = image.astype(np.float64)
    for (x, y), colour in zip(centres, SPOT_COLOURS * len(centres), strict=False):
        weight = np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * radius**2))
        out += weight[..., np.newaxis] * np.array(colour)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def spot_contrast(image: np.ndarray, centre, radius: float = 1.8) -> float:
    """Return the Lab distance between a spot's centre and the ring of skin around it."""
    from skimage.color import rgb2lab

    x, y = centre
    reach = int(radius * 4) + 2
    x0, y0 = max(0, int(x) - reach), max(0, int(y) - reach)
    patch = rgb2lab(image[y0 : int(y) + reach + 1, x0 : int(x) + reach + 1])
    ys, xs = np.mgrid[0 : patch.shape[0], 0 : patch.shape[1]]
    distance = np.hypot(xs + x0 - x, ys + y0 - y)
    inner = patch[distance <= radius * 0.8].mean(axis=0)
    ring = patch[(distance >= radius * 2.8) & (distance <= radius * 3.9)].mean(axis=0)
    return float(np.linalg.norm(inner - ring))


def close_eyes(image: np.ndarray, face, which=("left", "right")) -> np.ndarray:
    """Paint closed eyelids over the named eyes (the subject's own) of `face`, a found face:
    skin from just below each eye, and a dark lash line between its corners."""
    from ai_assist.vision.faces import MESH_EYE_CORNERS

    pil = Image.fromarray(image)
    for name in which:
        a, b = (face.landmarks[i] for i in MESH_EYE_CORNERS[name])
        width = float(np.linalg.norm(b - a))
        cx, cy = (a + b) / 2
        box = (int(cx - width * 0.75), int(cy - width * 0.45))
        size = (int(width * 1.5), int(width * 0.8))
        source = (box[0], box[1] + int(size[1] * 1.1))
        patch = pil.crop((*source, source[0] + size[0], source[1] + size[1]))
        mask = Image.new("L", size, 0)
        ImageDraw.Draw(mask).ellipse((0, 0, size[0] - 1, size[1] - 1), fill=255)
        pil.paste(patch, box, mask.filter(ImageFilter.GaussianBlur(width * 0.08)))
        line = [tuple(a), (cx, cy + width * 0.12), tuple(b)]
        ImageDraw.Draw(pil).line(line, fill=(60, 40, 35), width=max(1, int(width * 0.08)))
    return np.asarray(pil)


def jpeg(
    image: np.ndarray,
    *,
    taken_at: datetime | None = None,
    orientation: int = 1,
    size: tuple[int, int] | None = None,
    quality: int = 90,
) -> bytes:
    """Encode as a camera would: JPEG with EXIF DateTimeOriginal and orientation."""
    pil = Image.fromarray(image)
    if size is not None:
        pil = pil.resize(size, Image.Resampling.BICUBIC)
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    if taken_at is not None:
        exif.get_ifd(0x8769)[0x9003] = taken_at.strftime("%Y:%m:%d %H:%M:%S")
    out = io.BytesIO()
    pil.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()
