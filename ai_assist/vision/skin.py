"""Where a face's skin is: the face mesh's oval minus eyes, brows, lips and nostrils, kept only
where the colour reads as this face's skin (so hair, beard, glasses and clothes drop out)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from ai_assist.vision.colour import srgb_to_lab
from ai_assist.vision.filters import box_mean

# MediaPipe face mesh (468 points) outlines, each in drawing order.
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
RIGHT_BROW = (46, 53, 52, 65, 55, 107, 66, 105, 63, 70)
LEFT_BROW = (276, 283, 282, 295, 285, 336, 296, 334, 293, 300)
LIPS = (
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185,
)  # fmt: skip
NOSTRILS = (98, 75, 79, 237, 44, 274, 457, 309, 305, 327, 326, 2, 97)
# Each excluded part, grown by this share of the face's width: lashes, liner, brow hairs and
# lip edges reach past the mesh's outline.
EXCLUDED = (
    (RIGHT_EYE, 0.045),
    (LEFT_EYE, 0.045),
    (RIGHT_BROW, 0.05),
    (LEFT_BROW, 0.05),
    (LIPS, 0.035),
    (NOSTRILS, 0.015),
)
# Skin colour test, in Lab against the median of the cheeks' band (between the eyes and the
# mouth, where hair and beards seldom reach): full weight within one spread, none beyond two.
# Blonde hair differs from pale skin mostly in lightness, so the lightness spread is tight too.
LIGHTNESS_SPREAD = 12.0
CHROMA_SPREAD = 9.0
CHEEK_BAND = (0.25, 0.65)  # along the line from the eyes' midpoint (0) to the mouth's (1)
MOUTH_CORNERS = (61, 291)
# Colour is judged on the image averaged over this share of the face's width, so a blemish
# (a few % wide) still counts as skin while hair and clothes (wide) do not.
COLOUR_SCALE = 0.04
FEATHER = 0.02  # the mask fades in over this share of the face's width inside its edge


def face_width(landmarks: np.ndarray) -> float:
    """Return the face oval's width in the landmarks' pixels."""
    oval = landmarks[list(FACE_OVAL)]
    return float(oval[:, 0].max() - oval[:, 0].min())


def skin_mask(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Return the face's skin as weights 0–1 (H, W) for an RGB uint8 image and its face mesh
    landmarks (468, 2) in the image's pixels; zero outside the oval and on excluded parts."""
    height, width = image.shape[:2]
    face = face_width(landmarks)
    allowed = _polygon((height, width), landmarks, FACE_OVAL)
    for outline, grow in EXCLUDED:
        part = _polygon((height, width), landmarks, outline)
        allowed &= box_mean(part, max(1, round(face * grow))) == 0
    inside = _feathered(allowed, max(1, round(face * FEATHER)))
    reference = allowed & _cheek_band((height, width), landmarks)
    return inside * _skin_colour(image, reference, max(1, round(face * COLOUR_SCALE)))


def _polygon(shape: tuple[int, int], landmarks: np.ndarray, outline) -> np.ndarray:
    canvas = Image.new("1", (shape[1], shape[0]), 0)
    ImageDraw.Draw(canvas).polygon([tuple(p) for p in landmarks[list(outline)]], fill=1)
    return np.array(canvas, dtype=bool)


def _cheek_band(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    eyes = (landmarks[RIGHT_EYE[0]] + landmarks[LEFT_EYE[0]]) / 2
    mouth = (landmarks[MOUTH_CORNERS[0]] + landmarks[MOUTH_CORNERS[1]]) / 2
    axis = mouth - eyes
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    along = ((xs - eyes[0]) * axis[0] + (ys - eyes[1]) * axis[1]) / max(axis @ axis, 1e-6)
    return (along > CHEEK_BAND[0]) & (along < CHEEK_BAND[1])


def _feathered(region: np.ndarray, radius: int) -> np.ndarray:
    # Averaging twice is close to a gaussian; 0.5 at the edge → 0, so nothing leaks outside.
    soft = box_mean(box_mean(region.astype(np.float64), radius), radius)
    return np.clip(soft * 2 - 1, 0, 1) * region


def _skin_colour(image: np.ndarray, reference: np.ndarray, radius: int) -> np.ndarray:
    lab = box_mean(srgb_to_lab(image), radius)
    if not reference.any():
        return np.zeros(reference.shape)
    median = np.median(lab[reference], axis=0)
    lightness = (lab[..., 0] - median[0]) / LIGHTNESS_SPREAD
    chroma = np.hypot(lab[..., 1] - median[1], lab[..., 2] - median[2]) / CHROMA_SPREAD
    distance = np.hypot(lightness, chroma)
    return np.clip(2 - distance, 0, 1)
