"""The S3 path against a real S3 API on 127.0.0.1: moto's server mode, not a mock of boto3.

moto does not enforce presigned-URL expiry (see PEERS.md), so expiry is checked in the URL we
sign and in our own access check, which runs before any URL is handed out.
"""

import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from delivery.models import Gallery, Photo
from tests.conftest import ON_CI
from tests.delivery import corpus
from tests.delivery.conftest import pay, read_zip, upload

BUCKET = "studio-photos"

try:
    import boto3
    from moto.server import ThreadedMotoServer
except ImportError as missing:  # pragma: no cover - depends on the machine
    if ON_CI:
        raise
    pytest.skip(f"moto[server] is not installed: {missing}", allow_module_level=True)


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(settings, s3_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    # The same options studio/settings.py builds from AWS_* variables.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "addressing_style": "path",
                "signature_version": "s3v4",
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": settings.DELIVERY_SIGNED_URL_SECONDS,
                "file_overwrite": True,
            },
        },
    }
    yield client
    objects = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for item in objects:
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def fetch(url: str) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def test_photos_live_in_the_bucket_privately_and_download_by_short_signed_urls(
    s3, studio_api, gallery, booking, client_user, django_capture_on_commit_callbacks, _media
):
    from django.core.files.storage import storages
    from storages.backends.s3 import S3Storage

    assert isinstance(storages["default"], S3Storage)
    good, bad = corpus.jpeg(seed=11), corpus.png() + corpus.HTML
    with django_capture_on_commit_callbacks(execute=True):
        response = studio_api.post(
            f"/api/galleries/{gallery.pk}/photos/",
            {"files": [upload("a.jpg", good), upload("b.png", bad)]},
            format="multipart",
        )
    assert response.status_code == 201
    assert [r["code"] for r in response.json()["rejected"]] == ["trailing_data"]
    photo = Photo.objects.get()
    assert photo.rendition_status == Photo.Renditions.READY, photo.rendition_error

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    prefix = f"galleries/{gallery.key}/{photo.key}/"
    assert keys == sorted(
        prefix + n for n in ("full.jpg", "original.jpg", "proof.jpg", "thumb.jpg", "web.jpg")
    )
    assert not _media.exists() or not any(_media.rglob("*.jpg"))  # nothing on local disk
    original = s3.get_object(Bucket=BUCKET, Key=prefix + "original.jpg")["Body"].read()
    assert original == good  # byte for byte
    for key in keys:
        grants = s3.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
        assert all("AllUsers" not in str(g["Grantee"]) for g in grants), key

    published = studio_api.post(
        f"/api/galleries/{gallery.pk}/publish/", {"photos": [photo.pk]}, format="json"
    )
    assert published.json() == {"published": 1}
    owner = Client()
    owner.force_login(client_user)
    redirect = owner.get(f"/galleries/{gallery.pk}/photos/{photo.pk}/proof/?download=1")
    assert redirect.status_code == 302
    url = redirect["Location"]
    query = parse_qs(urlparse(url).query)
    assert query["X-Amz-Expires"] == ["60"]  # short-lived
    assert query["response-content-disposition"][0].startswith("attachment")
    status, body, headers = fetch(url)
    assert status == 200 and body.startswith(b"\xff\xd8")
    assert b"GPSLatitude" not in body

    pay(booking)
    archive = owner.get(f"/galleries/{gallery.pk}/download.zip?photos=all&size=full")
    files = read_zip(b"".join(archive.streaming_content))
    assert files.testzip() is None and files.namelist() == ["a.jpg"]

    # Revoked: no new signed URL is handed out; the ones out there lapse within 60 seconds.
    Gallery.objects.filter(pk=gallery.pk).update(revoked_at=photo.created_at)
    assert owner.get(f"/galleries/{gallery.pk}/photos/{photo.pk}/proof/").status_code == 410


def test_settings_build_the_s3_storage_from_environment_variables(s3_endpoint):
    import subprocess
    import sys

    code = (
        "import os, django\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'studio.settings'\n"
        "django.setup()\n"
        "from django.core.files.storage import storages\n"
        "s = storages['default']\n"
        "print(type(s).__name__, s.bucket_name, s.default_acl, s.querystring_expire,\n"
        "      s.endpoint_url)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "DELIVERY_SIGNED_URL_SECONDS": "45",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["S3Storage", BUCKET, "private", "45", s3_endpoint]
