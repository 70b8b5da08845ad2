"""Lists of galleries and photos cost the same number of queries for one row as for many."""

import pytest
from rest_framework.test import APIClient

from delivery import services
from tests import factories
from tests.delivery import corpus
from tests.delivery.conftest import add_photo, pay
from tests.helpers import queries_to_get


def logged_in(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def open_gallery(session_type, photographer, client_user):
    """Open another gallery of the studio for `client_user`, its booking paid."""

    def open_gallery():
        booking = factories.BookingFactory(
            session_type=session_type, photographer=photographer, client=client_user
        )
        pay(booking)
        return services.gallery_create(booking=booking, actor=photographer)[0]

    return open_gallery


@pytest.mark.parametrize("url", ["/api/galleries/", "/galleries/"])
@pytest.mark.parametrize("who", ["photographer", "client_user"])
def test_the_galleries_listed(url, who, open_gallery, request):
    client = logged_in(request.getfixturevalue(who))
    open_gallery()
    one = queries_to_get(client, url)
    for _ in range(3):
        open_gallery()
    assert queries_to_get(client, url) == one


@pytest.fixture
def shoot(gallery, photographer, client_user, django_capture_on_commit_callbacks):
    """Add photos to the (paid) gallery, ready to deliver, some of them chosen by the client."""
    pay(gallery.booking)
    added = []

    def shoot(count: int):
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(count):
                n = len(added)
                added.append(add_photo(gallery, photographer, corpus.jpeg(seed=n), f"IMG_{n}.jpg"))
        photo = added[-1]
        services.favourite_set(
            gallery=gallery, photo=photo, access="client", user=client_user, marked=True
        )

    return shoot


@pytest.mark.parametrize("url", ["/api/galleries/{pk}/", "/galleries/{pk}/"])
@pytest.mark.parametrize("who", ["photographer", "client_user"])
def test_a_gallerys_photos(url, who, gallery, shoot, request):
    client, url = logged_in(request.getfixturevalue(who)), url.format(pk=gallery.pk)
    shoot(1)
    one = queries_to_get(client, url)
    shoot(3)
    assert queries_to_get(client, url) == one
