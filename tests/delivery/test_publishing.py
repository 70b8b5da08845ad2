"""Photos are the studio's drafts until published: no client surface shows one before, and the
first publish tells the client the gallery is ready."""

import pytest
from django.core import mail
from django.test import Client

from delivery import services
from delivery.models import Photo
from studio.errors import DomainError
from studio.models import AuditEvent
from tests import factories
from tests.delivery import corpus
from tests.delivery.conftest import add_photo, pay, upload
from tests.delivery.test_access import call, logged_in, unlocked

SIZES = ("thumb", "proof", "web", "full")


def client_surfaces(gallery, photo):
    """(name, method, url, data, what the client gets once the photo is shown) for each surface
    a client reaches a photo by."""
    base, photo_url = f"/galleries/{gallery.pk}", f"/galleries/{gallery.pk}/photos/{photo.pk}"
    api = f"/api/galleries/{gallery.pk}/photos/{photo.pk}"
    return [
        ("page", "get", f"{base}/", None),
        ("API gallery", "get", f"/api/galleries/{gallery.pk}/", None),
        *((f"{size} file", "get", f"{photo_url}/{size}/", None) for size in SIZES),
        ("ZIP of all", "get", f"{base}/download.zip?photos=all&size=web", None),
        ("favourite", "post", f"{api}/favourite/", {"marked": True}),
        ("selection", "post", f"{api}/selection/", {"selected": True}),
    ]


def shows(name: str, response, photo) -> bool:
    """Whether the response hands the client this photo."""
    if name == "page":
        return photo.original_name in response.content.decode()
    if name == "API gallery":
        return photo.pk in [p["id"] for p in response.json()["photos"]]
    return response.status_code == 200


@pytest.fixture
def draft(gallery, photographer, booking, django_capture_on_commit_callbacks):
    pay(booking)  # every size is the client's, so only publishing stands in the way
    with django_capture_on_commit_callbacks(execute=True):
        photo = add_photo(gallery, photographer, name="DRAFT_1.jpg", publish=False)
    photo.refresh_from_db()
    assert photo.rendition_status == Photo.Renditions.READY
    return photo


@pytest.mark.parametrize("side", ["owner client", "link holder"])
def test_no_unpublished_photo_reaches_any_client_surface(
    side, gallery, token, client_user, photographer, draft
):
    viewer = logged_in(client_user) if side == "owner client" else unlocked(token)
    for name, method, url, data in client_surfaces(gallery, draft):
        assert not shows(name, call(viewer, method, url, data), draft), (side, name)

    services.photos_publish(gallery=gallery, actor=photographer, photo_ids=[draft.pk])
    for name, method, url, data in client_surfaces(gallery, draft):
        assert shows(name, call(viewer, method, url, data), draft), (side, name)

    services.photos_unpublish(gallery=gallery, actor=photographer, photo_ids=[draft.pk])
    for name, method, url, data in client_surfaces(gallery, draft):
        if name not in ("favourite", "selection"):  # marked while it was shown: now refused
            assert not shows(name, call(viewer, method, url, data), draft), (side, name)
    zipped = viewer.get(f"/galleries/{gallery.pk}/download.zip?photos=selection&size=web")
    assert zipped.status_code == 404  # its selection no longer hands it out


def test_the_studio_sees_drafts_and_publishes_them_from_its_page(gallery, photographer, draft):
    studio = logged_in(photographer)
    page = studio.get(f"/galleries/{gallery.pk}/").content.decode()
    assert "DRAFT_1.jpg" in page and "draft" in page

    studio.post(f"/galleries/{gallery.pk}/publish/", {"action": "publish", "photo": [draft.pk]})
    draft.refresh_from_db()
    assert draft.published_at is not None

    studio.post(f"/galleries/{gallery.pk}/publish/", {"action": "unpublish", "photo": [draft.pk]})
    draft.refresh_from_db()
    assert draft.published_at is None and draft.unpublished_at is not None
    kinds = AuditEvent.objects.filter(gallery_id=gallery.pk).values_list("kind", flat=True)
    assert list(kinds)[-2:] == [
        AuditEvent.Kind.PHOTOS_PUBLISHED,
        AuditEvent.Kind.PHOTOS_UNPUBLISHED,
    ]


def test_only_the_studio_publishes_and_unpublishes(
    gallery, token, client_user, other_client, draft, photographer
):
    refused = {
        "owner client": logged_in(client_user),
        "other client": logged_in(other_client),
        "photographer of another studio": logged_in(factories.PhotographerFactory()),
        "anonymous": Client(),
        "link holder": unlocked(token),
    }
    for who, visitor in refused.items():
        for action in ("publish", "unpublish"):
            response = visitor.post(
                f"/api/galleries/{gallery.pk}/{action}/",
                {"photos": [draft.pk]},
                content_type="application/json",
            )
            assert response.status_code in (401, 403, 404), (who, action, response.status_code)
        page = visitor.post(f"/galleries/{gallery.pk}/publish/", {"photo": [draft.pk]})
        assert page.status_code in (302, 403, 404), (who, page.status_code)
    draft.refresh_from_db()
    assert draft.published_at is None
    with pytest.raises(DomainError, match="Only the studio"):
        services.photos_publish(gallery=gallery, actor=client_user, photo_ids=[draft.pk])


def test_publishing_twice_is_harmless_and_the_gallery_ready_email_goes_once(
    gallery, photographer, client_user, draft, django_capture_on_commit_callbacks
):
    studio_api = logged_in(photographer)
    url = f"/api/galleries/{gallery.pk}/publish/"
    with django_capture_on_commit_callbacks(execute=True):
        first = studio_api.post(url, {"photos": [draft.pk]}, content_type="application/json")
        again = studio_api.post(url, {"photos": [draft.pk]}, content_type="application/json")
    assert (first.json(), again.json()) == ({"published": 1}, {"published": 0})
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [client_user.email]
    assert f"/galleries/{gallery.pk}/" in email.body
    assert "ready" in email.subject

    with django_capture_on_commit_callbacks(execute=True):
        services.photos_unpublish(gallery=gallery, actor=photographer, photo_ids=[draft.pk])
        services.photos_publish(gallery=gallery, actor=photographer, photo_ids=[draft.pk])
        later = add_photo(gallery, photographer, corpus.jpeg(seed=5), "LATER.jpg")
    assert later.published_at is not None
    assert len(mail.outbox) == 1  # the first publish only
    published = AuditEvent.objects.filter(kind=AuditEvent.Kind.PHOTOS_PUBLISHED)
    assert published.count() == 3  # the repeat changed nothing and left no record


def ai_result(gallery, photographer, original: Photo) -> Photo:
    photo = services.photo_upload(
        gallery=gallery,
        actor=photographer,
        file=upload("RETOUCHED.jpg", corpus.jpeg(seed=77)),
        source=Photo.Source.AI_RETOUCH,
    )
    Photo.objects.filter(pk=photo.pk).update(derived_from=original)
    photo.refresh_from_db()
    return photo


def client_sees(viewer, gallery) -> list[str]:
    return [p["name"] for p in viewer.get(f"/api/galleries/{gallery.pk}/").json()["photos"]]


def test_an_approved_ai_result_is_shown_in_place_of_its_original(
    gallery, photographer, client_user, draft, django_capture_on_commit_callbacks
):
    viewer = logged_in(client_user)
    services.photos_publish(gallery=gallery, actor=photographer, photo_ids=[draft.pk])
    with django_capture_on_commit_callbacks(execute=True):
        result = ai_result(gallery, photographer, draft)
    with pytest.raises(DomainError) as refused:
        services.photos_publish(gallery=gallery, actor=photographer, photo_ids=[result.pk])
    assert refused.value.code == "not_approved"
    assert client_sees(viewer, gallery) == ["DRAFT_1.jpg"]

    assert services.photo_approve(photo=result, actor=photographer) is True
    assert services.photo_approve(photo=result, actor=photographer) is False  # decided already
    assert client_sees(viewer, gallery) == ["RETOUCHED.jpg"]
    draft.refresh_from_db()
    assert draft.published_at is None  # the original stays with the studio

    # Publishing the original again shows its result, never both.
    services.photos_publish(gallery=gallery, actor=photographer, photo_ids=[draft.pk])
    assert client_sees(viewer, gallery) == ["RETOUCHED.jpg"]


def test_a_rejected_ai_result_leaves_the_original_and_a_withdrawn_original_refuses_approval(
    gallery, photographer, client_user, draft, django_capture_on_commit_callbacks
):
    viewer = logged_in(client_user)
    services.photos_publish(gallery=gallery, actor=photographer, photo_ids=[draft.pk])
    with django_capture_on_commit_callbacks(execute=True):
        rejected = ai_result(gallery, photographer, draft)
    assert services.photo_reject(photo=rejected, actor=photographer) is True
    assert client_sees(viewer, gallery) == ["DRAFT_1.jpg"]
    with pytest.raises(DomainError):
        services.photo_approve(photo=rejected, actor=client_user)

    services.photos_unpublish(gallery=gallery, actor=photographer, photo_ids=[draft.pk])
    Photo.objects.filter(pk=rejected.pk).update(approval=Photo.Approval.PENDING)  # a redo
    with pytest.raises(DomainError) as refused:
        services.photo_approve(photo=rejected, actor=photographer)
    assert refused.value.code == "original_unpublished"
    assert client_sees(viewer, gallery) == []
