"""The project as a whole: deploy checks, the API schema and docs, demo data."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from booking.models import SessionType
from booking.selectors import slot_list
from studio.models import User

ROOT = Path(__file__).resolve().parents[2]


def test_deploy_check_passes_with_production_settings():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "x" * 20 + "-a-real-random-secret-key-for-prod-9f3k",
        "ALLOWED_HOSTS": "studio.example",
        "DATABASE_URL": "sqlite:///:memory:",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"} | {"DEBUG": "0"}

    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_a_secret_file_that_is_missing_names_its_variable(tmp_path):
    env = {**os.environ, "SECRET_KEY_FILE": str(tmp_path / "no-such-secret")}

    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY_FILE" in result.stderr


def test_openapi_schema_and_docs_page_are_served_without_a_cdn(db):
    api = APIClient()

    schema = api.get("/api/schema/")
    docs = api.get("/api/docs/").content.decode()

    assert schema.status_code == 200 and b"/api/bookings/{id}/reschedule/" in schema.content
    assert "swagger" in docs.lower() and "cdn" not in docs and "https://" not in docs


def test_demo_data_loads_twice_and_offers_slots(db, capsys):
    call_command("demo_data")
    call_command("demo_data")

    out = capsys.readouterr().out
    assert "client@example.com" in out and "demo-studio-2026" in out
    assert User.objects.filter(role="photographer").count() == 2
    headshot = SessionType.objects.get(slug="studio-headshot")
    now = timezone.now()
    assert slot_list(session_type=headshot, range_start=now, range_end=now + timedelta(days=14))
