"""Photos as files: recognise, validate, decode and make renditions. No Django in this module.

Everything a client downloads is made here, and carries only the metadata we chose to keep:
copyright, creator and credit (and harmless capture facts), never GPS, serial numbers, owner names,
maker notes or comments. Originals are stored exactly as uploaded and only studio staff get them.
"""

import contextlib
import functools
import html
import io
import re
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

import numpy as np
import pillow_heif
import rawpy
from PIL import Image, ImageCms, ImageDraw, ImageFont, ImageOps
from PIL.ExifTags import IFD

from studio.errors import DomainError

pillow_heif.register_heif_opener()

THUMB_EDGE = 400
WEB_EDGE = 2048
PROOF_EDGE = 1600
# Long edge the AI-assist analyses at: faces and sharpness are measured at about this size.
ANALYSIS_LONG_EDGE = 1280

CONTENT_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "tiff": "image/tiff",
    "heif": "image/heif",
    "raw": "image/x-raw",
}
EXTENSIONS = {"jpeg": "jpg", "png": "png", "tiff": "tif", "heif": "heic", "raw": "raw"}
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
MARKUP = re.compile(rb"<\s*(html|script|svg|body|iframe|!doctype|\?php)", re.IGNORECASE)

# Metadata a client may receive. IFD0: make, model, artist, copyright.
KEEP_IFD0 = {0x010F, 0x0110, 0x013B, 0x8298}
# Exif IFD: when and how it was taken (date, exposure, aperture, ISO, focal length, lens model).
KEEP_EXIF = {0x9003, 0x829A, 0x829D, 0x8827, 0x920A, 0xA434}
DIGITAL_SOURCE_TYPES = {
    "camera": "digitalCapture",
    "ai_retouch": "compositeWithTrainedAlgorithmicMedia",
    "ai_fill_in": "trainedAlgorithmicMedia",
}


class ImageRejected(DomainError):
    """A file that is not a photo we accept, with a code of the catalogue."""


@dataclass(frozen=True)
class ImageInfo:
    kind: str
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.kind]


@dataclass(frozen=True)
class AnalysisImage:
    """A photo decoded for the AI-assist: upright, RGB, smaller than stored."""

    image: np.ndarray  # RGB uint8 (H, W, 3), upright
    original_size: tuple[int, int]  # width, height as stored (RAW: the sensor's), before turning
    taken_at: datetime | None  # EXIF DateTimeOriginal (the camera's local time, naive)


@dataclass(frozen=True)
class Credits:
    """The rights metadata kept on every client download."""

    copyright: str = ""
    creator: str = ""
    credit: str = ""


def sniff(head: bytes) -> str:
    """Return the kind of file from its first bytes (never its name), or raise ImageRejected."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "raw" if head[8:10] == b"CR" else "tiff"  # Canon CR2 is a TIFF with a marker
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR", b"IIU\x00") or head.startswith(b"FUJIFILMCCD-RAW"):
        return "raw"  # Olympus ORF, Panasonic RW2, Fujifilm RAF
    if head[4:8] == b"ftyp":
        if head[8:12] == b"crx ":
            return "raw"  # Canon CR3
        if head[8:12] in HEIF_BRANDS:
            return "heif"
    if head.startswith((b"%!PS", b"\xc5\xd0\xd3\xc6")):
        raise ImageRejected("unsupported_type")
    if re.match(rb"\s*(<\?xml|<svg|<!--)", head[:256]) and b"<svg" in head.lower():
        raise ImageRejected("unsupported_type")
    raise ImageRejected("unsupported_type")


def inspect(file: BinaryIO, *, size: int, max_bytes: int, max_pixels: int) -> ImageInfo:
    """Check that `file` is a whole, decodable photo within the limits; return what it is.

    Decodes the image completely, so truncated and corrupt files are caught here, at upload,
    rather than in a rendition task later.
    """
    if size == 0:
        raise ImageRejected("empty")
    if size > max_bytes:
        raise ImageRejected("too_large", megabytes=max_bytes // 1_000_000)
    kind = kind_of(file)
    if kind == "png":
        _check_png_structure(file)
    if kind == "jpeg":
        _check_jpeg_structure(file)
    with _rejecting_damage():
        # At reduced scale, which changes image.size: the original's size comes with it.
        image, (width, height) = _load(file, kind, max_pixels=max_pixels, draft_edge=SMALLEST)
    _check_metadata(image)
    return ImageInfo(kind=kind, width=width, height=height)


def kind_of(file: BinaryIO) -> str:
    """Return the kind of photo in `file`, from its content, or raise ImageRejected."""
    file.seek(0)
    kind = sniff(file.read(64))
    if kind == "tiff" and _tiff_is_raw(file):
        kind = "raw"
    return kind


def _tiff_is_raw(file: BinaryIO) -> bool:
    """A TIFF whose first directory says DNG, a colour filter array, or a reduced preview."""
    file.seek(0)
    try:
        tags = Image.open(file).tag_v2
        return bool(
            50706 in tags  # DNGVersion
            or tags.get(262) == 32803  # PhotometricInterpretation: CFA
            or (tags.get(254, 0) & 1 and 330 in tags)  # NEF, ARW, PEF: preview + SubIFDs
        )
    except Exception:
        return True  # not a TIFF Pillow reads: let LibRaw have a go, it rejects cleanly


def _check_png_structure(file: BinaryIO) -> None:
    """Walk the chunks: the file must end right after IEND (nothing appended, nothing cut)."""
    file.seek(8)
    while True:
        header = file.read(8)
        if len(header) < 8:
            raise ImageRejected("truncated")
        length = int.from_bytes(header[:4], "big")
        file.seek(length + 4, io.SEEK_CUR)
        if header[4:8] == b"IEND":
            break
    end = file.tell()
    if file.seek(0, io.SEEK_END) < end:
        raise ImageRejected("truncated")
    if file.tell() > end:
        raise ImageRejected("trailing_data")


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """Yield (marker, start, end) of the primary image's segments, up to and including EOI.

    A scan (SOS) runs on to the end of its entropy-coded data. Stops early where the data is cut
    short or stops being JPEG: callers check that the last segment yielded was EOI.
    """
    pos = 2
    while pos + 2 <= len(data):
        if data[pos] != 0xFF:
            return
        marker, start = data[pos + 1], pos
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, 0xD9) or 0xD0 <= marker <= 0xD7:  # no length field
            pos += 2
        else:
            pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA and (pos := _entropy_end(data, pos)) < 0:
            return
        yield marker, start, pos
        if marker == 0xD9:
            return


def _entropy_end(data: bytes, pos: int) -> int:
    """Offset of the marker that ends entropy-coded data starting at `pos`, or -1 if none does.

    Inside it, 0xFF00 is a stuffed 0xFF, RSTn markers and fill bytes are part of the data.
    """
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            return -1
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos += 2
        elif following == 0xFF:
            pos += 1
        else:
            return pos


def _jpeg_primary_end(data: bytes) -> int:
    """Return the offset just after the primary image's EOI marker, or -1 when there is none."""
    for marker, _, end in _jpeg_segments(data):
        if marker == 0xD9:
            return end
    return -1


def _check_jpeg_structure(file: BinaryIO) -> None:
    file.seek(0)
    data = file.read()
    end = _jpeg_primary_end(data)
    if end < 0:
        raise ImageRejected("truncated")
    # Cameras append more JPEGs (MPO) or maker trailers; markup after the photo is a polyglot.
    if MARKUP.search(data, end):
        raise ImageRejected("trailing_data")


def _open_checked(file: BinaryIO, *, max_pixels: int) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(file)
        except Image.DecompressionBombError:
            raise _too_many_pixels(max_pixels) from None
    if image.width * image.height > max_pixels:
        raise _too_many_pixels(max_pixels)
    return image


def _too_many_pixels(max_pixels: int) -> ImageRejected:
    return ImageRejected("too_many_pixels", megapixels=max_pixels // 1_000_000)


ORIENTATION = 0x0112
# LibRaw's `flip`: 3 is 180°, 5 is 90° counter-clockwise, 6 is 90° clockwise.
RAW_FLIPS = {
    3: Image.Transpose.ROTATE_180,
    5: Image.Transpose.ROTATE_90,
    6: Image.Transpose.ROTATE_270,
}


def _raw_preview(
    file: BinaryIO, *, max_pixels: int, draft_edge: int | None
) -> tuple[Image.Image, tuple[int, int]]:
    """The camera's embedded preview of a RAW file (or a quick half-size development), turned
    as the camera was held, and the sensor's size."""
    with rawpy.imread(file) as raw:
        if raw.sizes.raw_width * raw.sizes.raw_height > max_pixels:
            raise _too_many_pixels(max_pixels)
        size = (raw.sizes.width, raw.sizes.height)
        try:
            thumb = raw.extract_thumb()
        except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
            # LibRaw's development turns the image itself.
            return Image.fromarray(raw.postprocess(half_size=True, use_camera_wb=True)), size
        if thumb.format == rawpy.ThumbFormat.JPEG:
            preview = _open_checked(io.BytesIO(thumb.data), max_pixels=max_pixels)
            _draft(preview, draft_edge)
            preview.load()
        else:
            preview = Image.fromarray(thumb.data)
        if preview.getexif().get(ORIENTATION, 1) == 1 and raw.sizes.flip in RAW_FLIPS:
            # The preview is stored as the sensor saw it; the RAW says how the camera was held.
            preview = preview.transpose(RAW_FLIPS[raw.sizes.flip])
        return preview, size


# Asked for a long edge of 1 pixel, JPEG decodes at its smallest scale, 1/8.
SMALLEST = 1


def _draft(image: Image.Image, long_edge: int | None) -> None:
    """Let a JPEG decode at the smallest DCT scale (1/2, 1/4, 1/8) that keeps `long_edge`."""
    if long_edge is None or image.format != "JPEG":
        return
    scale = min(1.0, long_edge / max(image.size))
    image.draft("RGB", (max(1, int(image.width * scale)), max(1, int(image.height * scale))))


def _load(
    file: BinaryIO, kind: str, *, max_pixels: int, draft_edge: int | None
) -> tuple[Image.Image, tuple[int, int]]:
    """Decode the image (RAW: its preview, upright); return it and the original's size."""
    file.seek(0)
    if kind == "raw":
        return _raw_preview(file, max_pixels=max_pixels, draft_edge=draft_edge)
    image = _open_checked(file, max_pixels=max_pixels)
    size = image.size
    _draft(image, draft_edge)
    image.load()
    return image, size


@contextlib.contextmanager
def _rejecting_damage() -> Iterator[None]:
    """Turn whatever a decoder raises into ImageRejected."""
    try:
        yield
    except ImageRejected:
        raise
    # Decoders report damage through many exception types (OSError, SyntaxError, ValueError,
    # struct.error, LibRaw's errors...); hostile input must end as a clean rejection, never a 500.
    except Exception as error:
        if "truncated" in str(error).lower():
            raise ImageRejected("truncated") from None
        raise ImageRejected("corrupt") from (error)


def decode(file: BinaryIO, kind: str, *, max_pixels: int, reduce: bool = False) -> Image.Image:
    """Decode the whole image (RAW: its preview), or raise ImageRejected; never anything else.

    `reduce` lets JPEG decode at 1/8 scale: every byte is still read, so damage is still found.
    """
    with _rejecting_damage():
        return _load(file, kind, max_pixels=max_pixels, draft_edge=SMALLEST if reduce else None)[0]


def decode_for_analysis(
    file: BinaryIO, kind: str, *, max_pixels: int, long_edge: int = ANALYSIS_LONG_EDGE
) -> AnalysisImage:
    """Decode a photo upright with its long edge about `long_edge` (never less, unless the photo
    is smaller), or raise ImageRejected.

    JPEG, a RAW's preview included, decodes at 1/2, 1/4 or 1/8 scale in the DCT; other kinds
    decode whole and are then shrunk. Colours and EXIF are read as renditions read them.
    """
    with _rejecting_damage():
        image, size = _load(file, kind, max_pixels=max_pixels, draft_edge=long_edge)
        image = readable_metadata(image)
        upright = to_srgb(ImageOps.exif_transpose(image))
        if max(upright.size) > long_edge * 1.5:
            upright.thumbnail((long_edge, long_edge), Image.Resampling.BILINEAR, reducing_gap=2.0)
        return AnalysisImage(np.asarray(upright), size, _taken_at(image))


def _taken_at(image: Image.Image) -> datetime | None:
    exif = image.getexif()
    stamp = exif.get_ifd(IFD.Exif).get(0x9003) or exif.get(0x0132)  # DateTimeOriginal, DateTime
    try:
        return datetime.strptime(_text(stamp), "%Y:%m:%d %H:%M:%S") if stamp else None
    except ValueError:
        return None


def _check_metadata(image: Image.Image) -> None:
    """Read the metadata as renditions will, so a failure there is a clean refusal here."""
    try:
        image = readable_metadata(image)
        read_credits(image)
        clean_exif(image, keep_orientation=True)
    except Exception as error:
        raise ImageRejected("corrupt") from error


def readable_metadata(image: Image.Image) -> Image.Image:
    """Return `image`, or a copy without EXIF when its EXIF block cannot be read.

    Pixels can be fine while the EXIF is not (Pillow raises SyntaxError, ValueError...): such
    EXIF counts as none, so the photo stays usable and nothing in the damaged block is passed on.
    """
    try:
        image.getexif().get_ifd(IFD.Exif)
        return image
    except Exception:
        stripped = image.copy()  # a plain image: a TIFF's own tags are not read again either
        for key in ("exif", "Raw profile type exif"):
            stripped.info.pop(key, None)
        return stripped


def read_credits(image: Image.Image) -> Credits:
    """Copyright, creator and credit from the image's EXIF and XMP."""
    exif = image.getexif()
    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
    if isinstance(xmp, str):
        xmp = xmp.encode()
    return Credits(
        copyright=_text(exif.get(0x8298)) or _xmp_value(xmp, "dc:rights"),
        creator=_text(exif.get(0x013B)) or _xmp_value(xmp, "dc:creator"),
        credit=_xmp_value(xmp, "photoshop:Credit"),
    )


def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value or "").strip("\x00 ")


def _xmp_value(xmp: bytes, name: str) -> str:
    xmp = xmp[:1_000_000].decode("utf-8", "replace")
    attribute = re.search(rf'{name}="([^"]*)"|{name}=\'([^\']*)\'', xmp)
    if attribute:
        return html.unescape(attribute.group(1) or attribute.group(2) or "").strip()
    element = re.search(rf"<{name}\b[^>]*>(.*?)</{name}>", xmp, re.DOTALL)
    if not element:
        return ""
    inner = element.group(1)
    item = re.search(r"<rdf:li\b[^>]*>(.*?)</rdf:li>", inner, re.DOTALL)
    return html.unescape(item.group(1) if item else inner).strip()


def clean_exif(image: Image.Image, *, keep_orientation: bool) -> Image.Exif:
    """A new EXIF block holding only what a client may receive."""
    source = image.getexif()
    exif = Image.Exif()
    for tag in KEEP_IFD0 | ({ORIENTATION} if keep_orientation else set()):
        if tag in source:
            exif[tag] = source[tag]
    details = {tag: v for tag, v in source.get_ifd(IFD.Exif).items() if tag in KEEP_EXIF}
    if details:
        exif[IFD.Exif] = details
    return exif


def xmp_packet(credits: Credits, *, source: str) -> bytes:
    """An XMP packet with the rights, the credit and the IPTC digital source type."""
    esc = html.escape
    digital_source = DIGITAL_SOURCE_TYPES[source]
    parts = [
        f"<Iptc4xmpExt:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/"
        f"{digital_source}</Iptc4xmpExt:DigitalSourceType>"
    ]
    if credits.copyright:
        parts.append(
            f'<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">{esc(credits.copyright)}'
            "</rdf:li></rdf:Alt></dc:rights>"
        )
    if credits.creator:
        parts.append(f"<dc:creator><rdf:Seq><rdf:li>{esc(credits.creator)}</rdf:li></rdf:Seq>")
        parts[-1] += "</dc:creator>"
    if credits.credit:
        parts.append(f"<photoshop:Credit>{esc(credits.credit)}</photoshop:Credit>")
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
        + "".join(parts)
        + "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


# The ICC header's creation time (bytes 24-35: year, month, day, hour, minute, second).
SRGB_PROFILE_DATE = struct.pack(">6H", 2024, 1, 1, 0, 0, 0)


@functools.cache
def _srgb_profile() -> bytes:
    """The sRGB profile embedded in every rendition, dated once for all time.

    LittleCMS stamps a new profile with the current time, which made every rendition differ from
    the last; the same photo must give the same bytes (repeated tasks, checksums, caches).
    """
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return profile[:24] + SRGB_PROFILE_DATE + profile[36:]  # no profile ID (MD5) to redo


def to_srgb(image: Image.Image) -> Image.Image:
    """Return an 8-bit RGB image in sRGB: embedded profiles converted, transparency on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        image = Image.fromarray((np.asarray(image).astype(np.uint32) >> 8).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", image.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    profile = image.info.get("icc_profile")
    if profile and image.mode in ("RGB", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            srgb = ImageCms.createProfile("sRGB")
            return ImageCms.profileToProfile(image, source, srgb, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: fall through to a plain conversion
    return image.convert("RGB")


def watermark(image: Image.Image, text: str) -> Image.Image:
    """Tile `text` diagonally over the image, half transparent, so a proof stays a proof."""
    width, height = image.size
    size = max(14, min(width, height) // 12)
    font = ImageFont.load_default(size=size)
    diagonal = int((width**2 + height**2) ** 0.5)
    layer = Image.new("RGBA", (diagonal, diagonal), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    step_y = size * 3
    label = f"  {text}  ·" * 8
    for row, y in enumerate(range(0, diagonal, step_y)):
        x = -(row % 2) * size * 4
        draw.text((x, y), label, font=font, fill=(255, 255, 255, 110))
        draw.text((x + 2, y + 2), label, font=font, fill=(0, 0, 0, 70))
    layer = layer.rotate(30, resample=Image.Resampling.BICUBIC)
    left, top = (diagonal - width) // 2, (diagonal - height) // 2
    layer = layer.crop((left, top, left + width, top + height))
    marked = image.convert("RGBA")
    marked.alpha_composite(layer)
    return marked.convert("RGB")


def _encode_jpeg(image: Image.Image, *, quality: int, exif: Image.Exif, xmp: bytes) -> bytes:
    out = io.BytesIO()
    image.save(
        out,
        "JPEG",
        quality=quality,
        optimize=True,
        progressive=image.width * image.height > 1_000_000,
        icc_profile=_srgb_profile(),
        exif=exif.tobytes(),
        xmp=xmp,
    )
    return out.getvalue()


def renditions(
    file: BinaryIO, kind: str, *, max_pixels: int, watermark_text: str, source: str = "camera"
) -> dict[str, bytes]:
    """Make every client size: thumb, web, proof (watermarked) and full; all JPEG, sRGB.

    `full` of a JPEG original is the original's own image data with its metadata cleaned
    (lossless); of other kinds, a full-size high-quality JPEG.
    """
    source_image = readable_metadata(decode(file, kind, max_pixels=max_pixels))
    credits = read_credits(source_image)
    exif = clean_exif(source_image, keep_orientation=False)
    xmp = xmp_packet(credits, source=source)
    upright = to_srgb(ImageOps.exif_transpose(source_image))
    made = {}
    for name, edge, quality, mark in (
        ("thumb", THUMB_EDGE, 82, False),
        ("web", WEB_EDGE, 88, False),
        ("proof", PROOF_EDGE, 80, True),
    ):
        sized = upright.copy()
        sized.thumbnail((edge, edge), Image.Resampling.LANCZOS)
        if mark:
            sized = watermark(sized, watermark_text)
        made[name] = _encode_jpeg(sized, quality=quality, exif=exif, xmp=xmp)
    if kind == "jpeg":
        file.seek(0)
        oriented_exif = clean_exif(source_image, keep_orientation=True)
        made["full"] = clean_jpeg(file.read(), exif=oriented_exif, xmp=xmp)
    else:
        made["full"] = _encode_jpeg(upright, quality=95, exif=exif, xmp=xmp)
    return made


# JPEG segments kept by the lossless clean: JFIF (APP0), ICC profile (APP2) and Adobe (APP14)
# from the header, and everything that is image data. EXIF is replaced; XMP, IPTC (APP13), MPF
# and comments are dropped, and so is every APPn or comment between or after the scans.
def clean_jpeg(data: bytes, *, exif: Image.Exif, xmp: bytes) -> bytes:
    """Return the JPEG's primary image with only the given EXIF and XMP; pixels untouched."""
    segments = list(_jpeg_segments(data))
    if not segments or segments[-1][0] != 0xD9:
        raise ImageRejected("truncated")
    jfif, kept, image_data = [], [], []
    in_header = True
    for marker, start, end in segments:
        segment = data[start:end]
        in_header = in_header and marker != 0xDA
        if marker == 0xE0 and in_header:
            jfif.append(segment)
        elif in_header and (
            marker == 0xEE or (marker == 0xE2 and segment[4:16] == b"ICC_PROFILE\x00")
        ):
            kept.append(segment)
        elif not (0xE0 <= marker <= 0xEF or marker == 0xFE):
            image_data.append(segment)
    metadata = [_app1(exif.tobytes()), _app1(b"http://ns.adobe.com/xap/1.0/\x00" + xmp)]
    return b"".join([b"\xff\xd8", *jfif, *metadata, *kept, *image_data])


def _app1(payload: bytes) -> bytes:
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


def private_metadata(data: bytes) -> dict[str, object]:
    """What private metadata a JPEG still carries (for checks): GPS, serials, owner, notes."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        found: dict[str, object] = {}
        gps = exif.get_ifd(IFD.GPSInfo)
        if gps:
            found["gps"] = dict(gps)
        details = exif.get_ifd(IFD.Exif)
        for tag, name in ((0xA431, "serial"), (0xA430, "owner"), (0x927C, "maker_note")):
            if tag in details:
                found[name] = details[tag]
        xmp = image.info.get("xmp") or b""
        if b"exif:GPS" in xmp or b"GPSLatitude" in xmp:
            found["xmp_gps"] = True
        if b"\xff\xed" in data[: data.find(b"\xff\xda")]:
            found["iptc_segment"] = True
        return found
