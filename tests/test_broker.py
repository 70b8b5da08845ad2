"""The production path for background work: tasks queued on commit, through a real Redis broker,
executed by a real Celery worker (in a thread here; separate processes in production)."""

import os
from datetime import datetime, timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.db.models import F
from django.utils import timezone

from booking import services
from booking.tasks import booking_reminders_task
from studio.celery import app
from studio.models import OutboundEmail
from studio.tasks import outbound_emails_sweep_task
from tests.helpers import broker_down, wait_for

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


def test_a_reminder_claimed_while_the_broker_was_down_goes_out_once_it_is_back(
    worker, client_user, session_type, photographer, studio
):
    soon = timezone.now() + timedelta(hours=20)
    soon = soon.replace(minute=0 if soon.minute < 30 else 30, second=0, microsecond=0)
    photographer.weekly_hours.update(start_time="00:00", end_time="23:59")
    booking = services.booking_hold(client=client_user, session_type=session_type, start=soon)
    services.booking_confirm(booking=booking, actor=client_user)
    wait_for(lambda: len(mail.outbox) == 1, timeout=20, what="the confirmation")
    mail.outbox.clear()

    with broker_down():  # a beat-started reminder run, on a worker that lost the broker
        assert booking_reminders_task.apply().get() == 1
    assert OutboundEmail.objects.get(kind="booking.reminder").state == "pending"
    OutboundEmail.objects.update(created_at=F("created_at") - timedelta(minutes=6))

    outbound_emails_sweep_task.delay()  # as beat does: through the broker, to the worker

    sent = OutboundEmail.objects.filter(kind="booking.reminder", state="sent")
    wait_for(sent.exists, timeout=20, what="the reminder")
    assert outbound_emails_sweep_task.apply().get() == 0
    assert booking_reminders_task.apply().get() == 0
    (reminder,) = mail.outbox
    assert "Reminder" in reminder.subject
