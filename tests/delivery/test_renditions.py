"""Renditions that never got made (a worker killed, the broker down) are queued again by the
sweep; storage trouble is retried, then the photo fails with the error."""

from datetime import timedelta

from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.utils import timezone

from delivery import services
from delivery.models import Photo
from delivery.tasks import MAX_RETRIES, photo_renditions_requeue_task, photo_renditions_task
from tests.delivery.conftest import add_photo


def left_pending(gallery, photographer) -> Photo:
    """Upload a photo whose renditions task never ran (on_commit is not run here)."""
    photo = add_photo(gallery, photographer)
    assert photo.rendition_status == Photo.Renditions.PENDING
    return photo


def minutes_ago(minutes: int):
    return timezone.now() - timedelta(minutes=minutes)


def test_an_upload_starts_the_sweeps_clock(gallery, photographer):
    photo = left_pending(gallery, photographer)

    assert photo.renditions_queued_at is not None
    assert photo_renditions_requeue_task.delay().get() == 0  # not stale yet


def test_the_sweep_queues_again_the_renditions_a_killed_worker_left_pending(gallery, photographer):
    photo = left_pending(gallery, photographer)
    Photo.objects.filter(pk=photo.pk).update(renditions_queued_at=minutes_ago(30))

    assert photo_renditions_requeue_task.delay().get() == 1

    photo.refresh_from_db()
    assert photo.rendition_status == Photo.Renditions.READY
    assert photo_renditions_requeue_task.delay().get() == 0


def test_a_photo_never_queued_is_swept_by_its_upload_time(gallery, photographer):
    photo = left_pending(gallery, photographer)
    Photo.objects.filter(pk=photo.pk).update(renditions_queued_at=None)
    assert services.photo_renditions_claim_stale() == []
    Photo.objects.filter(pk=photo.pk).update(created_at=minutes_ago(30))

    call_command("run_periodic_tasks")  # the embedded default's beat

    photo.refresh_from_db()
    assert photo.rendition_status == Photo.Renditions.READY


def test_two_sweeps_never_claim_a_photo_twice(gallery, photographer):
    photo = left_pending(gallery, photographer)
    Photo.objects.filter(pk=photo.pk).update(renditions_queued_at=minutes_ago(30))

    first = services.photo_renditions_claim_stale()
    second = services.photo_renditions_claim_stale()

    assert (first, second) == ([photo.pk], [])
    photo.refresh_from_db()
    assert photo.renditions_queued_at > minutes_ago(1)  # the clock starts again


def test_storage_down_is_retried_then_the_photo_fails_with_the_error(
    gallery, photographer, monkeypatch, as_on_a_worker
):
    photo = left_pending(gallery, photographer)
    tries = []

    def storage_down(storage, name, mode="rb"):
        tries.append(name)
        raise OSError("disk gone")

    monkeypatch.setattr(FileSystemStorage, "open", storage_down)

    result = photo_renditions_task.delay(photo.pk)

    assert result.state == "FAILURE" and len(tries) == MAX_RETRIES + 1
    photo.refresh_from_db()
    assert photo.rendition_status == Photo.Renditions.FAILED
    assert "disk gone" in photo.rendition_error
