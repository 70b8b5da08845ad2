"""Faces in a photo: boxes, landmarks, and how open each eye is, from the real models."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ai_assist.inference import face_detector, face_mesh, iris_landmarks

# The detector sees the photo at this long edge at most: faces down to ~2 % of the long edge.
DETECT_LONG_EDGE = 640
MESH_MIN_SCORE = 0.5
# Face mesh crop: the detector box grown this much around its centre (as MediaPipe does).
MESH_SCALE = 1.6
# Iris crop: the eye's corner-to-corner width grown this much (as MediaPipe does).
IRIS_SCALE = 2.3
# Eye contour indices of the iris model: corners, and upper/lower lid points facing each other.
EYE_CORNERS = (0, 8)
EYE_LID_PAIRS = ((11, 3), (12, 4), (13, 5))
# Face mesh indices of each eye's corners (subject's right eye is on the image's left).
MESH_EYE_CORNERS = {"right": (33, 133), "left": (362, 263)}


@dataclass
class Eye:
    openness: float  # lid gap ÷ eye width: about 0.25–0.4 open, under ~0.1 closed
    iris: tuple[float, float]  # centre, in image pixels


@dataclass
class Face:
    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels (may pass the edges)
    mesh_score: float
    landmarks: np.ndarray  # (468, 2) in image pixels
    eyes: dict[str, Eye]  # "left", "right": the subject's own left and right

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def find_faces(
    image: np.ndarray | Image.Image,
    *,
    threshold: float = 0.6,
    preview: Image.Image | None = None,
) -> list[Face]:
    """Return the faces in an RGB image, with landmarks and eye openness, largest first.

    `preview`, a smaller copy of the image, spares a resize when the caller already has one;
    the detector runs on it (or on a copy at most DETECT_LONG_EDGE), the landmarks on the image.
    """
    pil = image if isinstance(image, Image.Image) else Image.fromarray(image)
    small = preview if preview is not None else pil
    if max(small.size) > DETECT_LONG_EDGE:
        small = _shrunk(small, DETECT_LONG_EDGE)
    scale = small.width / pil.width
    faces = []
    for found in face_detector().predict(np.asarray(small), threshold=threshold):
        box = tuple(v / scale for v in found.box)
        face = _face(pil, found.score, box, found.points / scale)
        if face is not None:
            faces.append(face)
    faces.sort(key=lambda f: -f.width * f.height)
    return faces


def _face(pil: Image.Image, score: float, box, points: np.ndarray) -> Face | None:
    right_eye, left_eye = points[0], points[1]
    angle = math.atan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0])
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    side = max(box[2] - box[0], box[3] - box[1]) * MESH_SCALE
    mesh = face_mesh()
    size = mesh.input_size
    crop, matrix = rotated_crop(pil, centre, side, angle, size)
    landmarks, mesh_score = mesh.predict(crop)
    if mesh_score < MESH_MIN_SCORE:
        # The mesh model's own face score weeds out the detector's rare false positives.
        return None
    landmarks_xy = apply(matrix, landmarks[:, :2])
    eyes = {
        name: _eye(pil, landmarks_xy, corners, angle, name == "left")
        for name, corners in MESH_EYE_CORNERS.items()
    }
    return Face(score, box, mesh_score, landmarks_xy, eyes)


def _eye(pil: Image.Image, landmarks: np.ndarray, corners, angle: float, flip: bool) -> Eye:
    a, b = landmarks[corners[0]], landmarks[corners[1]]
    centre = (a + b) / 2
    side = float(np.linalg.norm(b - a)) * IRIS_SCALE
    model = iris_landmarks()
    size = model.input_size
    crop, matrix = rotated_crop(pil, tuple(centre), max(side, 4.0), angle, size, flip=flip)
    contour, iris = model.predict(crop)
    width = np.linalg.norm(contour[EYE_CORNERS[0], :2] - contour[EYE_CORNERS[1], :2])
    gaps = [np.linalg.norm(contour[u, :2] - contour[d, :2]) for u, d in EYE_LID_PAIRS]
    openness = float(np.mean(gaps) / max(width, 1e-6))
    centre_xy = apply(matrix, iris[:1, :2])[0]
    return Eye(openness, (float(centre_xy[0]), float(centre_xy[1])))


def rotated_crop(
    pil: Image.Image, centre, side: float, angle: float, size: int, *, flip: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Return a size×size RGB crop of a square (centre, side, rotated by angle) and the 2×3
    matrix that maps crop pixels back to image pixels. `flip` mirrors the crop left-right."""
    step = side / size
    cos, sin = math.cos(angle) * step, math.sin(angle) * step
    sign = -1.0 if flip else 1.0
    half = size / 2
    # image = centre + R·S·(u - half, v - half), u mirrored when flipped
    matrix = np.array(
        [
            [sign * cos, -sin, 0.0],
            [sign * sin, cos, 0.0],
        ]
    )
    matrix[0, 2] = centre[0] - matrix[0, 0] * half - matrix[0, 1] * half
    matrix[1, 2] = centre[1] - matrix[1, 0] * half - matrix[1, 1] * half
    # PIL samples at pixel centres (u + 0.5); our matrix is in continuous coordinates.
    crop = pil.transform(
        (size, size), Image.Transform.AFFINE, tuple(matrix.ravel()), Image.Resampling.BILINEAR
    )
    return np.asarray(crop), matrix


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def _shrunk(image: Image.Image, long_edge: int) -> Image.Image:
    scale = long_edge / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def mesh_again(image: np.ndarray | Image.Image, face: Face) -> np.ndarray:
    """Return the face mesh landmarks (468, 2) of `image` on the crop `face` was found in.

    With the detector's box held fixed, a change in the landmarks comes from the pixels of the
    face alone: how to tell whether an edit moved a face's geometry.
    """
    pil = image if isinstance(image, Image.Image) else Image.fromarray(image)
    (ax, ay), (bx, by) = (face.landmarks[MESH_EYE_CORNERS[side][0]] for side in ("right", "left"))
    angle = math.atan2(by - ay, bx - ax)
    centre = ((face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2)
    side = max(face.width, face.height) * MESH_SCALE
    mesh = face_mesh()
    crop, matrix = rotated_crop(pil, centre, side, angle, mesh.input_size)
    return apply(matrix, mesh.predict(crop)[0][:, :2])
