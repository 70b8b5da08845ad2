"""Edge-aware and plain local filters in numpy: box means by cumulative sums, the guided filter."""

from __future__ import annotations

import numpy as np


def box_mean(image: np.ndarray, radius: int) -> np.ndarray:
    """Return the mean over a (2·radius+1)² window around each pixel of (H, W[, C]) floats.

    Windows are cut at the borders (the mean of what is inside), so edges are not darkened.
    """
    out = image.astype(np.float64)
    for axis in (0, 1):
        out = _box_1d(out, radius, axis)
    return out


def _box_1d(values: np.ndarray, radius: int, axis: int) -> np.ndarray:
    n = values.shape[axis]
    shape = list(values.shape)
    shape[axis] = 1
    sums = np.concatenate([np.zeros(shape), np.cumsum(values, axis=axis)], axis=axis)
    index = np.arange(n)
    hi, lo = np.minimum(index + radius + 1, n), np.maximum(index - radius, 0)
    count = (hi - lo).astype(np.float64)
    count = count.reshape([-1 if a == axis else 1 for a in range(values.ndim)])
    return (np.take(sums, hi, axis=axis) - np.take(sums, lo, axis=axis)) / count


def masked_mean(image: np.ndarray, weight: np.ndarray, radius: int) -> np.ndarray:
    """Return the local mean of `image` counting each pixel by `weight` (H, W): a blur that
    takes nothing from where the weight is zero (normalised convolution)."""
    w = weight.astype(np.float64)
    if image.ndim == 3:
        w = w[..., np.newaxis]
    return box_mean(image * w, radius) / np.maximum(box_mean(w, radius), 1e-6)


def guided_filter(image: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Return `image` (H, W[, C], floats 0–1) smoothed by the guided filter, each channel its own
    guide (He, Sun and Tang, 2013): flat areas are averaged over the window, while structure
    whose local variance is well above `eps` (e.g. 0.05² for a 5 % step) is kept."""
    mean = box_mean(image, radius)
    variance = box_mean(image * image, radius) - mean * mean
    a = variance / (variance + eps)
    b = mean - a * mean
    return box_mean(a, radius) * image + box_mean(b, radius)
