"""The inference layer: models from packages, loaded once per process, on the best provider."""

from ai_assist.inference.files import ALL_MODELS, ModelSpec, model_bytes, model_path
from ai_assist.inference.models import (
    FaceBox,
    FaceDetector,
    FaceMesh,
    IrisLandmarks,
    face_detector,
    face_mesh,
    iris_landmarks,
)
from ai_assist.inference.runtime import ModelFileError, choose_providers, onnx_session

__all__ = [
    "ALL_MODELS",
    "FaceBox",
    "FaceDetector",
    "FaceMesh",
    "IrisLandmarks",
    "ModelFileError",
    "ModelSpec",
    "choose_providers",
    "face_detector",
    "face_mesh",
    "iris_landmarks",
    "model_bytes",
    "model_path",
    "onnx_session",
]
