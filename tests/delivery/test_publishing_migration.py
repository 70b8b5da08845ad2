"""Galleries from before publishing keep showing what they showed: approved photos stay
published, AI results waiting for review stay drafts, and no "gallery ready" e-mail follows."""

import pytest

from delivery.models import Gallery, Photo
from tests.migrations import migrate, old_booking

BEFORE = [("delivery", "0005_delete_pinattempt"), ("studio", "0005_throttle_attempts")]


def old_gallery(apps) -> int:
    booking = old_booking(apps)
    gallery = apps.get_model("delivery", "Gallery").objects.create(booking=booking, title="G")
    photos = apps.get_model("delivery", "Photo").objects
    for n, (source, approval) in enumerate(
        [("camera", "approved"), ("ai_retouch", "approved"), ("ai_retouch", "pending")]
    ):
        photos.create(
            gallery=gallery,
            original=f"o{n}.jpg",
            original_name=f"{source}-{approval}.jpg",
            kind="jpeg",
            content_type="image/jpeg",
            size=1,
            sha256=str(n) * 64,
            crc32=0,
            width=1,
            height=1,
            source=source,
            approval=approval,
        )
    return gallery.pk


@pytest.mark.django_db(transaction=True)
def test_photos_visible_before_stay_published():
    gallery_id = old_gallery(migrate(BEFORE))
    migrate()

    published = Photo.objects.filter(gallery_id=gallery_id, published_at__isnull=False)
    assert sorted(published.values_list("original_name", flat=True)) == [
        "ai_retouch-approved.jpg",
        "camera-approved.jpg",
    ]
    pending = Photo.objects.get(gallery_id=gallery_id, approval="pending")
    assert pending.published_at is None
    assert Gallery.objects.get(pk=gallery_id).first_published_at is not None  # told before
