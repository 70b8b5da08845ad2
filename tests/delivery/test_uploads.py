"""Uploading a shoot: every good file stored byte for byte, every bad one refused on its own."""

import hashlib
import io
import time

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from delivery import services
from delivery.models import Photo
from studio.models import AuditEvent
from studio.selectors import gallery_history
from tests.delivery import corpus
from tests.delivery.conftest import add_photo, upload


def stored_files(media) -> list:
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


def test_upload_stores_good_files_and_rejects_every_hostile_one(
    studio_api, gallery, _media, django_capture_on_commit_callbacks
):
    good = {
        "portrait.jpg": corpus.jpeg(seed=1),
        "scan.png": corpus.png(seed=2),
        "print.tif": corpus.tiff(seed=3),
        "phone.HEIC": corpus.heic(seed=4),
        "camera.dng": corpus.dng(seed=5),
        "renamed-png.jpg": corpus.png(seed=6),  # a PNG under a JPEG name: accepted, as PNG
    }
    hostile = corpus.hostile()
    files = [upload(name, data) for name, data in good.items()]
    files += [upload(name, data) for name, (data, _) in hostile.items()]
    with django_capture_on_commit_callbacks(execute=True):
        response = studio_api.post(
            f"/api/galleries/{gallery.pk}/photos/", {"files": files}, format="multipart"
        )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert sorted(p["name"] for p in body["stored"]) == sorted(good)
    rejected = {r["file"]: r["code"] for r in body["rejected"]}
    assert sorted(rejected) == sorted(hostile)  # 100% of them, each cleanly, with its reason
    assert all(rejected[name] in codes for name, (_, codes) in hostile.items()), rejected
    assert all(r["message"] for r in body["rejected"])

    photos = {photo.original_name: photo for photo in Photo.objects.filter(gallery=gallery)}
    assert sorted(photos) == sorted(good)
    assert photos["renamed-png.jpg"].kind == "png"
    assert photos["camera.dng"].kind == "raw"
    assert photos["phone.HEIC"].content_type == "image/heif"
    for name, data in good.items():
        photo = photos[name]
        with default_storage.open(photo.original.name) as original:
            assert original.read() == data  # exactly as uploaded
        assert photo.sha256 == hashlib.sha256(data).hexdigest()
        assert photo.rendition_status == Photo.Renditions.READY, photo.rendition_error
        assert set(photo.renditions) == {"thumb", "web", "proof", "full"}
    # Nothing stored for the rejected files: the originals and 4 renditions of the good ones.
    assert len(stored_files(_media)) == len(good) * 5


@pytest.mark.django_db(transaction=True)  # real commits: the task runs as in production, eagerly
def test_odd_files_in_an_upload_are_stored_whole_with_the_good_ones(studio_api, gallery, _media):
    files = {**corpus.odd(), "portrait.jpg": corpus.jpeg(seed=1)}
    response = studio_api.post(
        f"/api/galleries/{gallery.pk}/photos/",
        {"files": [upload(name, data) for name, data in files.items()]},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    assert sorted(p["name"] for p in response.json()["stored"]) == sorted(files)
    for photo in Photo.objects.filter(gallery=gallery):
        assert photo.rendition_status == Photo.Renditions.READY, photo.rendition_error
        with default_storage.open(photo.original.name) as original:
            assert original.read() == files[photo.original_name]
    assert len(stored_files(_media)) == len(files) * 5


@pytest.mark.django_db(transaction=True)
def test_a_rendition_crash_fails_the_photo_not_the_upload(studio_api, gallery, _media, monkeypatch):
    def crash(*args, **kwargs):
        raise SyntaxError("a decoder bug")

    monkeypatch.setattr(services.images, "renditions", crash)
    files = [upload("a.jpg", corpus.jpeg(seed=1)), upload("b.jpg", corpus.jpeg(seed=2))]
    response = studio_api.post(
        f"/api/galleries/{gallery.pk}/photos/", {"files": files}, format="multipart"
    )

    assert response.status_code == 201, response.content
    assert [p["rendition_status"] for p in response.json()["stored"]] == ["failed", "failed"]
    for photo in Photo.objects.all():  # the originals are kept: the photos can be made again
        assert "a decoder bug" in photo.rendition_error
        assert default_storage.exists(photo.original.name)


def test_rejected_only_upload_answers_the_error(studio_api, gallery, _media):
    response = studio_api.post(
        f"/api/galleries/{gallery.pk}/photos/",
        {"files": [upload("bomb.png", corpus.png_bomb())]},
        format="multipart",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "too_many_pixels"
    assert error["rejected"][0]["file"] == "bomb.png"
    assert not Photo.objects.exists() and stored_files(_media) == []


def test_upload_limit_comes_from_settings(studio_api, gallery, settings):
    data = corpus.jpeg()
    settings.DELIVERY_MAX_UPLOAD_BYTES = len(data) - 1
    response = studio_api.post(
        f"/api/galleries/{gallery.pk}/photos/", {"files": [upload("a.jpg", data)]}
    )
    assert response.json()["error"]["code"] == "too_large"


def test_same_photo_twice_is_refused_as_duplicate(gallery, photographer):
    add_photo(gallery, photographer, corpus.jpeg(seed=7))
    with pytest.raises(services.PhotoRejected) as refused:
        add_photo(gallery, photographer, corpus.jpeg(seed=7), "again.jpg")
    assert refused.value.code == "duplicate"
    assert Photo.objects.count() == 1


def test_an_upload_of_only_a_duplicate_answers_409(studio_api, gallery, photographer):
    add_photo(gallery, photographer, corpus.jpeg(seed=7))

    response = studio_api.post(
        f"/api/galleries/{gallery.pk}/photos/",
        {"files": [upload("again.jpg", corpus.jpeg(seed=7))]},
    )

    assert response.status_code == 409 and response.json()["error"]["code"] == "duplicate"


def test_only_the_studio_uploads(api, gallery, other_client, _media):
    response = api.post(
        f"/api/galleries/{gallery.pk}/photos/", {"files": [upload("a.jpg", corpus.jpeg())]}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "studio_only"
    assert not Photo.objects.exists() and stored_files(_media) == []


def test_failed_insert_leaves_no_file_behind(gallery, photographer, _media, monkeypatch):
    def broken_record(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "audit_record", broken_record)
    with pytest.raises(RuntimeError):
        add_photo(gallery, photographer)
    assert not Photo.objects.exists() and stored_files(_media) == []


def test_rendition_task_is_idempotent(gallery, photographer, _media):
    from delivery.tasks import photo_renditions_task

    photo = add_photo(gallery, photographer)  # on_commit not run: renditions still pending
    assert photo.rendition_status == Photo.Renditions.PENDING
    photo_renditions_task.delay(photo.pk)
    photo.refresh_from_db()
    first = dict(photo.renditions)
    Photo.objects.filter(pk=photo.pk).update(rendition_status=Photo.Renditions.PENDING)
    photo_renditions_task.delay(photo.pk)  # again, as after a worker died mid-way
    photo.refresh_from_db()
    assert photo.renditions == first  # same names: replaced, not piled up
    assert len(stored_files(_media)) == 5
    photo_renditions_task.delay(photo.pk)  # done already: nothing happens
    photo_renditions_task.delay(999_999)  # gone: returns quietly


def test_rendition_task_retries_storage_errors(gallery, photographer, monkeypatch):
    from django.core.files.storage import FileSystemStorage

    from delivery.tasks import photo_renditions_task

    photo = add_photo(gallery, photographer)
    real_open = FileSystemStorage.open
    failures = iter([OSError("S3 hiccup")])

    def flaky_open(storage, name, mode="rb"):
        failure = next(failures, None)
        if failure:
            raise failure
        return real_open(storage, name, mode)

    monkeypatch.setattr(FileSystemStorage, "open", flaky_open)
    photo_renditions_task.apply(args=[photo.pk], throw=False)  # eager: retried at once
    assert next(failures, None) is None  # the failure happened, and was retried past
    photo.refresh_from_db()
    assert photo.rendition_status == Photo.Renditions.READY


def test_rendition_task_gives_up_after_its_retries(gallery, photographer, monkeypatch):
    from django.core.files.storage import FileSystemStorage

    from delivery.tasks import MAX_RETRIES, photo_renditions_task

    photo = add_photo(gallery, photographer)

    def broken_open(storage, name, mode="rb"):
        raise OSError("disk gone")

    monkeypatch.setattr(FileSystemStorage, "open", broken_open)
    # The last allowed attempt (as a worker would run it after MAX_RETRIES retries):
    result = photo_renditions_task.apply(args=[photo.pk], retries=MAX_RETRIES, throw=False)
    assert result.state == "FAILURE"
    photo.refresh_from_db()
    assert photo.rendition_status == Photo.Renditions.FAILED
    assert "disk gone" in photo.rendition_error


def test_rendition_task_fails_the_photo_on_an_unexpected_error(gallery, photographer, monkeypatch):
    from delivery.tasks import photo_renditions_task

    photo = add_photo(gallery, photographer)

    def crash(*args, **kwargs):
        raise ValueError("unexpected")

    monkeypatch.setattr(services.images, "renditions", crash)
    photo_renditions_task.apply(args=[photo.pk], throw=False)
    photo.refresh_from_db()
    assert photo.rendition_status == Photo.Renditions.FAILED
    assert "unexpected" in photo.rendition_error


def test_upload_is_audited(gallery, photographer):
    photo = add_photo(gallery, photographer)
    event = gallery_history(gallery_id=gallery.pk).get(kind=AuditEvent.Kind.PHOTO_UPLOADED)
    assert (event.actor, event.photo_id) == (photographer, photo.pk)


def test_upload_page_for_the_studio_only(client, gallery, photographer, client_user):
    client.force_login(photographer)
    page = client.get(f"/galleries/{gallery.pk}/upload/")
    assert page.status_code == 200
    assert b"js/upload.js" in page.content
    client.force_login(client_user)
    assert client.get(f"/galleries/{gallery.pk}/upload/").status_code == 403


@pytest.fixture
def upload_temp_dir(settings, tmp_path):
    """Every uploaded file arrives in a temporary file on disk, in a folder the test watches."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # as for any upload above 2.5 MB
    return folder


@pytest.mark.parametrize("name", sorted(corpus.hostile()))
def test_each_hostile_file_is_refused_in_under_a_second_leaving_nothing(
    name, studio_api, gallery, _media, upload_temp_dir
):
    data, codes = corpus.hostile()[name]
    started = time.process_time()
    response = studio_api.post(
        f"/api/galleries/{gallery.pk}/photos/", {"files": [upload(name, data)]}, format="multipart"
    )
    cpu = time.process_time() - started

    assert response.status_code == 400
    assert response.json()["error"]["code"] in codes
    assert cpu < 1.0, f"{name} took {cpu:.2f} s of CPU"
    assert not Photo.objects.exists() and stored_files(_media) == []
    assert list(upload_temp_dir.iterdir()) == []


@pytest.mark.parametrize("name", ["comment.jpg", "long-comment.jpg", "comment.png"])
def test_a_comment_stays_in_the_original_and_out_of_every_size(
    name, studio_api, gallery, _media, upload_temp_dir, django_capture_on_commit_callbacks
):
    data = corpus.odd()[name]
    started = time.process_time()
    with django_capture_on_commit_callbacks(execute=True):  # renditions made, eagerly
        response = studio_api.post(
            f"/api/galleries/{gallery.pk}/photos/", {"files": [upload(name, data)]}
        )
    cpu = time.process_time() - started

    assert response.status_code == 201, response.content
    assert cpu < 1.0, f"{name} took {cpu:.2f} s of CPU"
    photo = Photo.objects.get()
    with default_storage.open(photo.original.name) as original:
        assert original.read() == data  # only the studio gets the original
    assert set(photo.renditions) == {"thumb", "web", "proof", "full"}
    for size, stored in photo.renditions.items():
        with default_storage.open(stored["name"]) as file:
            rendition = file.read()
        assert b"+49 170 1234567" not in rendition, size
        with Image.open(io.BytesIO(rendition)) as image:
            assert "comment" not in image.info, size
            assert not [name for name, _ in image.applist if name == "COM"], size
    assert list(upload_temp_dir.iterdir()) == []


def test_each_uploaded_file_leaves_its_temporary_file_once_checked(
    studio_api, gallery, _media, upload_temp_dir, monkeypatch
):
    seen = []
    real_inspect = services.images.inspect

    def watched_inspect(file, **limits):  # the real check, with a look at the folder first
        seen.append(len(list(upload_temp_dir.iterdir())))
        return real_inspect(file, **limits)

    monkeypatch.setattr(services.images, "inspect", watched_inspect)
    files = [
        upload("strip-bomb.tif", corpus.tiff_strip_bomb()),
        upload("polyglot-zip.jpg", corpus.jpeg(seed=1) + corpus.zip_archive()),
        upload("portrait.jpg", corpus.jpeg(seed=2)),
    ]
    response = studio_api.post(
        f"/api/galleries/{gallery.pk}/photos/", {"files": files}, format="multipart"
    )

    assert response.status_code == 201, response.content
    assert [r["code"] for r in response.json()["rejected"]] == ["too_many_strips", "trailing_data"]
    assert seen == [3, 2, 1]  # all three arrived on disk; each went once it was dealt with
    assert list(upload_temp_dir.iterdir()) == []
