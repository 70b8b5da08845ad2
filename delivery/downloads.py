"""Sending photos: one file (streamed from disk, or a short-lived signed S3 URL), or a ZIP.

The ZIP is streamed as it is made: stored (JPEGs do not compress) with the sizes and CRC-32s
recorded when the files were written, so nothing is buffered and memory stays flat at any size.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.http import FileResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils import timezone
from storages.backends.s3 import S3Storage
from storages.utils import clean_name
from stream_zip import NO_COMPRESSION_64, stream_zip

from .models import Photo
from .selectors import ORIGINAL

CHUNK = 256 * 1024


@dataclass(frozen=True)
class Member:
    """A file to put in a ZIP: where it lies in storage, its name there, size and CRC-32."""

    storage_name: str
    zip_name: str
    size: int
    crc32: int
    modified: datetime


def photo_file(photo: Photo, size: str) -> tuple[str, int, int, str, str]:
    """Return (storage name, bytes, crc32, content type, download name) of one size of a photo."""
    if size == ORIGINAL:
        extension = photo.original.name.rsplit(".", 1)[-1]
        name = photo.original_name if "." in photo.original_name else f"{photo.stem}.{extension}"
        return photo.original.name, photo.size, photo.crc32, photo.content_type, name
    rendition = photo.renditions[size]
    suffix = "" if size == "full" else f"-{size}"
    return (
        rendition["name"],
        rendition["size"],
        rendition["crc32"],
        "image/jpeg",
        f"{safe_stem(photo.stem)}{suffix}.jpg",
    )


def safe_stem(stem: str) -> str:
    return re.sub(r"[^\w.-]+", "_", stem).strip("._")[:100] or "photo"


def file_response(photo: Photo, size: str, *, attachment: bool, storage: Storage | None = None):
    """Stream the file from local disk, or send the browser to a short-lived signed URL."""
    storage = storage or default_storage
    name, _, _, content_type, download_name = photo_file(photo, size)
    disposition = "attachment" if attachment else "inline"
    if isinstance(storage, FileSystemStorage):
        response = FileResponse(
            storage.open(name, "rb"),
            content_type=content_type,
            as_attachment=attachment,
            filename=download_name,
        )
    else:
        url = storage.url(
            name,
            parameters={
                "ResponseContentDisposition": f'{disposition}; filename="{download_name}"',
                "ResponseContentType": content_type,
            },
            expire=settings.DELIVERY_SIGNED_URL_SECONDS,
        )
        response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    return response


def zip_members(photos: Iterable[Photo], size: str) -> list[Member]:
    members, used = [], set()
    for index, photo in enumerate(photos, start=1):
        name, length, crc, _, download_name = photo_file(photo, size)
        zip_name = download_name if download_name not in used else f"{index:04d}-{download_name}"
        used.add(zip_name)
        members.append(Member(name, zip_name, length, crc, photo.created_at))
    return members


def _chunks(storage: Storage, name: str) -> Iterator[bytes]:
    if isinstance(storage, S3Storage):
        # S3Storage.open() copies the whole object into memory first: stream its body instead.
        key = storage._normalize_name(clean_name(name))
        yield from storage.bucket.Object(key).get()["Body"].iter_chunks(CHUNK)
        return
    with storage.open(name, "rb") as file:
        while chunk := file.read(CHUNK):
            yield chunk


def zip_stream(members: Iterable[Member], *, storage: Storage | None = None) -> Iterator[bytes]:
    """Yield a ZIP of the members, reading each file in chunks as the client takes the bytes."""
    storage = storage or default_storage
    return stream_zip(
        (
            (
                member.zip_name,
                timezone.localtime(member.modified, timezone.get_default_timezone()),
                0o644,
                NO_COMPRESSION_64(member.size, member.crc32),
                _chunks(storage, member.storage_name),
            )
            for member in members
        ),
        chunk_size=CHUNK,
    )


def zip_response(members: list[Member], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(zip_stream(members), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
