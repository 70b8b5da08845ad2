"""Skin retouch that keeps texture: spots healed, tone evened, pores and geometry left alone.

`skin_retouch(image, strength)` finds the faces and their face mesh, builds each face's skin
mask (`vision.skin`), and works on the face at a bounded size:
1. spots: small places darker or redder than the skin around them are filled from the
   surrounding skin's low band plus fine texture taken from beside the spot;
2. smoothing: frequency separation with a guided filter as the low band; the low band is
   smoothed further (blotches, uneven tone) while the high band (pores, fine hair) is kept.
The change is added back to the full-size photo through the feathered mask: pixel-wise only, so
nothing moves, and pixels outside the skin stay exactly as they were.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from ai_assist.vision import quality
from ai_assist.vision.colour import delta_e_2000, srgb_to_lab
from ai_assist.vision.faces import find_faces
from ai_assist.vision.filters import box_mean, guided_filter, masked_mean
from ai_assist.vision.skin import FACE_OVAL, face_width, skin_mask

DEFAULT_STRENGTH = 50
# Faces are retouched at most this wide (pixels); finer detail of bigger faces is never touched.
WORK_FACE_WIDTH = 400
MIN_FACE_WIDTH = 40  # smaller faces are left alone: too few pixels to tell a spot from a pore
CROP_MARGIN = 0.15  # of the face's width, around the face oval
# Frequency separation, scales as shares of the face's width; eps in (0–1 values)².
TEXTURE_SCALE, TEXTURE_EPS = 0.008, 0.08**2  # below this lies the kept high band
SMOOTH_SCALE, SMOOTH_EPS = 0.06, 0.05**2  # the low band's further smoothing
# Spots: this much darker (Lab L) or redder (Lab a) than the skin around them, at most this wide.
SPOT_CONTRAST = (9.0, 5.0)  # at strength 0 and 100
SPOT_RADIUS = 0.045
SURROUND_SCALE = 0.06
SPOT_MIN_PIXELS = 3
SPOT_ROUNDNESS = 0.4  # a spot's bounding box is at least this square (short side ÷ long side)
SPOT_ISOLATION = 0.2  # darker or redder share of the skin on opposite sides of a spot, at most
SPOT_CORE = 0.5  # share of the face's skin weight a pixel needs to be searched for spots


@dataclass
class RetouchFigures:
    """What a retouch did, for review and provenance (JSON-ready through `to_dict`)."""

    strength: int
    faces: int  # faces retouched (0: no face found, image unchanged)
    skin_delta_e: float | None  # mean CIEDE2000 of skin to the original: tone kept if small
    texture_kept: float | None  # fine skin texture (Laplacian energy) after ÷ before
    spots_healed: int  # > 0 means content was inpainted

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _FaceResult:
    delta_e_sum: float
    weight: float
    texture_before: float
    texture_after: float
    spots: int


def skin_retouch(
    image: Image.Image | np.ndarray, strength: int = DEFAULT_STRENGTH
) -> tuple[Image.Image, RetouchFigures]:
    """Return the image with its faces' skin retouched at `strength` (0–100), and figures."""
    if not 0 <= strength <= 100:
        raise ValueError(f"strength must be 0–100, got {strength}")
    pil = image if isinstance(image, Image.Image) else Image.fromarray(image)
    pil = pil.convert("RGB")
    if strength == 0:
        return pil.copy(), RetouchFigures(0, 0, None, None, 0)
    faces = [
        face
        for face in find_faces(pil, preview=quality.preview(pil))
        if face_width(face.landmarks) >= MIN_FACE_WIDTH
    ]
    out = np.array(pil)
    results = [_retouch_face(out, face.landmarks, strength / 100) for face in faces]
    return Image.fromarray(out), _figures(strength, results)


def _figures(strength: int, results: list[_FaceResult]) -> RetouchFigures:
    if not results:
        return RetouchFigures(strength, 0, None, None, 0)
    weight = sum(r.weight for r in results)
    before = sum(r.texture_before for r in results)
    return RetouchFigures(
        strength=strength,
        faces=len(results),
        skin_delta_e=round(sum(r.delta_e_sum for r in results) / max(weight, 1e-9), 3),
        texture_kept=round(sum(r.texture_after for r in results) / max(before, 1e-9), 3),
        spots_healed=sum(r.spots for r in results),
    )


def _retouch_face(image: np.ndarray, landmarks: np.ndarray, amount: float) -> _FaceResult:
    """Retouch one face of `image` (uint8, changed in place)."""
    box, scale = _work_box(image.shape, landmarks)
    x0, y0, x1, y1 = box
    crop = image[y0:y1, x0:x1]
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    work = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS))
    work_landmarks = (landmarks - (x0, y0)) * (np.array(size) / (x1 - x0, y1 - y0))
    mask = skin_mask(work, work_landmarks)
    width = face_width(work_landmarks)
    before = work.astype(np.float64) / 255
    healed, heal, spots = _heal_spots(before, mask, width, amount)
    after = _smooth(healed, width, amount)
    change = (after - before) * mask[..., np.newaxis]
    _add_change(image, box, change)
    # Texture is judged where it was kept, not where a spot was filled.
    kept = (mask > SPOT_CORE) & (heal == 0)
    return _measure(work, np.clip(before + change, 0, 1), mask > SPOT_CORE, kept, spots)


def _work_box(shape, landmarks: np.ndarray) -> tuple[tuple[int, int, int, int], float]:
    oval = landmarks[list(FACE_OVAL)]
    width = face_width(landmarks)
    margin = width * CROP_MARGIN
    x0, y0 = np.floor(oval.min(axis=0) - margin).astype(int)
    x1, y1 = np.ceil(oval.max(axis=0) + margin).astype(int)
    box = (max(0, x0), max(0, y0), min(shape[1], x1), min(shape[0], y1))
    return box, min(1.0, WORK_FACE_WIDTH / width)


def _heal_spots(
    image: np.ndarray, mask: np.ndarray, width: float, amount: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Return the image with its small dark or red spots filled, the fill's weight (H, W) and
    how many spots there were."""
    lab = srgb_to_lab(image)
    core = mask > SPOT_CORE
    surround = masked_mean(lab, core, max(2, round(width * SURROUND_SCALE)))
    deviation = np.maximum(surround[..., 0] - lab[..., 0], 0) + np.maximum(
        lab[..., 1] - surround[..., 1], 0
    )
    deviation = box_mean(deviation, 1)  # a single dark pore is texture, not a spot
    low, high = SPOT_CONTRAST
    threshold = low + (high - low) * amount
    found = (deviation > threshold) & core
    radius = max(1, round(width * SPOT_RADIUS))
    faint = (deviation > threshold / 2) & core
    spots = [r for r in _regions(found) if _is_spot(r, radius, core, faint)]
    if not spots:
        return image, np.zeros(found.shape), 0
    region = np.zeros(found.shape, dtype=np.float64)
    for ys, xs in spots:
        region[ys, xs] = 1
    cover = box_mean(region, max(1, radius // 2))
    heal = np.clip(cover * 4, 0, 1)
    fill = masked_mean(image, core & (cover == 0), radius * 2)
    texture = image - guided_filter(image, max(1, round(width * TEXTURE_SCALE)), TEXTURE_EPS)
    filled = fill + _beside(texture, core, 3 * radius)
    weight = heal[..., np.newaxis]
    return image * (1 - weight) + filled * weight, heal, len(spots)


def _beside(texture: np.ndarray, core: np.ndarray, step: int) -> np.ndarray:
    # Skin texture from just above each pixel, or just below where above is no skin.
    above, below = np.roll(texture, step, axis=0), np.roll(texture, -step, axis=0)
    from_above = np.roll(core, step, axis=0)[..., np.newaxis]
    from_below = np.roll(core, -step, axis=0)[..., np.newaxis]
    return np.where(from_above, above, np.where(from_below, below, 0.0))


def _is_spot(pixels, radius: int, core: np.ndarray, faint: np.ndarray) -> bool:
    # Round, small and alone: folds and shadows along the nose and the face's edge are long,
    # or, where broken into dots, still darker on opposite sides of each dot (a shadow beside
    # a spot is on one side only).
    ys, xs = pixels
    height, width = int(ys.max() - ys.min()) + 1, int(xs.max() - xs.min()) + 1
    if len(ys) < SPOT_MIN_PIXELS or max(height, width) > 2 * radius + 1:
        return False
    if min(height, width) < SPOT_ROUNDNESS * max(height, width):
        return False
    box = (int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1)
    # Skin all around: filling next to a brow, lip or the nostrils would move their edges,
    # which the face's shape is read from.
    if not _window(core, box, 1).all():
        return False
    edge = max(2, radius // 2)
    around = _window(faint, box, max(1, max(height, width) // 2) + edge)
    top, bottom = around[:edge].mean(), around[-edge:].mean()
    left, right = around[:, :edge].mean(), around[:, -edge:].mean()
    return max(min(top, bottom), min(left, right)) <= SPOT_ISOLATION


def _window(image: np.ndarray, box: tuple[int, int, int, int], grow: int) -> np.ndarray:
    y0, x0, y1, x1 = box
    return image[max(0, y0 - grow) : y1 + grow, max(0, x0 - grow) : x1 + grow]


def _regions(region: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return the 8-connected regions of a boolean image, each as (ys, xs) (union-find)."""
    ys, xs = np.nonzero(region)
    index = {(y, x): i for i, (y, x) in enumerate(zip(ys.tolist(), xs.tolist(), strict=True))}
    parent = list(range(len(index)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for (y, x), i in index.items():
        for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):
            j = index.get((y + dy, x + dx))
            if j is not None:
                parent[root(i)] = root(j)
    roots = np.array([root(i) for i in range(len(parent))], dtype=np.int64)
    return [(ys[roots == r], xs[roots == r]) for r in np.unique(roots)]


def _smooth(image: np.ndarray, width: float, amount: float) -> np.ndarray:
    """Return the image with its low band smoothed by `amount` (0–1) and its high band kept."""
    low = guided_filter(image, max(1, round(width * TEXTURE_SCALE)), TEXTURE_EPS)
    smoother = guided_filter(low, max(1, round(width * SMOOTH_SCALE)), SMOOTH_EPS)
    return image + (smoother - low) * amount


def _add_change(image: np.ndarray, box, change: np.ndarray) -> None:
    x0, y0, x1, y1 = box
    size = (x1 - x0, y1 - y0)
    if change.shape[1::-1] != size:
        channels = [
            np.asarray(
                Image.fromarray(change[..., c].astype(np.float32), "F").resize(
                    size, Image.Resampling.BILINEAR
                )
            )
            for c in range(3)
        ]
        change = np.stack(channels, axis=-1)
    region = image[y0:y1, x0:x1].astype(np.float64)
    image[y0:y1, x0:x1] = np.clip(np.round(region + change * 255), 0, 255).astype(np.uint8)


def _measure(
    before: np.ndarray, after: np.ndarray, skin: np.ndarray, kept: np.ndarray, spots: int
) -> _FaceResult:
    delta = delta_e_2000(srgb_to_lab(before[skin]), srgb_to_lab(after[skin]))
    return _FaceResult(
        delta_e_sum=float(delta.sum()),
        weight=float(skin.sum()),
        texture_before=_texture(before.astype(np.float64) / 255, kept),
        texture_after=_texture(after, kept),
        spots=spots,
    )


def _texture(image: np.ndarray, skin: np.ndarray) -> float:
    luma = image @ np.array([0.299, 0.587, 0.114])
    laplacian = (
        np.roll(luma, 1, 0) + np.roll(luma, -1, 0) + np.roll(luma, 1, 1) + np.roll(luma, -1, 1)
    ) - 4 * luma
    return float((laplacian[skin] ** 2).sum())
