"""Who may read the API's map: /api/schema/ and /api/docs/ follow API_DOCS_PUBLIC."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["/api/schema/", "/api/docs/"]


def get_as(user, url: str):
    api = APIClient()
    if user:
        api.force_login(user)
    return api.get(url)


@pytest.mark.parametrize("url", PAGES)
def test_public_docs_are_served_to_anyone(settings, db, url):
    settings.API_DOCS_PUBLIC = True

    assert get_as(None, url).status_code == 200


@pytest.mark.parametrize("url", PAGES)
def test_closed_docs_need_a_studio_login(settings, client_user, photographer, staff, url):
    settings.API_DOCS_PUBLIC = False

    anonymous, client = get_as(None, url), get_as(client_user, url)

    for refused in anonymous, client:
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "permission_denied"
        assert b"/api/bookings/" not in refused.content
    assert get_as(photographer, url).status_code == 200
    assert get_as(staff, url).status_code == 200


def test_the_schema_names_the_operations_for_a_studio_login(settings, staff):
    settings.API_DOCS_PUBLIC = False

    assert b"/api/bookings/{id}/reschedule/" in get_as(staff, "/api/schema/").content


@pytest.mark.parametrize(("debug", "public"), [("1", "True"), ("0", "False")])
def test_docs_are_public_while_developing_and_closed_in_production(debug, public):
    env = {
        **os.environ,
        "DEBUG": debug,
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": "sqlite:///:memory:",
    }
    env.pop("API_DOCS_PUBLIC", None)
    show = "from django.conf import settings; print(settings.API_DOCS_PUBLIC)"

    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", show],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == public
