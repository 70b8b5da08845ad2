"""The production path for background work: tasks queued on commit, through a real Redis broker,
executed by a real Celery worker (in a thread here; separate processes in production)."""

import os
from datetime import datetime, timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail

from booking import services
from studio.celery import app
from tests.helpers import wait_for

REDIS_URL = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/15"


@pytest.fixture
def worker(transactional_db):
    app.conf.update(broker_url=REDIS_URL, task_always_eager=False)
    app._after_fork()  # drop connection pools made for the previous broker setting
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=3)  # fails loudly when Redis is not running
        app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield
    app.conf.update(broker_url=settings.CELERY_BROKER_URL, task_always_eager=True)
    app._after_fork()


def test_confirmation_email_travels_through_redis_to_a_worker(
    worker, client_user, session_type, photographer, studio
):
    day = datetime.now(studio.zone).date() + timedelta(days=3)
    start = datetime(day.year, day.month, day.day, 10, tzinfo=studio.zone)
    booking = services.booking_hold(client=client_user, session_type=session_type, start=start)

    services.booking_confirm(booking=booking, actor=client_user)

    wait_for(lambda: len(mail.outbox) == 1, timeout=20, what="the worker's e-mail")
    assert mail.outbox[0].to == [client_user.email]
    assert "invite.ics" in [name for name, *_ in mail.outbox[0].attachments]
