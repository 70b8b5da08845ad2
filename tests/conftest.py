import os

import pytest
from django.conf import settings

from tests.factories import (
    PhotographerFactory,
    SessionTypeFactory,
    StaffFactory,
    StudioFactory,
    UserFactory,
    working_week,
)

ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_report_header(config):
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = "eager" if settings.CELERY_TASK_ALWAYS_EAGER else settings.CELERY_BROKER_URL
    return f"database: {engine}; celery broker: {broker}"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _eager_celery():
    """Run tasks in-process, whatever the broker setting; tests/test_broker.py uses the real one."""
    from studio.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def as_on_a_worker():
    """Run tasks eagerly as a worker would: a failure stays in the task's result (so that its
    retries run, one after the other, and it gives up) rather than reaching the caller."""
    from studio.celery import app

    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = True


@pytest.fixture
def studio(db):
    return StudioFactory()


@pytest.fixture
def photographer(studio):
    user = PhotographerFactory(studio=studio)
    working_week(user)
    return user


@pytest.fixture
def session_type(studio):
    return SessionTypeFactory(studio=studio)


@pytest.fixture
def client_user(db):
    return UserFactory(email="client@example.com")


@pytest.fixture
def other_client(db):
    return UserFactory(email="other@example.com")


@pytest.fixture
def staff(studio):
    return StaffFactory(studio=studio)


@pytest.fixture
def api(client_user):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(client_user)
    return api
