"""Who may open what: every gallery page, API endpoint and file URL, for every kind of visitor."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from django.utils import timezone

from delivery import services
from delivery.models import Favourite, Gallery
from studio.models import Attempt
from tests import factories
from tests.delivery import corpus
from tests.delivery.conftest import add_photo, pay

ALLOWED, DENIED = "allowed", "denied"


def requests_for(gallery, photo):
    """Every request a client-side visitor makes: (name, method, url, data)."""
    base = f"/galleries/{gallery.pk}"
    api = f"/api/galleries/{gallery.pk}"
    return [
        ("page", "get", f"{base}/", None),
        ("api detail", "get", f"{api}/", None),
        ("thumb file", "get", f"{base}/photos/{photo.pk}/thumb/", None),
        ("proof file", "get", f"{base}/photos/{photo.pk}/proof/?download=1", None),
        ("zip", "get", f"{base}/download.zip?photos=all&size=proof", None),
        ("favourite", "post", f"{api}/photos/{photo.pk}/favourite/", {"marked": True}),
        ("selection", "post", f"{api}/photos/{photo.pk}/selection/", {"selected": True}),
    ]


def studio_requests_for(gallery, photo):
    """What only the studio may do: (name, method, url, data). None of it changes anything when
    refused, so every visitor can try all of it."""
    base = f"/galleries/{gallery.pk}"
    api = f"/api/galleries/{gallery.pk}"
    return [
        ("original file", "get", f"{base}/photos/{photo.pk}/original/", None),
        ("upload page", "get", f"{base}/upload/", None),
        ("upload api", "post", f"{api}/photos/", {}),
        ("settings page", "post", f"{base}/settings/", {"action": "revoke"}),
        ("settings api", "post", f"{api}/settings/", {"included_photos": 99, "expires_at": None}),
        ("new link api", "post", f"{api}/link/", {"pin": "0000"}),
        ("revoke api", "post", f"{api}/revoke/", {"revoked": True}),
    ]


def paid_requests_for(gallery, photo):
    """Sizes a client gets once the session is paid in full."""
    base = f"/galleries/{gallery.pk}"
    return [
        ("web file", "get", f"{base}/photos/{photo.pk}/web/", None),
        ("full file", "get", f"{base}/photos/{photo.pk}/full/?download=1", None),
        ("zip of full size", "get", f"{base}/download.zip?photos=all&size=full", None),
    ]


def call(client: Client, method: str, url: str, data):
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, data, content_type="application/json")
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    return response


@pytest.fixture
def photo(gallery, photographer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        photo = add_photo(gallery, photographer, name="IMG_0001.jpg")
    photo.refresh_from_db()
    return photo


def unlocked(token: str, pin: str = "2468") -> Client:
    link_holder = Client()
    response = link_holder.post(f"/g/{token}/", {"pin": pin})
    assert response.status_code == 302, response.content
    return link_holder


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def visitors(client_user, other_client, photographer, token):
    other_studio_photographer = factories.PhotographerFactory()
    return {
        "owner client": (logged_in(client_user), ALLOWED),
        "studio photographer": (logged_in(photographer), "studio"),
        "other client": (logged_in(other_client), DENIED),
        "anonymous": (Client(), DENIED),
        "photographer of another studio": (logged_in(other_studio_photographer), DENIED),
        "link holder": (unlocked(token), ALLOWED),
    }


def test_access_matrix(visitors, gallery, photo):
    for visitor, (client, expected) in visitors.items():
        for name, method, url, data in requests_for(gallery, photo):
            response = call(client, method, url, data)
            status = response.status_code
            if expected == ALLOWED or (expected == "studio" and method == "get"):
                assert status == 200, (visitor, name, status)
            elif expected == "studio":
                assert status == 403, (visitor, name, status)  # the studio does not choose
            else:
                assert status in (401, 403, 404), (visitor, name, status)
                assert b"IMG_0001" not in response.content and b"JFIF" not in response.content


def refused(response) -> bool:
    """Refused outright, or (a page, for someone not logged in) sent to log in."""
    if response.status_code == 302:
        return response.url.startswith(resolve_url(settings.LOGIN_URL))
    return response.status_code in (401, 403, 404)


def test_only_the_studio_manages_a_gallery(visitors, gallery, photo):
    for visitor, (client, expected) in visitors.items():
        for name, method, url, data in studio_requests_for(gallery, photo):
            if expected == "studio":  # the studio's own changes are tested where they live
                if method == "get":
                    assert call(client, method, url, data).status_code == 200, name
                continue
            response = call(client, method, url, data)
            assert refused(response), (visitor, name, response.status_code)
    gallery.refresh_from_db()
    assert gallery.revoked_at is None and gallery.included_photos == 2


def test_paid_sizes_once_paid_and_only_for_the_clients_side(visitors, gallery, photo, booking):
    for _, method, url, data in paid_requests_for(gallery, photo):
        status = call(visitors["owner client"][0], method, url, data).status_code
        assert status in (402, 403, 404)  # not before the session is paid
    pay(booking)

    for visitor, (client, expected) in visitors.items():
        for name, method, url, data in paid_requests_for(gallery, photo):
            status = call(client, method, url, data).status_code
            if expected in (ALLOWED, "studio"):
                assert status == 200, (visitor, name, status)
            else:
                assert status in (401, 403, 404), (visitor, name, status)


@pytest.mark.parametrize("closing", ["expired", "revoked"])
def test_expiry_and_revocation_cut_pages_and_files(
    closing, client_user, photographer, token, gallery, photo
):
    owner, link_holder = logged_in(client_user), unlocked(token)
    studio = logged_in(photographer)
    file_url = f"/galleries/{gallery.pk}/photos/{photo.pk}/proof/"
    assert link_holder.get(file_url).status_code == 200  # a file URL seen before closing...
    if closing == "expired":
        Gallery.objects.filter(pk=gallery.pk).update(expires_at=timezone.now() - timedelta(1))
    else:
        services.gallery_revoke(gallery=gallery, actor=photographer)
    for client in (owner, link_holder):
        for name, method, url, data in requests_for(gallery, photo):
            response = call(client, method, url, data)
            assert response.status_code == 410, (closing, name, response.status_code)
        assert client.get(file_url).status_code == 410  # ...stops working at once
    assert Client().get(f"/g/{token}/").status_code == 410
    assert studio.get(f"/galleries/{gallery.pk}/").status_code == 200  # the studio still can


def test_new_link_or_pin_ends_old_link_sessions(gallery, token, photographer, photo):
    link_holder = unlocked(token)
    assert link_holder.get(f"/galleries/{gallery.pk}/").status_code == 200
    new_token = services.gallery_new_link(gallery=gallery, actor=photographer, pin="1357")
    assert link_holder.get(f"/galleries/{gallery.pk}/").status_code == 404
    assert Client().get(f"/g/{token}/").status_code == 404
    assert unlocked(new_token, "1357").get(f"/galleries/{gallery.pk}/").status_code == 200


def test_ids_swapped_between_galleries_never_leak_a_photo(
    client_user, other_client, photographer, session_type, gallery, photo
):
    other_booking = factories.BookingFactory(
        session_type=session_type, photographer=photographer, client=other_client
    )
    other_gallery, _ = services.gallery_create(booking=other_booking, actor=photographer)
    other_photo = add_photo(other_gallery, photographer, corpus.jpeg(seed=42))
    owner = logged_in(client_user)
    for size in ("thumb", "proof"):
        url = f"/galleries/{gallery.pk}/photos/{other_photo.pk}/{size}/"
        assert owner.get(url).status_code == 404
        assert (
            owner.get(f"/galleries/{other_gallery.pk}/photos/{photo.pk}/{size}/").status_code == 404
        )
    response = owner.post(
        f"/api/galleries/{gallery.pk}/photos/{other_photo.pk}/favourite/",
        {"marked": True},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert not Favourite.objects.exists()
    detail = owner.get(f"/api/galleries/{gallery.pk}/").json()
    assert [p["id"] for p in detail["photos"]] == [photo.pk]


def test_link_url_holds_256_random_bits_and_is_stored_hashed(gallery, token):
    assert len(token) >= 43  # token_urlsafe(32): 256 bits
    assert token not in (gallery.link_token_hash or "")
    assert gallery.pin_hash and "2468" not in gallery.pin_hash


def test_wrong_pins_are_throttled_per_link_and_ip_then_allowed_again(gallery, token, settings):
    settings.DELIVERY_PIN_TRIES_PER_LINK_AND_IP = 3
    settings.DELIVERY_PIN_TRIES_PER_LINK = 5
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(3):
        assert guesser.post(f"/g/{token}/", {"pin": "0000"}).status_code == 403
    refused = guesser.post(f"/g/{token}/", {"pin": "2468"})  # even the right PIN, for now
    assert refused.status_code == 429
    assert b"Too many wrong PINs" in refused.content
    # Another address still gets in with the PIN (per address)...
    assert (
        Client(REMOTE_ADDR="198.51.100.7").post(f"/g/{token}/", {"pin": "2468"}).status_code == 302
    )
    # Once the link as a whole has seen too many wrong PINs, the addresses that failed on it wait...
    for n in range(2):
        Client(REMOTE_ADDR=f"192.0.2.{n}").post(f"/g/{token}/", {"pin": "1111"})
    assert Client(REMOTE_ADDR="192.0.2.0").post(f"/g/{token}/", {"pin": "2468"}).status_code == 429
    # ...but a fresh address with the right PIN still gets in: nobody can lock it for everyone.
    assert (
        Client(REMOTE_ADDR="198.51.100.8").post(f"/g/{token}/", {"pin": "2468"}).status_code == 302
    )
    # Not forever: once the window has passed, the right PIN works again.
    Attempt.objects.update(until=timezone.now() - timedelta(seconds=1))
    assert guesser.post(f"/g/{token}/", {"pin": "2468"}).status_code == 302


def test_wrong_pins_are_throttled_per_ip_across_links(
    gallery, token, settings, photographer, session_type, other_client
):
    settings.DELIVERY_PIN_TRIES_PER_IP = 4
    other_booking = factories.BookingFactory(
        session_type=session_type, photographer=photographer, client=other_client
    )
    _, other_token = services.gallery_create(booking=other_booking, actor=photographer, pin="9999")
    guesser = Client(REMOTE_ADDR="203.0.113.50")
    for link in (token, other_token, token, other_token):
        assert guesser.post(f"/g/{link}/", {"pin": "0000"}).status_code == 403
    assert guesser.post(f"/g/{other_token}/", {"pin": "9999"}).status_code == 429


def test_unlock_api_for_link_holders(gallery, token):
    from rest_framework.test import APIClient

    holder = APIClient()
    wrong = holder.post("/api/galleries/unlock/", {"token": token, "pin": "1"}, format="json")
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_pin"
    assert holder.get(f"/api/galleries/{gallery.pk}/").status_code == 404
    right = holder.post("/api/galleries/unlock/", {"token": token, "pin": "2468"}, format="json")
    assert right.status_code == 200
    detail = holder.get(f"/api/galleries/{gallery.pk}/").json()
    assert detail["access"] == "link" and detail["sizes"] == ["thumb", "proof"]


def test_link_holders_need_a_csrf_token_to_change_anything(gallery, token, photo):
    holder = Client(enforce_csrf_checks=True)
    page = holder.get(f"/g/{token}/")
    csrf = page.cookies["csrftoken"].value
    assert (
        holder.post(f"/g/{token}/", {"pin": "2468", "csrfmiddlewaretoken": csrf}).status_code == 302
    )
    url = f"/api/galleries/{gallery.pk}/photos/{photo.pk}/favourite/"
    assert holder.post(url, {"marked": True}, content_type="application/json").status_code == 403
    response = holder.post(
        url, {"marked": True}, content_type="application/json", headers={"X-CSRFToken": csrf}
    )
    assert response.status_code == 200
