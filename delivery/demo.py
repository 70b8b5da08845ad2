"""Demo data for delivery: a delivered shoot with generated photos (used by `demo_data`)."""

import io
from datetime import timedelta

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from booking.models import Booking, SessionType

from . import services
from .models import Gallery, Photo

DEMO_PIN = "2468"


def _photo(seed: int) -> bytes:
    """A 1800×1200 photo-like JPEG: soft colour gradients, a bright disc and sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:1200, 0:1800].astype(np.float32)
    hue = rng.uniform(0, 1, 3)
    base = np.stack(
        [
            x / 1800 * 200 * hue[0] + 30,
            y / 1200 * 200 * hue[1] + 30,
            np.full_like(x, 120 * hue[2] + 40),
        ],
        -1,
    )
    cx, cy = rng.uniform(400, 1400), rng.uniform(300, 900)
    disc = ((x - cx) ** 2 + (y - cy) ** 2 < 250**2)[..., None] * 80
    pixels = np.clip(base + disc + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x8298] = "(c) Lumen Photo Studio"
    Image.fromarray(pixels).save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def demo_gallery(studio, photographer, client) -> tuple[Gallery, str, str]:
    """Create (or refresh) the demo gallery; return it, its new link's path and the PIN."""
    session_type = SessionType.objects.filter(studio=studio).order_by("price_minor").first()
    start = (timezone.now() - timedelta(days=14)).replace(minute=0, second=0, microsecond=0)
    booking = Booking.objects.filter(client=client, notes="Demo: delivered shoot").first()
    if booking is None:
        booking = Booking.objects.create(
            session_type=session_type,
            photographer=photographer,
            client=client,
            status=Booking.Status.COMPLETED,
            start=start,
            end=start + session_type.duration,
            blocked_start=start,
            blocked_end=start + session_type.duration,
            price_minor=session_type.price_minor,
            deposit_minor=0,
            currency=studio.currency,
            notes="Demo: delivered shoot",
        )
    gallery = Gallery.objects.filter(booking=booking).first()
    if gallery is None:
        gallery, _ = services.gallery_create(
            booking=booking, actor=photographer, title="Demo: portraits", included_photos=3
        )
    token = services.gallery_new_link(gallery=gallery, actor=photographer, pin=DEMO_PIN)
    for n in range(6 - gallery.photos.count()):
        name = f"DSC_{1000 + n}.jpg"
        file = SimpleUploadedFile(name, _photo(n + gallery.photos.count() * 10))
        services.photo_upload(gallery=gallery, actor=photographer, file=file)
    drafts = gallery.photos.filter(published_at__isnull=True, approval=Photo.Approval.APPROVED)
    if draft_ids := list(drafts.values_list("pk", flat=True)):
        services.photos_publish(gallery=gallery, actor=photographer, photo_ids=draft_ids)
    return gallery, reverse("gallery_link", args=[token]), DEMO_PIN
