"""Culling a shoot through the platform: a task per photo on the `ai` queue, live progress,
decisions with reasons, the photographer's overrides, and what is learned from them.

Real models on the CPU, real photos (scikit-image's astronaut) with defects made here.
"""

from datetime import datetime
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from ai_assist import services
from ai_assist.models import CullingProfile, CullJob, CullOverride, PhotoCull
from delivery import services as delivery
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

    assert body["progress"] == {
        "status": "done",
        "done": 2,
        "failed": 1,
        "total": 3,
        "percent": 100,
    }
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
    assert progress == {"status": "analysing", "done": 0, "failed": 0, "total": 3, "percent": 0}
    again = studio_api.post(f"/api/galleries/{gallery.pk}/cull/")
    assert again.status_code == 202 and CullJob.objects.count() == 1  # the same run
    assert len(queued) == 1


def test_running_again_updates_the_results_and_keeps_the_photographers_decisions(
    studio_api, gallery, shoot, photographer, django_capture_on_commit_callbacks
):
    cull(studio_api, gallery, django_capture_on_commit_callbacks)
    blurred = PhotoCull.objects.get(photo_id=shoot["blurred"])
    with django_capture_on_commit_callbacks(execute=True):
        services.cull_override(photo_cull=blurred, actor=photographer, decision="maybe")

    body = cull(studio_api, gallery, django_capture_on_commit_callbacks)

    assert PhotoCull.objects.count() == 3 and CullJob.objects.count() == 2
    row = by_photo(body)[shoot["blurred"]]
    assert (row["decision"], row["ai_decision"], row["overridden"]) == ("maybe", "reject", True)


def test_a_task_run_twice_counts_its_photo_once(
    gallery, shoot, photographer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        job = services.cull_start(gallery=gallery, actor=photographer)
    row = PhotoCull.objects.get(photo_id=shoot["sharp"])

    services.cull_photo_analyse(photo_cull_pk=row.pk, job_pk=job.pk)
    services.cull_photo_analyse(photo_cull_pk=row.pk, job_pk=job.pk)  # a redelivered task

    job.refresh_from_db()
    assert (job.done, job.failed, job.status) == (1, 0, "analysing")


def test_a_photo_whose_file_cannot_be_read_fails_after_its_retries_and_the_run_ends(
    gallery, shoot, photographer, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core.files.storage import FileSystemStorage

    from ai_assist.tasks import MAX_RETRIES, cull_photo_task

    with django_capture_on_commit_callbacks(execute=False):
        job = services.cull_start(gallery=gallery, actor=photographer)
    rows = {row.photo_id: row.pk for row in PhotoCull.objects.all()}
    for photo in (shoot["blurred"], shoot["broken"]):
        services.cull_photo_analyse(photo_cull_pk=rows[photo], job_pk=job.pk)

    def storage_down(storage, name, mode="rb"):
        raise OSError("storage unreachable")

    monkeypatch.setattr(FileSystemStorage, "open", storage_down)
    # The last allowed attempt (as a worker would run it after MAX_RETRIES retries):
    last = cull_photo_task.apply(
        args=[rows[shoot["sharp"]], job.pk], retries=MAX_RETRIES, throw=False
    )

    assert last.state == "FAILURE"
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("done", 1, 2)
    row = PhotoCull.objects.get(pk=rows[shoot["sharp"]])
    assert row.status == "failed" and "storage unreachable" in row.error


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
    assert raw["status"] == "analysed" and raw["decision"]


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
    (override,) = CullOverride.objects.all()
    assert (override.ai_decision, override.decision, override.photographer) == (
        "keep",
        "maybe",
        photographer,
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
    assert not CullOverride.objects.exists()


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
