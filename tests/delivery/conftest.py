from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from delivery import services
from delivery.models import Photo
from tests import factories
from tests.delivery import corpus


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Each test stores its photos in its own folder, on local disk unless it asks for S3."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    return settings.MEDIA_ROOT


@pytest.fixture
def booking(photographer, session_type, client_user):
    return factories.BookingFactory(
        session_type=session_type, photographer=photographer, client=client_user
    )


@pytest.fixture
def gallery_and_token(booking, photographer):
    return services.gallery_create(
        booking=booking, actor=photographer, included_photos=2, pin="2468"
    )


@pytest.fixture
def gallery(gallery_and_token):
    return gallery_and_token[0]


@pytest.fixture
def token(gallery_and_token):
    return gallery_and_token[1]


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def add_photo(
    gallery, actor, data: bytes | None = None, name: str = "photo.jpg", *, publish: bool = True
) -> Photo:
    """Upload a camera photo and (unless `publish` is False) publish it, as the photographer
    does before the client sees it."""
    photo = services.photo_upload(
        gallery=gallery, actor=actor, file=upload(name, data or corpus.jpeg())
    )
    if publish:
        services.photos_publish(gallery=gallery, actor=actor, photo_ids=[photo.pk])
    photo.refresh_from_db()
    return photo


@pytest.fixture
def photos(gallery, photographer, django_capture_on_commit_callbacks):
    """Three camera photos with GPS in their EXIF, renditions made."""
    with django_capture_on_commit_callbacks(execute=True):
        made = [
            add_photo(gallery, photographer, corpus.jpeg(seed=n), f"IMG_{n}.jpg") for n in range(3)
        ]
    for photo in made:
        photo.refresh_from_db()
    return made


def pay(booking) -> None:
    factories.PaymentFactory(booking=booking, amount_minor=booking.price_minor)


@pytest.fixture
def studio_api(photographer):
    api = APIClient()
    api.force_authenticate(photographer)
    return api


def read_zip(content: bytes):
    import zipfile

    return zipfile.ZipFile(BytesIO(content))
