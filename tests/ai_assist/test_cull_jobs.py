"""Culling a shoot through the platform: a task per photo on the `ai` queue, live progress,
decisions with reasons, the photographer's overrides, and what is learned from them.

Real models on the CPU, real photos (scikit-image's astronaut) with defects made here.
"""

import sys
from contextlib import nullcontext
from datetime import datetime, timedelta
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from ai_assist import services
from ai_assist.models import AiJob, AiJobItem, CullingProfile, PhotoCull
from delivery import services as delivery
from studio.models import AuditEvent
from tests import factories
from tests.ai_assist import photos


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }


@pytest.fixture
def gallery(photographer, session_type, client_user):
    booking = factories.BookingFactory(
        session_type=session_type, photographer=photographer, client=client_user
    )
    gallery, _ = delivery.gallery_create(booking=booking, actor=photographer)
    return gallery


def add(gallery, photographer, name: str, image, minute: int) -> int:
    """Upload a photo taken at 14:`minute` (minutes apart: no bursts here)."""
    taken_at = datetime(2026, 11, 20, 14, minute)
    data = photos.jpeg(image, taken_at=taken_at)
    upload = SimpleUploadedFile(name, data, content_type="image/jpeg")
    return delivery.photo_upload(gallery=gallery, actor=photographer, file=upload).pk


@pytest.fixture
def shoot(gallery, photographer):
    """A sharp portrait, a missed focus, and a stored photo whose file got corrupted."""
    face = photos.astronaut()
    sharp = add(gallery, photographer, "IMG_0410.jpg", face, 0)
    blurred = add(gallery, photographer, "IMG_0411.jpg", photos.defocus(face, 3), 10)
    broken = add(gallery, photographer, "IMG_0412.jpg", photos.exposed(face, 0.3), 20)
    original = gallery.photos.get(pk=broken).original
    with original.storage.open(original.name, "wb") as damaged:  # e.g. a bad disk
        damaged.write(b"\xff\xd8\xff\xe0 not a jpeg any more")
    return {"sharp": sharp, "blurred": blurred, "broken": broken}


@pytest.fixture
def studio_api(photographer):
    api = APIClient()
    api.force_authenticate(photographer)
    return api


def cull(api, gallery, capture):
    with capture(execute=True):
        response = api.post(f"/api/galleries/{gallery.pk}/cull/")
    assert response.status_code == 202, response.content
    return api.get(f"/api/galleries/{gallery.pk}/cull/").json()


def by_photo(body) -> dict[int, dict]:
    return {row["photo_id"]: row for row in body["photos"]}


def test_a_shoot_is_culled_photo_by_photo_with_reasons(
    studio_api, gallery, shoot, django_capture_on_commit_callbacks
):
    body = cull(studio_api, gallery, django_capture_on_commit_callbacks)

    progress = body["progress"]
    assert (progress["kind"], progress["state"], progress["error"]) == ("culling", "done", "")
    assert (progress["done"], progress["failed"], progress["total"]) == (2, 1, 3)
    assert progress["percent"] == 100 and progress["finished_at"]
    rows = by_photo(body)
    assert rows[shoot["sharp"]]["decision"] == "keep"
    assert rows[shoot["blurred"]]["decision"] == "reject"
    assert "face out of focus" in rows[shoot["blurred"]]["reasons"]
    broken = rows[shoot["broken"]]
    assert broken["status"] == "failed" and broken["error"]
    assert broken["decision"] == ""


def test_progress_is_visible_before_the_tasks_run(
    studio_api, gallery, shoot, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        studio_api.post(f"/api/galleries/{gallery.pk}/cull/")

    progress = studio_api.get(f"/api/galleries/{gallery.pk}/cull/").json()["progress"]
    assert (progress["state"], progress["done"], progress["failed"]) == ("queued", 0, 0)
    assert (progress["total"], progress["percent"], progress["finished_at"]) == (3, 0, None)
    again = studio_api.post(f"/api/galleries/{gallery.pk}/cull/")
    assert again.status_code == 202 and AiJob.objects.count() == 1  # the same run
    assert again.json()["id"] == progress["id"]
    assert len(queued) == 1


def test_running_again_updates_the_results_and_keeps_the_photographers_decisions(
    studio_api, gallery, shoot, photographer, django_capture_on_commit_callbacks
):
    cull(studio_api, gallery, django_capture_on_commit_callbacks)
    blurred = PhotoCull.objects.get(photo_id=shoot["blurred"])
    with django_capture_on_commit_callbacks(execute=True):
        services.cull_override(photo_cull=blurred, actor=photographer, decision="maybe")

    body = cull(studio_api, gallery, django_capture_on_commit_callbacks)

    assert PhotoCull.objects.count() == 3 and AiJob.objects.count() == 2
    row = by_photo(body)[shoot["blurred"]]
    assert (row["decision"], row["ai_decision"], row["overridden"]) == ("maybe", "reject", True)


def test_a_task_run_twice_counts_its_photo_once(
    gallery, shoot, photographer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        job = services.cull_start(gallery=gallery, actor=photographer)
    item = job.items.get(photo_id=shoot["sharp"])

    services.cull_photo_analyse(item_pk=item.pk)
    services.cull_photo_analyse(item_pk=item.pk)  # a redelivered task

    job.refresh_from_db()
    assert (job.done, job.failed, job.state) == (1, 0, "running")


def test_a_photo_whose_file_cannot_be_read_fails_after_its_retries_and_the_run_ends(
    gallery, shoot, photographer, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core.files.storage import FileSystemStorage

    from ai_assist.tasks import MAX_RETRIES, cull_photo_task

    with django_capture_on_commit_callbacks(execute=False):
        job = services.cull_start(gallery=gallery, actor=photographer)
    items = {item.photo_id: item.pk for item in job.items.all()}
    for photo in (shoot["blurred"], shoot["broken"]):
        services.cull_photo_analyse(item_pk=items[photo])

    def storage_down(storage, name, mode="rb"):
        raise OSError("storage unreachable")

    monkeypatch.setattr(FileSystemStorage, "open", storage_down)
    # The last allowed attempt (as a worker would run it after MAX_RETRIES retries):
    last = cull_photo_task.apply(args=[items[shoot["sharp"]]], retries=MAX_RETRIES, throw=False)

    assert last.state == "FAILURE"
    job.refresh_from_db()
    assert (job.state, job.done, job.failed) == ("done", 1, 2)
    item = AiJobItem.objects.get(pk=items[shoot["sharp"]])
    assert item.state == "failed" and "storage unreachable" in item.error


def test_a_photo_that_fails_on_a_rerun_loses_its_old_decision(
    studio_api, gallery, shoot, django_capture_on_commit_callbacks
):
    cull(studio_api, gallery, django_capture_on_commit_callbacks)
    original = gallery.photos.get(pk=shoot["sharp"]).original
    with original.storage.open(original.name, "wb") as damaged:
        damaged.write(b"not a photo")

    row = by_photo(cull(studio_api, gallery, django_capture_on_commit_callbacks))[shoot["sharp"]]

    assert row["status"] == "failed" and row["decision"] == "" and row["reasons"] == []


def test_heic_and_raw_uploads_are_culled(
    studio_api, gallery, photographer, django_capture_on_commit_callbacks
):
    from tests.delivery import corpus

    portrait = BytesIO()
    Image.fromarray(photos.astronaut()).save(portrait, "HEIF")
    for name, data in [("IMG_0001.HEIC", portrait.getvalue()), ("IMG_0002.DNG", corpus.dng())]:
        upload = SimpleUploadedFile(name, data, content_type="application/octet-stream")
        delivery.photo_upload(gallery=gallery, actor=photographer, file=upload)

    body = cull(studio_api, gallery, django_capture_on_commit_callbacks)

    assert body["progress"]["failed"] == 0
    heic, raw = sorted(body["photos"], key=lambda row: row["name"])
    assert heic["decision"] == "keep" and heic["reasons"] == []
    assert raw["status"] == "done" and raw["decision"]


def test_overrides_are_recorded_and_learned_from(
    client, studio_api, gallery, shoot, photographer, django_capture_on_commit_callbacks
):
    cull(studio_api, gallery, django_capture_on_commit_callbacks)
    sharp = PhotoCull.objects.get(photo_id=shoot["sharp"])

    with django_capture_on_commit_callbacks(execute=True):
        response = studio_api.post(
            f"/api/galleries/{gallery.pk}/cull/{sharp.pk}/override/", {"decision": "maybe"}
        )
        studio_api.post(f"/api/galleries/{gallery.pk}/cull/accept-rest/")

    assert response.json()["decision"] == "maybe"
    (override,) = AuditEvent.objects.filter(kind="cull_overridden")
    assert (override.actor, override.photo_id, override.gallery_id) == (
        photographer,
        shoot["sharp"],
        gallery.pk,
    )
    assert (
        override.sentence(photographer.studio.zone)
        == "Cull of IMG_0410.jpg changed from keep to maybe"
    )
    profile = CullingProfile.objects.get(photographer=photographer)
    assert profile.examples == 2  # the changed decision and the accepted one
    client.force_login(photographer)
    page = client.get(f"/galleries/{gallery.pk}/cull/").content.decode()
    assert "Learned from 2 of" in page and "It starts adjusting decisions after 20." in page


def test_a_bad_decision_is_refused(studio_api, gallery, shoot, django_capture_on_commit_callbacks):
    cull(studio_api, gallery, django_capture_on_commit_callbacks)
    row = PhotoCull.objects.get(photo_id=shoot["sharp"])

    response = studio_api.post(
        f"/api/galleries/{gallery.pk}/cull/{row.pk}/override/", {"decision": "burn"}
    )

    assert response.status_code == 400
    assert not AuditEvent.objects.filter(kind="cull_overridden").exists()


def test_only_the_studio_sees_and_changes_the_culling(
    client_user, gallery, shoot, django_capture_on_commit_callbacks, studio_api
):
    cull(studio_api, gallery, django_capture_on_commit_callbacks)
    row = PhotoCull.objects.get(photo_id=shoot["sharp"])
    other_photographer = factories.PhotographerFactory(studio=factories.StudioFactory())
    urls = [
        ("get", f"/api/galleries/{gallery.pk}/cull/", {}),
        ("post", f"/api/galleries/{gallery.pk}/cull/", {}),
        ("post", f"/api/galleries/{gallery.pk}/cull/{row.pk}/override/", {"decision": "reject"}),
    ]
    for user, status in [(client_user, 403), (other_photographer, 404), (None, 403)]:
        api = APIClient()
        if user:
            api.force_authenticate(user)
        for method, url, data in urls:
            assert getattr(api, method)(url, data).status_code == status, (user, url)
    assert PhotoCull.objects.get(pk=row.pk).final_decision == "keep"


def test_the_page_shows_the_grid_filtered_with_reasons(
    client, photographer, studio_api, gallery, shoot, django_capture_on_commit_callbacks
):
    cull(studio_api, gallery, django_capture_on_commit_callbacks)
    client.force_login(photographer)

    rejects = client.get(f"/galleries/{gallery.pk}/cull/?show=reject").content.decode()
    failed = client.get(f"/galleries/{gallery.pk}/cull/?show=failed").content.decode()

    assert "IMG_0411.jpg" in rejects and "face out of focus" in rejects
    assert "IMG_0410.jpg" not in rejects
    assert "IMG_0412.jpg" in failed and "Reject (1)" in rejects and "Failed (1)" in rejects


def stale(job, minutes: int = 60) -> None:
    """Leave the run as a worker that died leaves it: no progress for a while."""
    AiJob.objects.filter(pk=job.pk).update(
        progressed_at=timezone.now() - timedelta(minutes=minutes)
    )


def test_a_run_whose_worker_died_is_taken_over_by_the_sweep_and_finishes(
    studio_api, gallery, shoot, photographer, django_capture_on_commit_callbacks
):
    from ai_assist.tasks import ai_jobs_take_over_task

    with django_capture_on_commit_callbacks(execute=False):  # the tasks are lost with the worker
        job = services.cull_start(gallery=gallery, actor=photographer)
    services.cull_photo_analyse(item_pk=job.items.get(photo_id=shoot["sharp"]).pk)
    assert ai_jobs_take_over_task.delay().get() == 0  # still progressing: left alone
    stale(job)

    assert ai_jobs_take_over_task.delay().get() == 2  # the two photos never taken up

    body = studio_api.get(f"/api/galleries/{gallery.pk}/cull/").json()
    assert (body["progress"]["state"], body["progress"]["done"]) == ("done", 2)
    assert by_photo(body)[shoot["blurred"]]["decision"] == "reject"
    assert ai_jobs_take_over_task.delay().get() == 0  # finished: nothing to take over


def test_two_sweeps_never_take_over_one_run_twice(gallery, shoot, photographer):
    job = services.cull_start(gallery=gallery, actor=photographer)  # its tasks never ran
    stale(job)

    first, second = services.ai_jobs_take_over(), services.ai_jobs_take_over()

    assert sorted(first["culling"]) == sorted(job.items.values_list("pk", flat=True))
    assert second == {}


def test_a_run_whose_worker_died_while_deciding_is_decided_by_the_sweep(
    gallery, shoot, photographer, monkeypatch, django_capture_on_commit_callbacks
):
    from ai_assist.tasks import ai_jobs_take_over_task

    def worker_killed(*, job_pk, now=None):
        raise SystemExit("killed")  # not an Exception: nothing marks the run or the photo

    with django_capture_on_commit_callbacks(execute=False):
        job = services.cull_start(gallery=gallery, actor=photographer)
    with monkeypatch.context() as patch:
        patch.setattr(services, "cull_decide_shoot", worker_killed)
        for item in job.items.all():
            with pytest.raises(SystemExit) if item == job.items.last() else nullcontext():
                services.cull_photo_analyse(item_pk=item.pk)
    job.refresh_from_db()
    assert job.state == "deciding"
    stale(job)

    assert ai_jobs_take_over_task.delay().get() == 1

    job.refresh_from_db()
    assert (job.state, job.done, job.failed) == ("done", 2, 1)
    assert PhotoCull.objects.get(photo_id=shoot["sharp"]).decision == "keep"


def test_a_photo_whose_worker_dies_on_it_every_time_is_given_up_and_the_run_ends(
    gallery, shoot, photographer, django_capture_on_commit_callbacks
):
    from ai_assist.tasks import ai_jobs_take_over_task

    with django_capture_on_commit_callbacks(execute=False):
        job = services.cull_start(gallery=gallery, actor=photographer)
    job.items.filter(photo_id=shoot["sharp"]).update(attempts=services.ITEM_MAX_ATTEMPTS)
    stale(job)

    assert ai_jobs_take_over_task.delay().get() == 3

    job.refresh_from_db()
    assert (job.state, job.done, job.failed) == ("done", 1, 2)
    item = job.items.get(photo_id=shoot["sharp"])
    assert item.state == "failed" and "Given up after 10 tries" in item.error


def test_a_run_not_yet_started_waits_longer_before_it_is_taken_over(
    gallery, shoot, photographer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # waiting behind other runs
        job = services.cull_start(gallery=gallery, actor=photographer)
    stale(job, minutes=15)

    assert services.ai_jobs_take_over() == {}  # queued: perhaps only behind a long queue

    services.cull_photo_analyse(item_pk=job.items.first().pk)  # a worker took it up...
    stale(job, minutes=15)  # ...and died

    assert len(services.ai_jobs_take_over()["culling"]) == 2


def test_a_run_whose_photos_are_gone_fails_instead_of_stopping_the_sweep(
    gallery, shoot, photographer, django_capture_on_commit_callbacks
):
    booking = factories.BookingFactory(
        session_type=gallery.booking.session_type, photographer=photographer
    )
    other_gallery, _ = delivery.gallery_create(booking=booking, actor=photographer)
    add(other_gallery, photographer, "IMG_0500.jpg", photos.astronaut(), 0)
    with django_capture_on_commit_callbacks(execute=False):
        job = services.cull_start(gallery=gallery, actor=photographer)
        other = services.cull_start(gallery=other_gallery, actor=photographer)
    job.items.all().delete()  # e.g. the photos were deleted
    stale(job), stale(other)

    requeue = services.ai_jobs_take_over()

    job.refresh_from_db()
    assert job.state == "failed" and "photos of this run are gone" in job.error
    assert sorted(requeue["culling"]) == sorted(other.items.values_list("pk", flat=True))


def test_a_run_whose_deciding_step_fails_every_time_fails_after_a_few_take_overs(
    gallery, shoot, photographer, monkeypatch, django_capture_on_commit_callbacks
):
    from ai_assist.tasks import ai_jobs_take_over_task

    def deciding_bug(*, job_pk, now=None):
        raise ZeroDivisionError("a bug in deciding")

    monkeypatch.setattr(services, "cull_decide_shoot", deciding_bug)
    with django_capture_on_commit_callbacks(execute=True):  # each failure is logged
        job = services.cull_start(gallery=gallery, actor=photographer)
    for _ in range(services.MAX_TAKEOVERS):
        job.refresh_from_db()
        assert job.state == "deciding"
        stale(job)
        assert ai_jobs_take_over_task.delay().get() == 1  # the deciding step, again
    stale(job)

    assert ai_jobs_take_over_task.delay().get() == 0

    job.refresh_from_db()
    assert job.state == "failed" and "No progress after 5 tries" in job.error
    assert services.cull_start(gallery=gallery, actor=photographer).pk != job.pk  # runs again


@pytest.fixture
def onnxruntime_missing(monkeypatch):
    """A worker whose AI package is not installed: a fresh process (no model loaded yet) in which
    importing onnxruntime fails."""
    from ai_assist.inference import models

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    monkeypatch.setattr(models, "_FACE_DETECTOR", models.FaceDetector())
    return monkeypatch


def test_a_missing_model_fails_the_run_with_its_message_and_it_can_run_again(
    client,
    studio_api,
    gallery,
    shoot,
    photographer,
    onnxruntime_missing,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        started = studio_api.post(f"/api/galleries/{gallery.pk}/cull/")

    assert started.status_code == 202
    progress = studio_api.get(f"/api/galleries/{gallery.pk}/cull/").json()["progress"]
    assert progress["state"] == "failed" and progress["finished_at"]
    assert "onnxruntime is not installed" in progress["error"]
    assert studio_api.get(f"/api/ai-jobs/{progress['id']}/").json() == progress
    client.force_login(photographer)
    page = client.get(f"/galleries/{gallery.pk}/cull/").content.decode()
    assert "Culling failed: " in page and "onnxruntime is not installed" in page
    assert "<button>Cull again</button>" in page

    onnxruntime_missing.undo()  # installed again
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/galleries/{gallery.pk}/cull/").status_code == 302

    progress = studio_api.get(f"/api/galleries/{gallery.pk}/cull/").json()["progress"]
    assert (progress["state"], progress["done"], progress["failed"]) == ("done", 2, 1)
    assert AiJob.objects.count() == 2


def test_a_run_is_only_shown_to_its_studio(studio_api, gallery, shoot, photographer, client_user):
    job = services.cull_start(gallery=gallery, actor=photographer)
    other_photographer = factories.PhotographerFactory(studio=factories.StudioFactory())

    for user in (client_user, other_photographer):
        api = APIClient()
        api.force_authenticate(user)
        assert api.get(f"/api/ai-jobs/{job.pk}/").status_code == 404
    assert studio_api.get(f"/api/ai-jobs/{job.pk}/").json()["kind"] == "culling"


def test_listing_the_culling_takes_the_same_queries_for_more_photos(
    client, studio_api, gallery, photographer, django_capture_on_commit_callbacks
):
    def queries_to_list() -> tuple[int, int]:
        with django_capture_on_commit_callbacks(execute=True):
            services.cull_start(gallery=gallery, actor=photographer)
        with CaptureQueriesContext(connection) as api_queries:
            assert len(studio_api.get(f"/api/galleries/{gallery.pk}/cull/").json()["photos"])
        with CaptureQueriesContext(connection) as page_queries:
            assert client.get(f"/galleries/{gallery.pk}/cull/").status_code == 200
        return len(api_queries), len(page_queries)

    client.force_login(photographer)
    face = photos.astronaut()
    add(gallery, photographer, "IMG_0001.jpg", face, 0)
    few = queries_to_list()
    for minute in (10, 20, 30):
        add(gallery, photographer, f"IMG_00{minute}.jpg", photos.defocus(face, 3), minute)

    assert queries_to_list() == few


def test_a_photo_whose_storage_stays_down_is_retried_then_fails_with_the_error(
    gallery, shoot, photographer, monkeypatch, django_capture_on_commit_callbacks, as_on_a_worker
):
    from django.core.files.storage import FileSystemStorage

    from ai_assist.tasks import MAX_RETRIES, cull_photo_task

    with django_capture_on_commit_callbacks(execute=False):
        job = services.cull_start(gallery=gallery, actor=photographer)
    item = job.items.get(photo_id=shoot["sharp"])
    tries = []

    def storage_down(storage, name, mode="rb"):
        tries.append(name)
        raise OSError("storage unreachable")

    monkeypatch.setattr(FileSystemStorage, "open", storage_down)

    result = cull_photo_task.delay(item.pk)

    assert result.state == "FAILURE" and len(tries) == MAX_RETRIES + 1
    item.refresh_from_db()
    assert item.state == "failed" and "storage unreachable" in item.error
    assert item.attempts == MAX_RETRIES + 1
