"""Move culling's audit trail (CullOverride) into the one audit log (studio.AuditEvent), then
drop it."""

from django.db import migrations


def forwards(apps, schema_editor):
    CullOverride = apps.get_model("ai_assist", "CullOverride")
    AuditEvent = apps.get_model("studio", "AuditEvent")
    overrides = CullOverride.objects.select_related(
        "photo_cull__photo__gallery__booking__session_type"
    ).order_by("at", "pk")
    AuditEvent.objects.bulk_create(
        (
            AuditEvent(
                at=override.at,
                kind="cull_overridden",
                actor_id=override.photographer_id,
                studio_id=override.photo_cull.photo.gallery.booking.session_type.studio_id,
                booking_id=override.photo_cull.photo.gallery.booking_id,
                gallery_id=override.photo_cull.photo.gallery_id,
                photo_id=override.photo_cull.photo_id,
                details={
                    "name": override.photo_cull.photo.original_name,
                    "ai_decision": override.ai_decision,
                    "decision": override.decision,
                },
            )
            for override in overrides
        ),
        batch_size=500,
    )


def backwards(apps, schema_editor):
    """Give the old table back the overrides of photos that still have their culling."""
    CullOverride = apps.get_model("ai_assist", "CullOverride")
    PhotoCull = apps.get_model("ai_assist", "PhotoCull")
    AuditEvent = apps.get_model("studio", "AuditEvent")
    # Keep each record's own time: the old field would stamp them all with now.
    CullOverride._meta.get_field("at").auto_now_add = False
    ours = AuditEvent.objects.filter(kind="cull_overridden")
    culls = dict(PhotoCull.objects.values_list("photo_id", "pk"))
    CullOverride.objects.bulk_create(
        CullOverride(
            at=event.at,
            photo_cull_id=culls[event.photo_id],
            photographer_id=event.actor_id,
            ai_decision=event.details["ai_decision"],
            decision=event.details["decision"],
        )
        for event in ours.order_by("at", "pk")
        if event.photo_id in culls and event.actor_id
    )
    ours.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ai_assist", "0004_cull_jobs_removed"),
        ("studio", "0002_audit_event"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.DeleteModel(name="CullOverride"),
    ]
