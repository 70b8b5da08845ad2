"""Cullings made before the one AI job model keep their runs, progress, decisions and trail."""

import uuid

import pytest

from ai_assist.models import AiJob, PhotoCull
from studio.models import AuditEvent
from tests.migrations import migrate, old_booking


def old_culling(apps) -> int:
    """A shoot of two photos culled by the old code, one of them overridden; return its id."""
    booking = old_booking(apps, email="p@example.com", deposit_minor=0)
    photographer = booking.photographer
    gallery = apps.get_model("delivery", "Gallery").objects.create(booking=booking, title="G")
    job = apps.get_model("ai_assist", "CullJob").objects.create(
        gallery=gallery, requested_by=photographer, status="done", total=2, done=1, failed=1
    )
    culls = apps.get_model("ai_assist", "PhotoCull").objects
    for name, status, decision in [("a.jpg", "analysed", "keep"), ("b.jpg", "failed", "")]:
        photo = gallery.photos.create(
            key=uuid.uuid4(),
            original=name,
            original_name=name,
            kind="jpeg",
            approval="approved",
            size=1,
            sha256=name,
            crc32=1,
            width=1,
            height=1,
        )
        culls.create(
            photo=photo, job=job, status=status, decision=decision, error=status * (not decision)
        )
    keep = culls.get(decision="keep")
    keep.override = "maybe"
    keep.save()
    apps.get_model("ai_assist", "CullOverride").objects.create(
        photo_cull=keep, photographer=photographer, ai_decision="keep", decision="maybe"
    )
    return gallery.pk


@pytest.mark.django_db(transaction=True)
def test_old_cullings_move_onto_ai_jobs_and_their_overrides_into_the_audit_log():
    gallery_id = old_culling(migrate(ai_assist="0001_initial"))
    migrate()

    job = AiJob.objects.get(gallery_id=gallery_id)
    assert (job.kind, job.state, job.total, job.done, job.failed) == ("culling", "done", 2, 1, 1)
    culls = {cull.photo.original_name: cull for cull in PhotoCull.objects.select_related("item")}
    assert (culls["a.jpg"].item.state, culls["a.jpg"].final_decision) == ("done", "maybe")
    assert (culls["b.jpg"].item.state, culls["b.jpg"].item.error) == ("failed", "failed")
    assert {cull.item.job_id for cull in culls.values()} == {job.pk}
    (override,) = AuditEvent.objects.filter(kind="cull_overridden")
    assert override.photo_id == culls["a.jpg"].photo_id and override.gallery_id == gallery_id
    assert override.details == {"name": "a.jpg", "ai_decision": "keep", "decision": "maybe"}

    rolled_back = migrate(ai_assist="0001_initial")  # and back again, as a rollback would
    old_culls = rolled_back.get_model("ai_assist", "PhotoCull").objects.select_related("job")
    assert {(cull.photo.original_name, cull.status, cull.job.status) for cull in old_culls} == {
        ("a.jpg", "analysed", "done"),
        ("b.jpg", "failed", "done"),
    }
    assert rolled_back.get_model("ai_assist", "CullOverride").objects.get().decision == "maybe"
    migrate()
