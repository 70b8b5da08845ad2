"""Every culling run becomes an AI job, and each photo's culling points at its item there."""

from django.db import migrations

JOB_STATES = {"analysing": "running", "deciding": "deciding", "done": "done"}
ITEM_STATES = {"pending": "queued", "analysed": "done", "failed": "failed"}


def culls_onto_ai_jobs(apps, schema_editor):
    CullJob = apps.get_model("ai_assist", "CullJob")
    AiJob = apps.get_model("ai_assist", "AiJob")
    AiJobItem = apps.get_model("ai_assist", "AiJobItem")
    PhotoCull = apps.get_model("ai_assist", "PhotoCull")
    for old in CullJob.objects.order_by("pk"):
        job = AiJob.objects.create(
            kind="culling",
            gallery_id=old.gallery_id,
            state=JOB_STATES[old.status],
            total=old.total,
            done=old.done,
            failed=old.failed,
            started_by_id=old.requested_by_id,
            progressed_at=old.finished_at or old.created_at,
            finished_at=old.finished_at,
        )
        AiJob.objects.filter(pk=job.pk).update(created_at=old.created_at)  # not auto_now_add's
        for cull in PhotoCull.objects.filter(job_id=old.pk):
            item = AiJobItem.objects.create(
                job=job,
                photo_id=cull.photo_id,
                state=ITEM_STATES[cull.status],
                error=cull.error,
                attempts=0 if cull.status == "pending" else 1,
            )
            PhotoCull.objects.filter(pk=cull.pk).update(item=item)


def ai_jobs_back_to_culls(apps, schema_editor):
    CullJob = apps.get_model("ai_assist", "CullJob")
    AiJob = apps.get_model("ai_assist", "AiJob")
    PhotoCull = apps.get_model("ai_assist", "PhotoCull")
    # The old model had no queued or failed runs: the nearest it had.
    old_states = {new: old for old, new in JOB_STATES.items()} | {
        "queued": "analysing",
        "failed": "done",
    }
    old_item_states = {new: old for old, new in ITEM_STATES.items()}
    jobs = {}
    for job in AiJob.objects.filter(kind="culling").order_by("pk"):
        jobs[job.pk] = CullJob.objects.create(
            gallery_id=job.gallery_id,
            requested_by_id=job.started_by_id,
            status=old_states[job.state],
            total=job.total,
            done=job.done,
            failed=job.failed,
            finished_at=job.finished_at,
        )
        CullJob.objects.filter(pk=jobs[job.pk].pk).update(created_at=job.created_at)
    for cull in PhotoCull.objects.select_related("item"):
        PhotoCull.objects.filter(pk=cull.pk).update(
            job=jobs[cull.item.job_id],
            status=old_item_states[cull.item.state],
            error=cull.item.error,
        )


class Migration(migrations.Migration):

    dependencies = [
        ('ai_assist', '0002_ai_jobs'),
    ]

    operations = [
        migrations.RunPython(culls_onto_ai_jobs, ai_jobs_back_to_culls),
    ]
