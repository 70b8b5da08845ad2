"""Sharpness, blur kind, exposure and a small fingerprint, from numpy arrays (no models)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

# Crops are resampled to this size before measuring, so a score means the same on any photo.
FACE_SIZE = 160
FRAME_LONG_EDGE = 640
FINGERPRINT_SIZE = 16


@dataclass
class Sharpness:
    """How much of the image's edge energy is in the finest detail (0–1), and its direction."""

    fine: float  # share of gradient energy lost by a slight blur: ~0.3+ sharp, <0.12 soft
    anisotropy: float  # 0: detail in all directions; near 1: detail only across one direction
    direction: float  # degrees: the direction along which detail is missing (the smear)


def luminance(image: np.ndarray) -> np.ndarray:
    """Return Rec. 601 luma as float32 in 0–255."""
    rgb = image.astype(np.float32)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _pil(image: np.ndarray | Image.Image) -> Image.Image:
    return image if isinstance(image, Image.Image) else Image.fromarray(image)


def resized_gray(image: np.ndarray | Image.Image, size: tuple[int, int]) -> np.ndarray:
    """Return the luma of `image` box-resampled to size (width, height)."""
    gray = _pil(image).convert("L")
    if gray.size != size:
        gray = gray.resize(size, Image.Resampling.BOX)
    return np.asarray(gray, dtype=np.float32)


def preview(image: np.ndarray | Image.Image) -> Image.Image:
    """Return the image reduced by a whole factor (fast box averaging) to at most
    FRAME_LONG_EDGE: what whole-frame measures and face detection look at."""
    pil = _pil(image)
    factor = max(1, -(-max(pil.size) // FRAME_LONG_EDGE))
    return pil.reduce(factor) if factor > 1 else pil


def frame_gray(image: np.ndarray | Image.Image) -> np.ndarray:
    """Return the whole frame's luma at preview size."""
    return np.asarray(preview(image).convert("L"), dtype=np.float32)


def face_gray(image: np.ndarray | Image.Image, box) -> np.ndarray | None:
    """Return the inner face (the box shrunk to skip hair and background) as luma, at most
    FACE_SIZE pixels on its long edge."""
    pil = _pil(image)
    width, height = pil.size
    x0, y0, x1, y1 = box
    mx, my = (x1 - x0) * 0.15, (y1 - y0) * 0.12
    left, top = max(0, round(x0 + mx)), max(0, round(y0 + my))
    right, bottom = min(width, round(x1 - mx)), min(height, round(y1 - my))
    if right - left < 8 or bottom - top < 8:
        return None
    crop = pil.crop((left, top, right, bottom))
    # Downsample large faces to FACE_SIZE; never upsample small ones (that would blur them).
    scale = min(1.0, FACE_SIZE / max(right - left, bottom - top))
    return resized_gray(crop, (round((right - left) * scale), round((bottom - top) * scale)))


def _blur(gray: np.ndarray) -> np.ndarray:
    # Separable [1 2 1]/4 twice: a gaussian of sigma ~1 px.
    out = gray
    for _ in range(2):
        out = np.pad(out, 1, mode="edge")
        out = (out[:-2] + 2 * out[1:-1] + out[2:]) / 4
        out = (out[:, :-2] + 2 * out[:, 1:-1] + out[:, 2:]) / 4
    return out


def _gradients(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return gray[1:-1, 2:] - gray[1:-1, :-2], gray[2:, 1:-1] - gray[:-2, 1:-1]


def sharpness(gray: np.ndarray) -> Sharpness:
    """Measure how much fine detail `gray` has, independent of its contrast and brightness.

    The share of gradient energy that a slight blur removes is high when edges are crisp and
    low when the image is already soft. Blur kind: motion smears detail in one direction, so the
    fine detail that is left runs across that direction only (high anisotropy); defocus softens
    all directions alike.
    """
    gx, gy = _gradients(gray)
    energy = float(np.mean(gx * gx + gy * gy))
    if energy < 1e-3:
        return Sharpness(0.0, 0.0, 0.0)
    detail = gray - _blur(gray)
    dx, dy = _gradients(detail)
    fine = float(np.mean(dx * dx + dy * dy)) / energy
    jxx, jyy, jxy = float(np.mean(dx * dx)), float(np.mean(dy * dy)), float(np.mean(dx * dy))
    spread = np.hypot(jxx - jyy, 2 * jxy)
    anisotropy = float(spread / max(jxx + jyy, 1e-9))
    # The dominant detail gradient points across the smear; the smear runs at 90° to it.
    direction = float((np.degrees(0.5 * np.arctan2(2 * jxy, jxx - jyy)) + 90) % 180)
    return Sharpness(min(fine, 1.0), anisotropy, direction)


@dataclass
class Exposure:
    mean: float  # mean luma, 0–255
    highlights: float  # share of pixels at 250+ luma
    shadows: float  # share of pixels at 5- luma


def exposure(gray: np.ndarray) -> Exposure:
    """Return the brightness and clipping of a frame (faces are measured on their own crops)."""
    return Exposure(
        mean=float(np.mean(gray)),
        highlights=float(np.mean(gray >= 250)),
        shadows=float(np.mean(gray <= 5)),
    )


def fingerprint(image: np.ndarray | Image.Image) -> np.ndarray:
    """Return a small unit vector of the frame's layout (16×16 luma plus colour means), for
    comparing frames of a burst: near-identical frames have a cosine similarity close to 1."""
    small = np.asarray(
        _pil(image)
        .convert("RGB")
        .resize((FINGERPRINT_SIZE, FINGERPRINT_SIZE), Image.Resampling.BOX),
        dtype=np.float32,
    )
    gray = luminance(small).ravel()
    gray = gray - gray.mean()
    chroma = (small.reshape(-1, 3) - small.reshape(-1, 3).mean(axis=1, keepdims=True)).ravel()
    vector = np.concatenate([gray, 0.5 * chroma])
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))
