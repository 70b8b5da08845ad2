"""Every error an API client can get is {"error": {"code", "message"}}, with a catalogued code."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from delivery.services import gallery_create
from studio.errors import DomainError, ErrorCode
from tests.factories import BookingFactory


@pytest.fixture
def studio_api(photographer):
    api = APIClient()
    api.force_authenticate(photographer)
    return api


@pytest.fixture
def upload_url(session_type, photographer, client_user):
    booking = BookingFactory(
        session_type=session_type, photographer=photographer, client=client_user
    )
    gallery, _ = gallery_create(booking=booking, actor=photographer)
    return f"/api/galleries/{gallery.pk}/photos/"


def test_more_files_than_the_server_takes_at_once(settings, studio_api, upload_url):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [SimpleUploadedFile(f"IMG_{n}.jpg", b"\xff\xd8\xff") for n in range(3)]
    response = studio_api.post(upload_url, {"files": files}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "too_many_files", "message": "Send at most 2 files in one request."}
    }


def test_a_request_larger_than_the_server_takes(settings, studio_api, upload_url):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = studio_api.post(upload_url, {"note": "x" * 200}, format="multipart")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_an_unknown_api_address_is_a_json_404_and_a_page_stays_a_page(db):
    response = Client().get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such resource."}}
    page = Client().get("/no-such-page/")
    assert page.status_code == 404 and not page["Content-Type"].startswith("application/json")


def test_a_method_an_endpoint_does_not_take(api):
    response = api.delete("/api/bookings/")
    assert response.status_code == 405
    assert response.json()["error"] == {
        "code": "method_not_allowed",
        "message": 'Method "DELETE" not allowed.',
    }


def test_a_crash_is_a_json_500(db, monkeypatch):
    def crash(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("booking.selectors.session_type_list", crash)
    response = Client(raise_request_exception=False).get("/api/session-types/")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"


def test_something_not_found_is_named(api):
    response = api.get("/api/bookings/999999/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such booking."}}


def test_a_code_has_one_message_with_only_the_values_it_names():
    refused = DomainError("too_short_notice", hours="1.5")
    assert (refused.code, refused.status) == ("too_short_notice", 400)
    assert refused.message == "This session must be booked at least 1.5 hours ahead."
    assert DomainError(ErrorCode.STUDIO_ONLY).message == DomainError("studio_only").message
    with pytest.raises(ValueError):
        DomainError("no_such_code")


def test_the_schema_documents_the_whole_catalogue(db):
    schema = Client().get("/api/schema/?format=json").json()
    code = schema["components"]["schemas"]["ErrorDetail"]["properties"]["code"]
    assert code["allOf"] == [{"$ref": "#/components/schemas/ErrorCode"}]
    catalogue = schema["components"]["schemas"]["ErrorCode"]
    assert set(catalogue["enum"]) == {entry.value for entry in ErrorCode}
    for entry in ErrorCode:
        assert f"`{entry}` - {entry.status}: {entry.message}" in catalogue["description"]
