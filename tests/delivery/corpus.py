"""Photos for the tests, made on the spot: good ones of every kind, and a hostile corpus."""

import io
import struct
import zlib

import numpy as np
import tifffile
from PIL import Image
from PIL.ExifTags import IFD

GPS = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)}
COPYRIGHT = "(c) 2026 Lumen Studio"
ARTIST = "Ada Lens"
CREDIT = "Lumen Studio / Ada Lens"
XMP_WITH_GPS = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
    'xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    f'photoshop:Credit="{CREDIT}" exif:GPSLatitude="52,31.2N" exif:GPSLongitude="13,24.0E"/>'
    "</rdf:RDF></x:xmpmeta>"
).encode()


def picture(width: int = 640, height: int = 480, seed: int = 0) -> Image.Image:
    """A photo-like image: smooth gradients plus noise, so JPEG sizes are realistic."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], -1)
    noise = rng.normal(0, 12, size=base.shape)
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))


def private_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS R5"
    exif[0x013B] = ARTIST
    exif[0x8298] = COPYRIGHT
    exif[0x0112] = orientation
    exif[IFD.Exif] = {
        0x9003: "2026:05:01 10:00:00",
        0xA431: "BODY-SERIAL-0042",
        0xA430: "Owner Name",
        0x927C: b"maker-note-bytes",
    }
    exif[IFD.GPSInfo] = GPS
    return exif


def jpeg(width=640, height=480, *, seed=0, orientation=1, quality=90) -> bytes:
    out = io.BytesIO()
    picture(width, height, seed).save(
        out, "JPEG", quality=quality, exif=private_exif(orientation).tobytes(), xmp=XMP_WITH_GPS
    )
    return out.getvalue()


BETWEEN_SCANS_COMMENT = b"Shot at 52.5200N 13.4050E, home of Owner Name"


def progressive_jpeg(width=640, height=480, *, seed=11) -> bytes:
    """A progressive JPEG with private EXIF (GPS, serial) and a comment also *between* its scans.

    Decoders read segments anywhere before EOI, so metadata there is as real as in the header.
    """
    out = io.BytesIO()
    picture(width, height, seed).save(
        out,
        "JPEG",
        quality=90,
        progressive=True,
        exif=private_exif().tobytes(),
        xmp=XMP_WITH_GPS,
    )
    data = out.getvalue()
    second_scan = data.find(b"\xff\xda", data.find(b"\xff\xda") + 2)
    hidden = _jpeg_segment(0xE1, b"Exif\x00\x00" + private_exif().tobytes())
    hidden += _jpeg_segment(0xFE, BETWEEN_SCANS_COMMENT)
    return data[:second_scan] + hidden + data[second_scan:]


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def png(width=320, height=240, *, seed=1) -> bytes:
    out = io.BytesIO()
    image = picture(width, height, seed)
    image.save(out, "PNG", exif=private_exif().tobytes())
    return out.getvalue()


def tiff16(width=300, height=200) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((height, width), 40000, np.uint16)).save(out, "TIFF")
    return out.getvalue()


def tiff(width=300, height=200, *, seed=2) -> bytes:
    out = io.BytesIO()
    picture(width, height, seed).save(out, "TIFF", exif=private_exif().tobytes())
    return out.getvalue()


def heic(width=320, height=240, *, seed=3) -> bytes:
    out = io.BytesIO()
    picture(width, height, seed).save(out, "HEIF", exif=private_exif().tobytes())
    return out.getvalue()


def dng(width=256, height=192, *, seed=4, orientation=1, preview=None) -> bytes:
    """A minimal DNG: a colour filter array in a SubIFD and an RGB preview in IFD0.

    LibRaw (rawpy) opens it and hands back the preview, as it does for a camera's RAW file;
    like a camera's, the preview is stored as the sensor saw it and `orientation` says how to
    turn it (6: the camera was held upright). `preview`, an RGB array, replaces the default
    half-size picture.
    """
    rng = np.random.default_rng(seed)
    cfa = rng.integers(200, 3800, size=(height, width)).astype(np.uint16)
    if preview is None:
        preview = np.asarray(picture(width // 2, height // 2, seed))
    out = io.BytesIO()
    with tifffile.TiffWriter(out) as writer:
        writer.write(
            preview,
            photometric="rgb",
            subfiletype=1,
            subifds=1,
            extratags=[
                (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
                (50707, "B", 4, (1, 1, 0, 0), True),
                (271, "s", 0, "Canon", True),
                (272, "s", 0, "EOS R5", True),
                (50708, "s", 0, "Canon EOS R5", True),
                (274, "H", 1, orientation, True),  # Orientation
            ],
        )
        writer.write(
            cfa,
            photometric=32803,
            subfiletype=0,
            extratags=[
                (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
                (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern: RGGB
                (50717, "I", 1, 4095, True),  # WhiteLevel
            ],
        )
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_corrupt_exif(width=320, height=240, *, seed=10) -> bytes:
    """A whole, decodable PNG whose eXIf chunk is not a TIFF structure (Pillow: SyntaxError)."""
    out = io.BytesIO()
    picture(width, height, seed).save(out, "PNG")
    data = out.getvalue()
    idat = data.find(b"IDAT") - 4
    return data[:idat] + _png_chunk(b"eXIf", b"garbage, not a TIFF header") + data[idat:]


def png_bomb(side: int = 100_000) -> bytes:
    """A valid PNG header claiming side × side pixels, with a tiny compressed body."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def jpeg_bomb() -> bytes:
    """A small JPEG whose frame header claims 60000 × 60000 pixels."""
    data = bytearray(jpeg(64, 64))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)
    return bytes(data)


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nnewpath 0 0 moveto showpage\n"
SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def odd() -> dict[str, bytes]:
    """Odd but usable photos by name: accepted at upload, and every size is made from them."""
    return {"corrupt-exif.png": png_with_corrupt_exif()}


def hostile() -> dict[str, tuple[bytes, set[str]]]:
    """Hostile or broken files by name: (content, the rejection codes that fit it)."""
    good_jpeg, good_png, good_heic = jpeg(seed=9), png(seed=9), heic(seed=9)
    files = {
        "empty.jpg": (b"", "empty"),
        "bomb.png": (png_bomb(), "too_many_pixels"),
        "bomb.jpg": (jpeg_bomb(), "too_many_pixels"),
        "truncated.jpg": (good_jpeg[: len(good_jpeg) // 2], "truncated"),
        "truncated.png": (good_png[: len(good_png) // 2], "truncated"),
        # x265 output varies run to run, so where the cut lands (and what libheif says) varies.
        "truncated.heic": (good_heic[: len(good_heic) // 2], {"corrupt", "truncated"}),
        "truncated.dng": (dng()[:600], "corrupt"),
        "polyglot.png": (good_png + HTML, "trailing_data"),
        "polyglot.jpg": (good_jpeg + HTML, "trailing_data"),
        "drawing.jpg": (EPS, "unsupported_type"),
        "vector.jpg": (SVG, "unsupported_type"),
        "page.png": (HTML, "unsupported_type"),
        "animation.jpg": (b"GIF89a" + b"\x00" * 100, "unsupported_type"),
        "noise.jpg": (np.random.default_rng(5).bytes(5000), "unsupported_type"),
        "garbage-body.jpg": (good_jpeg[:400] + b"\x00" * 3000 + b"\xff\xd9", "truncated"),
        "garbage.tif": (b"II*\x00" + b"\x08\x00\x00\x00" + b"\xff" * 500, "corrupt"),
        "garbage.heic": (good_heic[:40] + b"\x00" * 400, "corrupt"),
    }
    return {
        name: (data, {codes} if isinstance(codes, str) else codes)
        for name, (data, codes) in files.items()
    }
