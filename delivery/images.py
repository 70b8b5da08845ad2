"""Photos as files: recognise, validate, decode and make renditions. No Django in this module.

Everything a client downloads is made here, and carries only the metadata we chose to keep:
copyright, creator and credit (and harmless capture facts), never GPS, serial numbers, owner names,
maker notes or comments. Originals are stored exactly as uploaded and only studio staff get them.
"""

import contextlib
import functools
import html
import io
import itertools
import re
import struct
import warnings
import zlib
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

from . import provenance

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
# IPTC Digital Source Type NewsCodes (cv.iptc.org/newscodes/digitalsourcetype/, 2024-09-17
# release). `algorithmicallyEnhanced` ("algorithmically-altered media": modification or correction
# by algorithm without changing the main content) is a retouch that only changed tones and colours;
# one that filled in content (healed spots) and a fill-in headshot (made from a member's own
# selfies) are `compositeWithTrainedAlgorithmicMedia`. `trainedAlgorithmicMedia` is for
# wholly generated images, which we never deliver.
DIGITAL_SOURCE_TYPE_URI = "http://cv.iptc.org/newscodes/digitalsourcetype/"
DIGITAL_SOURCE_TYPES = {
    "camera": "digitalCapture",
    "ai_retouch": "algorithmicallyEnhanced",
    "ai_fill_in": "compositeWithTrainedAlgorithmicMedia",
}
INPAINTED_SOURCE_TYPE = "compositeWithTrainedAlgorithmicMedia"
# The C2PA action each AI source records: a retouch edits the studio's photo, a fill-in is made.
C2PA_ACTIONS = {"ai_retouch": "c2pa.edited", "ai_fill_in": "c2pa.created"}


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
class Origin:
    """What a photo is, for the labels its files carry: a camera's, or the AI-assist's work."""

    source: str = "camera"  # camera / ai_retouch / ai_fill_in (delivery's Photo.Source)
    inpainted: bool = False  # the AI filled in content (healed spots), not only tones

    @property
    def is_ai(self) -> bool:
        return self.source != "camera"

    @property
    def digital_source_type(self) -> str:
        """The IPTC digital source type's URI."""
        term = DIGITAL_SOURCE_TYPES[self.source]
        if self.is_ai and self.inpainted:
            term = INPAINTED_SOURCE_TYPE
        return DIGITAL_SOURCE_TYPE_URI + term


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


def inspect(
    file: BinaryIO,
    *,
    size: int,
    max_bytes: int,
    max_pixels: int,
    max_strips: int,
    max_frames: int,
) -> ImageInfo:
    """Check that `file` is a whole, decodable photo within the limits; return what it is.

    Reads all of the image data, so truncated and corrupt files are caught here, at upload,
    rather than in a rendition task later: a PNG inflated as it streams by, without its pixels;
    a JPEG decoded at 1/8 scale; other kinds decoded whole (within `max_pixels`). Only the first
    of its frames (an APNG's, an MPO's, a TIFF's pages, a HEIC's images) is decoded, here and in
    the renditions; more than `max_frames` of them are refused before any is.
    """
    if size == 0:
        raise ImageRejected("empty")
    if size > max_bytes:
        raise ImageRejected("too_large", megabytes=max_bytes // 1_000_000)
    _check_tiff_strips(file, max_strips=max_strips)  # before Pillow or LibRaw reads the tags
    _check_tiff_pages(file, max_frames=max_frames)
    kind = kind_of(file)
    if kind == "png":
        _check_png_structure(file, max_frames=max_frames)
    if kind == "jpeg":
        _check_jpeg_structure(file, max_frames=max_frames)
    if kind == "heif":
        _check_heif_structure(file)
        _check_heif_images(file, max_frames=max_frames)
    if kind in ("tiff", "raw"):
        _check_no_archive_at_end(file)
    with _rejecting_damage():
        if kind == "png":  # checked as it streams by, never holding its pixels
            file.seek(0)
            image = _open_checked(file, max_pixels=max_pixels)
            _check_png_data(file, image)
            width, height = image.size
        else:
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


TIFF_BYTE_ORDERS = {b"II*\x00": "<", b"MM\x00*": ">"}
# (offsets, byte counts): StripOffsets/StripByteCounts, TileOffsets/TileByteCounts.
TIFF_STRIP_TAGS = ((273, 279), (324, 325))
TIFF_ARRAY_TYPES = {3: "H", 4: "I"}  # SHORT, LONG


def _check_tiff_strips(file: BinaryIO, *, max_strips: int) -> None:
    """Refuse a TIFF (or TIFF-based RAW) whose first directory has more than `max_strips` strips
    or tiles, or strips that share bytes, reading only that directory's entries.

    Decoders pay for every strip: a million one-row strips all pointing at one small block (8 MB)
    cost Pillow 2 s to open and 7 s to decode, and more than that again in the renditions. Real
    cameras and scanners write at most one strip per row and tiles of 256 px or more.
    """
    order, first = _tiff_header(file)
    if order is None:
        return
    entries = _tiff_entries(file, order, first)
    for offsets_tag, counts_tag in TIFF_STRIP_TAGS:
        if offsets_tag not in entries:
            continue
        if entries[offsets_tag][1] > max_strips:
            raise ImageRejected("too_many_strips", limit=max_strips)
        offsets = _tiff_array(file, order, entries[offsets_tag])
        counts = _tiff_array(file, order, entries.get(counts_tag))
        if offsets and counts and _overlapping(offsets, counts):
            raise ImageRejected("corrupt")


def _check_tiff_pages(file: BinaryIO, *, max_frames: int) -> None:
    """Refuse a TIFF (or TIFF-based RAW) whose chain of directories (its pages) is longer than
    `max_frames`, or loops back (`corrupt`), reading only each one's entry count and link.

    A page costs Pillow and LibRaw a directory read when they count or walk pages; we stop
    counting at the limit. Cameras write a few directories, scanners' documents a few dozen.
    """
    order, at = _tiff_header(file)
    if order is None:
        return
    seen = set()
    while at:
        if at in seen:
            raise ImageRejected("corrupt")
        seen.add(at)
        _check_frames(len(seen), max_frames=max_frames)
        file.seek(at)
        count = file.read(2)
        file.seek(at + 2 + 12 * int.from_bytes(count, _endian(order)))
        link = file.read(4)
        if len(count) < 2 or len(link) < 4:
            return  # cut short: the decoder says so, if it reads that far
        at = int.from_bytes(link, _endian(order))


def _check_frames(count: int, *, max_frames: int) -> None:
    if count > max_frames:
        raise ImageRejected("too_many_frames", limit=max_frames)


def _tiff_header(file: BinaryIO) -> tuple[str | None, int]:
    """A TIFF's byte order (None: not a TIFF) and where its first directory is."""
    file.seek(0)
    head = file.read(8)
    order = TIFF_BYTE_ORDERS.get(head[:4])
    return order, int.from_bytes(head[4:8], _endian(order or "<"))


def _endian(order: str) -> str:
    return "little" if order == "<" else "big"


def _tiff_entries(file: BinaryIO, order: str, at: int) -> dict[int, tuple[int, int, bytes]]:
    """The directory at `at`: tag → (type, count, value or offset); what cannot be read is left
    to the decoder to refuse."""
    file.seek(at)
    count = int.from_bytes(file.read(2), _endian(order))
    data = file.read(12 * count)
    return {
        tag: (kind, n, value)
        for tag, kind, n, value in struct.iter_unpack(order + "HHI4s", data[: len(data) // 12 * 12])
    }


def _tiff_array(file: BinaryIO, order: str, entry: tuple[int, int, bytes] | None) -> list[int]:
    if entry is None or entry[0] not in TIFF_ARRAY_TYPES:
        return []
    kind, count, value = entry
    code = TIFF_ARRAY_TYPES[kind]
    length = count * struct.calcsize(code)
    if length > 4:
        file.seek(int.from_bytes(value, _endian(order)))
        value = file.read(length)
    if len(value) < length:
        return []  # cut short: the decoder says so
    return list(struct.unpack(f"{order}{count}{code}", value[:length]))


def _overlapping(offsets: list[int], counts: list[int]) -> bool:
    """Whether two strips (or tiles) share bytes; empty ones (sparse tiles) share nothing."""
    spans = sorted(
        (start, length) for start, length in zip(offsets, counts, strict=False) if length
    )
    return any(a + a_length > b for (a, a_length), (b, _) in itertools.pairwise(spans))


# Where an archive tells its readers it is: ZIP readers look for the end record in the last
# 64 KB of a file, RAR and 7-Zip search for their signature, gzip is read from its first byte.
ZIP_END_SEARCH = 65_557  # the end record (22 bytes) and the longest comment it may have
ZIP_CENTRAL_ROOM = 1 << 20  # before the end record: a central directory of thousands of entries
ARCHIVE_SIGNATURES = re.compile(
    rb"PK\x03\x04|PK\x01\x02|PK\x05\x06|Rar!\x1a\x07|7z\xbc\xaf\x27\x1c"
)
ARCHIVE_ENDS = re.compile(rb"PK\x05\x06|Rar!\x1a\x07|7z\xbc\xaf\x27\x1c")
GZIP_AFTER_PADDING = re.compile(rb"\x00*\x1f\x8b\x08")
ZIP_METHODS = {0, 8, 9, 12, 14, 93, 95, 98, 99}  # stored, deflate(64), bzip2, LZMA, zstd...


def _archive_after(data: bytes, start: int) -> bool:
    """Whether an archive (ZIP, RAR, 7z, or gzip right at `start`) is in `data` after `start`."""
    return bool(GZIP_AFTER_PADDING.match(data, start)) or _archive_in(data, start)


def _archive_in(data: bytes, start: int = 0) -> bool:
    return any(_is_archive(data, found) for found in ARCHIVE_SIGNATURES.finditer(data, start))


def _is_archive(data: bytes, found: re.Match) -> bool:
    """Whether a signature found is an archive's: ZIP records are checked further, so that four
    chance bytes (in an MPO frame, a motion photo's video, a TIFF's pixels) are not one."""
    record = data[found.start() : found.start() + 22]
    if not record.startswith(b"PK"):
        return True  # RAR and 7z: signatures too long to be chance
    if len(record) < 22:
        return False
    if record[2:4] == b"\x05\x06":
        return _is_zip_end(data, found.start(), record)
    # Local header: version needed, then method at 8; central header: both two bytes later.
    at = 4 if record[2:4] == b"\x03\x04" else 6
    version, method = record[at : at + 2], int.from_bytes(record[at + 4 : at + 6], "little")
    return version[0] <= 63 and version[1] == 0 and method in ZIP_METHODS


def _is_zip_end(data: bytes, pos: int, record: bytes) -> bool:
    """An end record as ZIP readers take it: right after a ZIP64 locator, or for one disk, all
    its entries on it, right after a central directory (found where the record says)."""
    if data[max(0, pos - 20) : pos - 16] == b"PK\x06\x07":
        return True
    entries = int.from_bytes(record[10:12], "little")
    central = pos - int.from_bytes(record[12:16], "little")
    return (
        record[4:8] == bytes(4)
        and record[8:10] == record[10:12]
        and entries > 0
        and central >= 0
        and data[central : central + 4] == b"PK\x01\x02"
    )


def _check_no_archive_at_end(file: BinaryIO) -> None:
    """Formats without an end marker (TIFF, RAW): refuse an archive appended to them, found as
    archive readers find it, near the end of the file."""
    end = file.seek(0, io.SEEK_END)
    file.seek(max(0, end - ZIP_END_SEARCH - ZIP_CENTRAL_ROOM))
    tail = file.read()
    ends = ARCHIVE_ENDS.finditer(tail, max(0, len(tail) - ZIP_END_SEARCH))
    if any(_is_archive(tail, found) for found in ends):
        raise ImageRejected("trailing_data")


def _check_heif_structure(file: BinaryIO) -> None:
    """Walk the top-level boxes: once the image is whole (its meta and mdat boxes), only whole
    boxes may follow.

    Before that, what stops being boxes is damage, and a box past the end is the file cut short:
    both are left to the decoder to report.
    """
    end = file.seek(0, io.SEEK_END)
    pos, whole = 0, set()
    while pos < end:
        file.seek(pos)
        header = file.read(16)
        size = int.from_bytes(header[:4], "big")
        if size == 1:  # a 64-bit size follows the type
            size = int.from_bytes(header[8:16], "big")
        if size == 0:  # the last box, to the end of the file
            size = end - pos
        if len(header) < 8 or size < 8 or not header[4:8].isalnum() or pos + size > end:
            if {b"meta", b"mdat"} <= whole:
                raise ImageRejected("trailing_data")
            return
        whole.add(header[4:8])
        pos += size


def _check_heif_images(file: BinaryIO, *, max_frames: int) -> None:
    """Refuse a HEIC with more than `max_frames` top-level images (a burst, a collection), as
    libheif counts them from the boxes, decoding none; depth maps and thumbnails belong to
    their image and do not count."""
    file.seek(0)
    with _rejecting_damage():
        images = len(pillow_heif.open_heif(file))
    _check_frames(images, max_frames=max_frames)


def _png_chunks(file: BinaryIO) -> Iterator[tuple[bytes, int]]:
    """Yield each chunk's type and length up to IEND, `file` at the start of its data (what the
    caller leaves unread, data and CRC, is skipped)."""
    file.seek(8)
    while True:
        header = file.read(8)
        if len(header) < 8:
            raise ImageRejected("truncated")
        kind, start = header[4:8], file.tell()
        yield kind, int.from_bytes(header[:4], "big")
        file.seek(start + int.from_bytes(header[:4], "big") + 4)
        if kind == b"IEND":
            return


def _check_png_structure(file: BinaryIO, *, max_frames: int) -> None:
    """Walk the chunks: the file must end right after IEND (nothing appended, nothing cut), and
    an animation may have at most `max_frames` frames, as its acTL says and as its fcTL count."""
    controls = 0
    for kind, _ in _png_chunks(file):
        if kind == b"acTL":
            _check_frames(int.from_bytes(file.read(4), "big"), max_frames=max_frames)
        if kind == b"fcTL":
            controls += 1
            _check_frames(controls, max_frames=max_frames)
    end = file.tell()
    if file.seek(0, io.SEEK_END) < end:
        raise ImageRejected("truncated")
    if file.tell() > end:
        raise ImageRejected("trailing_data")


PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by colour type
# Adam7 interlacing: each pass's first column and row, and its steps.
ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)
PNG_FILTERS = 5  # none, sub, up, average, Paeth
PIECE = 1 << 20


def _check_png_data(file: BinaryIO, image: Image.Image) -> None:
    """Check a PNG as its decoder would, a megabyte at a time instead of all its pixels at once:
    every chunk's CRC, and image data that inflates to every row with a known filter.

    EXIF after the image data, which Pillow reads only with the pixels, is put where Pillow
    would put it, so that the metadata check reads it without decoding them.
    """
    rows, inflater, inflated, exif = [], zlib.decompressobj(), 0, b""
    for kind, length in _png_chunks(file):
        crc = zlib.crc32(kind)
        for piece in _pieces(file, length):
            crc = zlib.crc32(piece, crc)
            if kind == b"IHDR":
                rows = _png_rows(piece)
            elif kind == b"IDAT":
                inflated = _inflate_rows(inflater, piece, inflated, rows)
            elif kind == b"eXIf":
                exif += piece
        if file.read(4) != crc.to_bytes(4, "big"):
            raise ImageRejected("corrupt")
    if not rows or inflated < _png_data_size(rows):
        raise ImageRejected("truncated")
    image.info.setdefault("exif", b"Exif\x00\x00" + exif if exif else b"")


def _pieces(file: BinaryIO, length: int) -> Iterator[bytes]:
    while length > 0:
        piece = file.read(min(length, PIECE))
        if not piece:
            raise ImageRejected("truncated")
        length -= len(piece)
        yield piece


def _png_rows(ihdr: bytes) -> list[tuple[int, int, int]]:
    """Where each pass's rows lie in the inflated data: (offset, rows, bytes a row)."""
    try:
        width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", ihdr[:13])
        bits = depth * PNG_CHANNELS[colour]
    except (struct.error, KeyError):
        raise ImageRejected("corrupt") from None
    rows, offset = [], 0
    for x, y, step_x, step_y in ADAM7 if interlace else ((0, 0, 1, 1),):
        columns, count = -(-(width - x) // step_x), -(-(height - y) // step_y)
        if columns > 0 and count > 0:
            stride = 1 + -(-columns * bits // 8)  # each row starts with its filter type
            rows.append((offset, count, stride))
            offset += count * stride
    return rows


def _png_data_size(rows: list[tuple[int, int, int]]) -> int:
    offset, count, stride = rows[-1]
    return offset + count * stride


def _inflate_rows(inflater, data: bytes, inflated: int, rows: list[tuple[int, int, int]]) -> int:
    """Inflate `data`, a piece of the image data, checking the filter type of each row it holds;
    return how much has been inflated. What follows the last row is not inflated at all."""
    needed = _png_data_size(rows) if rows else 0
    while data and inflated < needed and not inflater.eof:
        try:
            out = inflater.decompress(data, min(PIECE, needed - inflated))
        except zlib.error:
            raise ImageRejected("corrupt") from None
        data = inflater.unconsumed_tail
        if _bad_filter(np.frombuffer(out, np.uint8), inflated, rows):
            raise ImageRejected("corrupt")
        inflated += len(out)
    return inflated


def _bad_filter(out: np.ndarray, at: int, rows: list[tuple[int, int, int]]) -> bool:
    """Whether a row starting in `out` (inflated data from offset `at`) has an unknown filter."""
    for offset, count, stride in rows:
        low, high = max(at, offset), min(at + len(out), offset + count * stride)
        first = offset + -(-(low - offset) // stride) * stride
        if first < high and (out[first - at : high - at : stride] >= PNG_FILTERS).any():
            return True
    return False


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


def _check_jpeg_structure(file: BinaryIO, *, max_frames: int) -> None:
    file.seek(0)
    data = file.read()
    end = _jpeg_primary_end(data)
    if end < 0:
        raise ImageRejected("truncated")
    _check_frames(_mpo_images(data), max_frames=max_frames)
    # Cameras append more JPEGs (MPO) or maker trailers; markup or an archive (whatever its
    # compression hides) after the photo is a polyglot.
    if MARKUP.search(data, end) or _archive_after(data, end):
        raise ImageRejected("trailing_data")


MP_NUMBER_OF_IMAGES = 0xB001


def _mpo_images(data: bytes) -> int:
    """How many images an MPO's MP index (APP2 "MPF", in the primary's header) says it holds,
    the count Pillow takes and reads that many entries for; 1 for a plain JPEG."""
    images = 1
    for marker, start, end in _jpeg_segments(data):
        if marker == 0xDA:  # the header ends at the first scan
            break
        if marker == 0xE2 and data[start + 4 : start + 8] == b"MPF\x00":
            images = max(images, _mp_number_of_images(io.BytesIO(data[start + 8 : end])))
    return images


def _mp_number_of_images(index: BinaryIO) -> int:
    """The MP index's NumberOfImages (a TIFF structure); what cannot be read is Pillow's to
    refuse."""
    order, first = _tiff_header(index)
    entry = _tiff_entries(index, order, first).get(MP_NUMBER_OF_IMAGES) if order else None
    if entry is None or entry[0] != 4:  # LONG
        return 1
    return int.from_bytes(entry[2], _endian(order))


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


def decode(
    file: BinaryIO, kind: str, *, max_pixels: int, long_edge: int | None = None
) -> Image.Image:
    """Decode the image (RAW: its preview), or raise ImageRejected; never anything else.

    With `long_edge`, a JPEG decodes at the smallest DCT scale (1/2, 1/4, 1/8) that keeps it.
    """
    with _rejecting_damage():
        return _load(file, kind, max_pixels=max_pixels, draft_edge=long_edge)[0]


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
        taken_at = _taken_at(image)
        image = to_srgb(_upright(image))  # one name: each step lets go of the one before
        if max(image.size) > long_edge * 1.5:
            image.thumbnail((long_edge, long_edge), Image.Resampling.BILINEAR, reducing_gap=2.0)
        return AnalysisImage(np.asarray(image), size, taken_at)


def _taken_at(image: Image.Image) -> datetime | None:
    exif = image.getexif()
    stamp = exif.get_ifd(IFD.Exif).get(0x9003) or exif.get(0x0132)  # DateTimeOriginal, DateTime
    try:
        return datetime.strptime(_text(stamp), "%Y:%m:%d %H:%M:%S") if stamp else None
    except ValueError:
        return None


def _check_metadata(image: Image.Image) -> None:
    """Read the metadata as renditions will, so a failure there is a clean refusal here."""
    if not _exif_readable(image):
        return  # counts as none (readable_metadata): XMP is all that is left to read
    try:
        read_credits(image)
        clean_exif(image, keep_orientation=True)
    except Exception as error:
        raise ImageRejected("corrupt") from error


def readable_metadata(image: Image.Image) -> Image.Image:
    """Return `image`, or a copy without EXIF when its EXIF block cannot be read.

    Pixels can be fine while the EXIF is not (Pillow raises SyntaxError, ValueError...): such
    EXIF counts as none, so the photo stays usable and nothing in the damaged block is passed on.
    """
    if _exif_readable(image):
        return image
    stripped = image.copy()  # a plain image: a TIFF's own tags are not read again either
    for key in ("exif", "Raw profile type exif"):
        stripped.info.pop(key, None)
    return stripped


def _exif_readable(image: Image.Image) -> bool:
    try:
        image.getexif().get_ifd(IFD.Exif)
        return True
    except Exception:
        return False


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


def xmp_packet(credits: Credits, *, origin: Origin) -> bytes:
    """An XMP packet with the rights, the credit and the IPTC digital source type."""
    esc = html.escape
    parts = [
        f"<Iptc4xmpExt:DigitalSourceType>{origin.digital_source_type}"
        "</Iptc4xmpExt:DigitalSourceType>"
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
    """Return an 8-bit RGB image in sRGB: embedded profiles converted, transparency on white.

    Never more than one full-size image besides `image`: an RGB one is converted in place and
    returned, transparency is flattened a band of rows at a time.
    """
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        image = Image.fromarray((np.asarray(image) >> 8).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        return _on_white(image)
    profile = image.info.get("icc_profile")
    if profile and image.mode in ("RGB", "CMYK", "L"):
        try:
            return _profile_to_srgb(image, profile)
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: fall through to a plain conversion
    return image if image.mode == "RGB" else image.convert("RGB")


def _profile_to_srgb(image: Image.Image, profile: bytes) -> Image.Image:
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    srgb = ImageCms.createProfile("sRGB")
    if image.mode != "RGB":
        return ImageCms.profileToProfile(image, source, srgb, outputMode="RGB")
    ImageCms.profileToProfile(image, source, srgb, inPlace=True)
    del image.info["icc_profile"]  # its pixels are sRGB now: never converted twice
    return image


BAND_ROWS = 256


def _on_white(image: Image.Image) -> Image.Image:
    flat = Image.new("RGB", image.size, "white")
    for top in range(0, image.height, BAND_ROWS):
        band = image.crop((0, top, image.width, min(top + BAND_ROWS, image.height)))
        band = band.convert("RGBA")
        flat.paste(band, (0, top), mask=band)  # an RGBA mask: its alpha
    return flat


def _upright(image: Image.Image) -> Image.Image:
    """`image`, turned in place as its EXIF orientation says."""
    ImageOps.exif_transpose(image, in_place=True)
    return image


def _fit(size: tuple[int, int], edge: int) -> tuple[int, int]:
    """The size of a photo of `size` shrunk to fit `edge` × `edge` (never enlarged)."""
    scale = min(1.0, edge / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


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


def _encode_jpeg(
    image: Image.Image, *, quality: int, exif: Image.Exif, xmp: bytes, streamed: bool = False
) -> bytes:
    """Encode with only the metadata given here: Pillow's JPEG encoder falls back on
    `image.info` for a comment it is not given, and the source's (a JPEG's COM segment, a PNG's
    `comment` text chunk) would pass into every size.

    `streamed` encodes row by row (baseline, standard Huffman tables): optimised or progressive
    coding holds every DCT coefficient of the image, 3.5 bytes a pixel, for a file 7% smaller.
    """
    out = io.BytesIO()
    image.save(
        out,
        "JPEG",
        quality=quality,
        optimize=not streamed,
        progressive=not streamed and image.width * image.height > 1_000_000,
        icc_profile=_srgb_profile(),
        exif=exif.tobytes(),
        xmp=xmp,
        comment=b"",
        extra=b"",
    )
    return out.getvalue()


def renditions(
    file: BinaryIO,
    kind: str,
    *,
    max_pixels: int,
    watermark_text: str,
    origin: Origin = Origin(),
    signer: provenance.Signer | None = None,
) -> dict[str, bytes]:
    """Make every client size: thumb, web, proof (watermarked) and full; all JPEG, sRGB.

    Each carries the photo's digital source type in XMP; an AI photo's sizes also carry a C2PA
    manifest signed by `signer` (required for them), so no AI file leaves unsigned.

    `full` of a JPEG original is the original's own image data with its metadata cleaned
    (lossless), so a JPEG is decoded only at the DCT scale its web size needs; of other kinds, a
    full-size high-quality JPEG. Memory: the decoded photo, one more full-size image at most
    while it is turned or its colours converted, and a quarter of one while the web size is made
    from it; every smaller size is made from the web size.
    """
    if origin.is_ai and signer is None:
        raise ValueError("an AI photo's renditions are signed: pass its signer")
    jpeg = kind == "jpeg"
    image = decode(file, kind, max_pixels=max_pixels, long_edge=WEB_EDGE if jpeg else None)
    image = readable_metadata(image)
    credits = read_credits(image)
    exif = clean_exif(image, keep_orientation=False)
    oriented_exif = clean_exif(image, keep_orientation=True)
    xmp = xmp_packet(credits, origin=origin)
    image = to_srgb(_upright(image))  # one name: each step lets go of the one before
    web = image.resize(_fit(image.size, WEB_EDGE), Image.Resampling.LANCZOS, reducing_gap=2.0)
    made = {}
    for name, edge, quality, mark in (
        ("thumb", THUMB_EDGE, 82, False),
        ("web", WEB_EDGE, 88, False),
        ("proof", PROOF_EDGE, 80, True),
    ):
        sized = web.resize(_fit(image.size, edge), Image.Resampling.LANCZOS, reducing_gap=2.0)
        if mark:
            sized = watermark(sized, watermark_text)
        made[name] = _encode_jpeg(sized, quality=quality, exif=exif, xmp=xmp)
    if jpeg:
        file.seek(0)
        made["full"] = clean_jpeg(file.read(), exif=oriented_exif, xmp=xmp)
    else:
        made["full"] = _encode_jpeg(image, quality=95, exif=exif, xmp=xmp, streamed=True)
    if origin.is_ai:
        made = {name: _signed(data, origin, signer) for name, data in made.items()}
    return made


def _signed(data: bytes, origin: Origin, signer: provenance.Signer) -> bytes:
    """`data` with its C2PA manifest (JUMBF in APP11 segments, the one addition to the kept
    metadata): the action and the same digital source type as its XMP."""
    return provenance.sign_jpeg(
        data,
        signer=signer,
        action=C2PA_ACTIONS[origin.source],
        digital_source_type=origin.digital_source_type,
    )


# JPEG segments kept by the lossless clean: JFIF (APP0, without its thumbnail), ICC profile
# (APP2) and Adobe's colour transform (APP14) from the header, and everything that is image data.
# EXIF is replaced; XMP, IPTC (APP13), MPF and comments are dropped, and so is every APPn or
# comment between or after the scans, and whatever else an APP0 or APP14 segment was made to hold.
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
        if marker == 0xE0 and in_header and segment[4:9] == b"JFIF\x00" and len(segment) >= 18:
            jfif[:] = [b"\xff\xe0\x00\x10" + segment[4:16] + b"\x00\x00"]  # 0 x 0 thumbnail
        elif marker == 0xEE and in_header and segment[4:9] == b"Adobe" and len(segment) >= 16:
            kept.append(b"\xff\xee\x00\x0e" + segment[4:16])
        elif marker == 0xE2 and in_header and segment[4:16] == b"ICC_PROFILE\x00":
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
