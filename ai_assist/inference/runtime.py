"""ONNX Runtime sessions: providers chosen from a preference list, threads from `AI_*` variables."""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)

DEFAULT_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")


class ModelFileError(RuntimeError):
    """A model file is missing, corrupt, or its runtime is not installed."""


def preferred_providers() -> list[str]:
    """Return the providers to try, best first: `AI_PROVIDERS` (comma-separated) or CUDA, CPU."""
    raw = os.environ.get("AI_PROVIDERS", "")
    names = [name.strip() for name in raw.split(",") if name.strip()]
    return names or list(DEFAULT_PROVIDERS)


def choose_providers(available: list[str] | None = None) -> list[str]:
    """Return the preferred providers that ONNX Runtime reports as available, in preference order.

    CPU is always kept as the last resort, so a host without CUDA still runs.
    """
    if available is None:
        import onnxruntime

        available = onnxruntime.get_available_providers()
    chosen = [name for name in preferred_providers() if name in available]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


def num_threads() -> int:
    """Return the intra-op thread count for one model (`AI_NUM_THREADS`, default: 2 at most)."""
    raw = os.environ.get("AI_NUM_THREADS", "")
    if raw.strip():
        try:
            value = int(raw)
        except ValueError as exc:
            raise ValueError(f"AI_NUM_THREADS must be an integer, got {raw!r}") from exc
        if value < 1:
            raise ValueError(f"AI_NUM_THREADS must be at least 1, got {value}")
        return value
    # A Celery worker runs one process per core, each with its own sessions: all cores per
    # session would put cores × cores threads on the cores. Two, as immich's CPU sessions use,
    # keeps a lone process quick without crowding a full host.
    return min(2, os.cpu_count() or 1)


def onnx_session(model: bytes, *, name: str):
    """Create an ONNX Runtime session for `model`, on the best available provider, and log it."""
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ModelFileError(
            f"{name}: onnxruntime is not installed; pip install 'studio-platform[ai]'"
        ) from exc
    # Whatever stops the session (missing CUDA libraries, a bad AI_NUM_THREADS, a bad graph in
    # ORT's own exception types) is the worker's, not a photo's: every photo would fail alike.
    try:
        providers = choose_providers(onnxruntime.get_available_providers())
        if "CUDAExecutionProvider" in providers:
            # CUDA and cuDNN from NVIDIA's pip packages (onnxruntime-gpu[cuda,cudnn]) are not on
            # the loader's path: load them first, or the session quietly falls back to the CPU.
            onnxruntime.preload_dlls()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = num_threads()
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(model, sess_options=options, providers=providers)
    except Exception as exc:
        raise ModelFileError(f"{name}: ONNX Runtime cannot load the model: {exc}") from exc
    logger.info("%s: ONNX Runtime providers %s", name, session.get_providers())
    return session
