"""Decode photos at the smallest size that answers: JPEG by DCT scaling, RAW by its preview."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

# Long edge the analysis needs: faces and sharpness are measured at about this size.
ANALYSIS_LONG_EDGE = 1280
RAW_SUFFIXES = {".arw", ".cr2", ".cr3", ".dng", ".nef", ".nrw", ".orf", ".raf", ".rw2", ".pef"}
HEIF_SUFFIXES = {".heic", ".heif", ".hif", ".avif"}
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_DATETIME = 0x0132


@dataclass
class Decoded:
    image: np.ndarray  # RGB uint8 (H, W, 3), upright
    original_size: tuple[int, int]  # width, height of the full image as stored (before rotation)
    taken_at: datetime | None  # EXIF DateTimeOriginal (camera's local time, naive)


def decode(
    source: str | os.PathLike | bytes, *, kind: str = "", long_edge: int = ANALYSIS_LONG_EDGE
) -> Decoded:
    """Decode a photo to an upright RGB array whose long edge is about `long_edge` (never less,
    unless the photo is smaller). JPEG decodes at 1/2, 1/4 or 1/8 scale in the DCT; RAW files give
    their embedded JPEG preview; HEIC goes through pillow-heif.

    `kind` ("raw", "heif", ...) is the type found in the content, as delivery stores it; without
    it a path's suffix tells.
    """
    if not kind and not isinstance(source, bytes):
        suffix = Path(source).suffix.lower()
        kind = "raw" if suffix in RAW_SUFFIXES else "heif" if suffix in HEIF_SUFFIXES else ""
    if kind == "raw":
        return _decode_raw(
            io.BytesIO(source) if isinstance(source, bytes) else str(source), long_edge
        )
    if kind == "heif":
        _register_heif()
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    return _decode_pil(Image.open(io.BytesIO(data)), long_edge)


def _decode_pil(image: Image.Image, long_edge: int) -> Decoded:
    original_size = image.size
    taken_at = _taken_at(image)
    orientation = image.getexif().get(0x0112, 1)
    if image.format == "JPEG":
        # draft() picks the largest DCT reduction that keeps the image at least this big.
        target = _fit(image.size, long_edge)
        image.draft("RGB", target)
    image = ImageOps.exif_transpose(image) if orientation != 1 else image
    image = image.convert("RGB")
    if max(image.size) > long_edge * 1.5:
        image.thumbnail((long_edge, long_edge), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return Decoded(np.asarray(image), original_size, taken_at)


def _fit(size: tuple[int, int], long_edge: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, long_edge / max(width, height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def _decode_raw(path_or_file: str | io.BytesIO, long_edge: int) -> Decoded:
    try:
        import rawpy
    except ImportError as exc:
        raise RuntimeError("RAW files need rawpy: pip install rawpy") from exc
    with rawpy.imread(path_or_file) as raw:
        try:
            thumb = raw.extract_thumb()
        except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
            thumb = None
        if thumb is not None and thumb.format == rawpy.ThumbFormat.JPEG:
            return _decode_pil(Image.open(io.BytesIO(thumb.data)), long_edge)
        if thumb is not None and thumb.format == rawpy.ThumbFormat.BITMAP:
            return _decode_pil(Image.fromarray(thumb.data), long_edge)
        # No usable preview: demosaic at half size, the cheapest full decode LibRaw offers.
        rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
        return _decode_pil(Image.fromarray(rgb), long_edge)


def _register_heif() -> None:
    try:
        import pillow_heif
    except ImportError as exc:
        raise RuntimeError("HEIC files need pillow-heif: pip install pillow-heif") from exc
    pillow_heif.register_heif_opener()


def _taken_at(image: Image.Image) -> datetime | None:
    exif = image.getexif()
    raw = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if not raw:
        return None
    try:
        return datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
