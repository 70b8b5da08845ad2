"""Move the gallery audit trail into the one audit log (studio.AuditEvent), then drop it.

The free-string kinds become the enumerated ones; an uploaded photo's id moves to `photo_id`.
"""

from django.db import migrations

KINDS = {
    "created": "gallery_created",
    "new_link": "gallery_link_renewed",
    "updated": "gallery_updated",
    "revoked": "gallery_closed",
    "reopened": "gallery_reopened",
    "uploaded": "photo_uploaded",
    "selection_submitted": "selection_submitted",
}


def forwards(apps, schema_editor):
    GalleryEvent = apps.get_model("delivery", "GalleryEvent")
    AuditEvent = apps.get_model("studio", "AuditEvent")
    events = GalleryEvent.objects.select_related("gallery__booking__session_type")
    moved = []
    for event in events.order_by("at", "pk"):
        details = dict(event.details)
        moved.append(
            AuditEvent(
                at=event.at,
                kind=KINDS[event.kind],
                actor_id=event.actor_id,
                studio_id=event.gallery.booking.session_type.studio_id,
                gallery_id=event.gallery_id,
                photo_id=details.pop("photo", None),
                details=details,
            )
        )
    AuditEvent.objects.bulk_create(moved, batch_size=500)


def backwards(apps, schema_editor):
    """Give the old table back its records (kinds by their old names where they had one)."""
    Gallery = apps.get_model("delivery", "Gallery")
    GalleryEvent = apps.get_model("delivery", "GalleryEvent")
    AuditEvent = apps.get_model("studio", "AuditEvent")
    # Keep each record's own time: the old field would stamp them all with now.
    GalleryEvent._meta.get_field("at").auto_now_add = False
    old_kinds = {new: old for old, new in KINDS.items()}
    # The gallery's own records only: culling's go back with ai_assist's migrations.
    ours = AuditEvent.objects.filter(gallery_id__in=Gallery.objects.values("pk")).exclude(
        kind="cull_overridden"
    )
    GalleryEvent.objects.bulk_create(
        GalleryEvent(
            at=event.at,
            kind=old_kinds.get(event.kind, event.kind),
            actor_id=event.actor_id,
            gallery_id=event.gallery_id,
            details=event.details | ({"photo": event.photo_id} if event.photo_id else {}),
        )
        for event in ours.order_by("at", "pk")
    )
    ours.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0003_renditions_queued_at"),
        ("studio", "0002_audit_event"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.DeleteModel(name="GalleryEvent"),
    ]
