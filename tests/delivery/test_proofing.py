"""Proofing and receiving: favourites, a selection within the package, sizes by payment, ZIPs."""

import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image
from rest_framework.test import APIClient

from booking.selectors import balance_due_minor
from delivery import images, services
from tests import factories
from tests.delivery import corpus
from tests.delivery.conftest import pay, read_zip


@pytest.fixture
def owner(client_user):
    client = Client()
    client.force_login(client_user)
    return client


def choose(client, gallery, photo, **data):
    return client.post(
        f"/api/galleries/{gallery.pk}/photos/{photo.pk}/selection/",
        data,
        content_type="application/json",
    )


def test_favourites_toggle_and_repeat_safely(owner, gallery, photos):
    url = f"/api/galleries/{gallery.pk}/photos/{photos[0].pk}/favourite/"
    for _ in range(2):
        response = owner.post(url, {"marked": True}, content_type="application/json")
        assert response.json() == {"marked": True}
    detail = owner.get(f"/api/galleries/{gallery.pk}/").json()
    assert [p["favourite"] for p in detail["photos"]] == [True, False, False]
    owner.post(url, {"marked": False}, content_type="application/json")
    assert not owner.get(f"/api/galleries/{gallery.pk}/").json()["photos"][0]["favourite"]


def test_selection_is_limited_to_the_package_and_the_studio_sees_it(
    owner, gallery, photos, photographer
):
    assert gallery.included_photos == 2
    assert (
        choose(owner, gallery, photos[0], selected=True, comment="Crop tighter").status_code == 200
    )
    assert choose(owner, gallery, photos[1], selected=True).status_code == 200
    full = choose(owner, gallery, photos[2], selected=True)
    assert full.status_code == 409 and full.json()["error"]["code"] == "selection_full"
    # Changing a comment on a selected photo is not a new pick.
    assert choose(owner, gallery, photos[1], selected=True, comment="Warmer").status_code == 200
    studio = Client()
    studio.force_login(photographer)
    page = studio.get(f"/galleries/{gallery.pk}/").content.decode()
    assert "Crop tighter" in page and "Warmer" in page and "Selection (2 of 2)" in page
    submitted = owner.post(f"/api/galleries/{gallery.pk}/selection/submit/")
    assert submitted.json()["selection_submitted_at"]
    late = choose(owner, gallery, photos[0], selected=False)
    assert late.status_code == 409 and late.json()["error"]["code"] == "selection_submitted"


def test_the_studio_does_not_choose_for_the_client(gallery, photos, photographer):
    studio = Client()
    studio.force_login(photographer)
    response = choose(studio, gallery, photos[0], selected=True)
    assert response.status_code == 403


def test_paid_means_no_balance_left(booking):
    due = balance_due_minor
    assert due(booking=booking) == booking.price_minor == 15000
    factories.PaymentFactory(booking=booking, amount_minor=5000)
    balance = factories.PaymentFactory(
        booking=booking, kind="balance", amount_minor=10000, status="pending"
    )
    assert due(booking=booking) == 10000  # a pending payment is not paid
    balance.status = "succeeded"
    balance.save(update_fields=["status"])
    assert due(booking=booking) == 0
    balance.refunded_minor = 2000
    balance.save(update_fields=["refunded_minor"])
    assert due(booking=booking) == 0  # a goodwill refund does not take the photos back


def test_before_payment_proofs_only_after_payment_every_size(owner, gallery, booking, photos):
    photo = photos[0]
    base = f"/galleries/{gallery.pk}/photos/{photo.pk}"
    assert owner.get(f"{base}/proof/").status_code == 200
    for size in ("web", "full"):
        response = owner.get(f"{base}/{size}/")
        assert response.status_code == 402, size
    assert owner.get(f"{base}/original/").status_code == 404  # the RAW/original: studio only
    zip_web = owner.get(f"/galleries/{gallery.pk}/download.zip?photos=all&size=web")
    assert zip_web.status_code == 402
    pay(booking)
    for size in ("web", "full", "proof"):
        response = owner.get(f"{base}/{size}/?download=1")
        assert response.status_code == 200, size
        assert response["Content-Disposition"].startswith("attachment")
        assert response["Cache-Control"] == "private, no-store"
    assert owner.get(f"{base}/original/").status_code == 404
    full = b"".join(owner.get(f"{base}/full/").streaming_content)
    assert Image.open(io.BytesIO(full)).size == (640, 480)


def test_zip_of_the_selection_streams_the_chosen_photos(owner, gallery, booking, photos):
    pay(booking)
    choose(owner, gallery, photos[0], selected=True)
    choose(owner, gallery, photos[2], selected=True)
    response = owner.get(f"/galleries/{gallery.pk}/download.zip?photos=selection&size=full")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    archive = read_zip(b"".join(response.streaming_content))
    assert archive.testzip() is None  # every CRC right
    assert archive.namelist() == ["IMG_0.jpg", "IMG_2.jpg"]
    stored = [p for p in photos if p.pk in (photos[0].pk, photos[2].pk)]
    for info, photo in zip(archive.infolist(), stored, strict=True):
        assert info.file_size == photo.renditions["full"]["size"]
        assert info.compress_type == 0  # stored: JPEGs do not shrink


def test_empty_selection_zip_says_so(owner, gallery, photos):
    response = owner.get(f"/galleries/{gallery.pk}/download.zip?photos=selection&size=proof")
    assert response.status_code == 404
    assert b"no photos in your selection" in response.content


def test_gps_in_an_upload_is_absent_from_every_client_download(owner, gallery, booking, photos):
    photo = photos[0]
    assert "gps" in images.private_metadata(corpus.jpeg(seed=0))  # the upload had it

    def downloads():
        base = f"/galleries/{gallery.pk}/photos/{photo.pk}"
        detail = owner.get(f"/api/galleries/{gallery.pk}/").json()
        for url in detail["photos"][0]["files"].values():
            yield url, b"".join(owner.get(url).streaming_content)
        yield (
            f"{base}/proof/?download=1",
            b"".join(owner.get(f"{base}/proof/?download=1").streaming_content),
        )
        for size in detail["sizes"]:
            if size == "thumb":
                continue
            response = owner.get(f"/galleries/{gallery.pk}/download.zip?photos=all&size={size}")
            archive = read_zip(b"".join(response.streaming_content))
            for name in archive.namelist():
                yield f"zip {size} {name}", archive.read(name)

    seen = 0
    for paid in (False, True):
        if paid:
            pay(booking)
        for where, data in downloads():
            assert data.startswith(b"\xff\xd8"), where
            assert images.private_metadata(data) == {}, where
            assert b"BODY-SERIAL-0042" not in data and b"GPSLatitude" not in data, where
            seen += 1
    assert seen >= 2 + 1 + 3 + 4 + 1 + 9  # both states, single files and ZIP members


def test_gallery_detail_queries_do_not_grow_with_photos(
    owner, gallery, photos, photographer, django_assert_max_num_queries
):
    for photo in photos[:2]:
        owner.post(
            f"/api/galleries/{gallery.pk}/photos/{photo.pk}/favourite/",
            {"marked": True},
            content_type="application/json",
        )
    with django_assert_max_num_queries(6):
        detail = owner.get(f"/api/galleries/{gallery.pk}/").json()
    assert len(detail["photos"]) == 3


def test_gallery_list_queries_do_not_grow_with_galleries(
    photographer, gallery, session_type, django_assert_num_queries
):
    api = APIClient()
    api.force_authenticate(photographer)
    with CaptureQueriesContext(connection) as one:
        assert len(api.get("/api/galleries/").json()) == 1
    for _ in range(3):
        booking = factories.BookingFactory(session_type=session_type, photographer=photographer)
        services.gallery_create(booking=booking, actor=photographer)

    with django_assert_num_queries(len(one)):
        listed = api.get("/api/galleries/").json()

    assert len(listed) == 4 and {g["photo_allowance"] for g in listed} == {2, 10}
