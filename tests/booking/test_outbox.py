"""Promised e-mails are never lost and never sent twice: the broker down when they are promised,
sweeps and workers racing for them, an SMTP server refusing them.

"The broker is down" is real here: Celery is pointed at a closed port, so queueing fails as it
does in production. The sweep is the periodic task a beat (or `run_periodic_tasks`) runs.
"""

import os
import socketserver
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core import mail
from django.db import connection
from django.db.models import F
from django.test import Client
from django.utils import timezone

from booking import services
from booking.models import Booking, PaymentEvent
from booking.payments import simulated_success_event
from booking.tasks import booking_reminders_task, payment_event_process_task
from studio.models import OutboundEmail, User
from studio.tasks import outbound_email_send_task, outbound_emails_sweep_task
from tests.helpers import broker_down, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
IMPORT_TASK = "from studio.tasks import outbound_email_send_task"


def minutes_pass(minutes: int) -> None:
    """Let `minutes` pass for the outbox: every e-mail was promised that much earlier."""
    OutboundEmail.objects.update(created_at=F("created_at") - timedelta(minutes=minutes))


def sweep() -> int:
    return outbound_emails_sweep_task.delay().get()


def states() -> list[tuple[str, str]]:
    return list(OutboundEmail.objects.order_by("pk").values_list("kind", "state"))


@pytest.fixture
def tomorrow(client_user, session_type, photographer, django_capture_on_commit_callbacks):
    """A booking of `client_user` confirmed for tomorrow, its confirmation sent."""
    soon = timezone.now() + timedelta(hours=20)
    soon = soon.replace(minute=0 if soon.minute < 30 else 30, second=0, microsecond=0)
    photographer.weekly_hours.update(start_time="00:00", end_time="23:59")
    booking = services.booking_hold(client=client_user, session_type=session_type, start=soon)
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_confirm(booking=booking, actor=client_user)
    assert len(mail.outbox) == 1
    mail.outbox.clear()
    return booking


def test_a_reminder_claimed_while_the_broker_is_down_is_sent_once_it_is_back(tomorrow):
    with broker_down():
        assert booking_reminders_task.apply().get() == 1

    tomorrow.refresh_from_db()
    assert tomorrow.reminder_sent_at is not None  # claimed: the reminder task will not redo it
    assert mail.outbox == []
    assert states()[-1] == ("booking.reminder", "pending")
    assert sweep() == 0  # just promised: its own task may still be on its way

    minutes_pass(6)
    assert sweep() == 1
    assert sweep() == 0
    assert booking_reminders_task.delay().get() == 0

    (reminder,) = mail.outbox
    assert "Reminder" in reminder.subject and reminder.to == [tomorrow.client.email]
    email = OutboundEmail.objects.get(kind="booking.reminder")
    assert (email.state, email.attempts, email.booking_id) == ("sent", 1, tomorrow.pk)
    assert email.sent_at is not None


def test_a_confirmation_promised_while_the_broker_is_down_is_sent_later(
    api, client_user, session_type, photographer, at, django_capture_on_commit_callbacks
):
    booking = services.booking_hold(client=client_user, session_type=session_type, start=at(10))

    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/bookings/{booking.pk}/confirm/", {}, format="json")

    assert response.status_code == 200  # the booking is confirmed; its e-mail waits
    assert mail.outbox == []
    minutes_pass(6)
    assert sweep() == 1
    assert sweep() == 0
    (confirmation,) = mail.outbox
    assert "booked" in confirmation.subject and confirmation.to == [client_user.email]


def test_a_receipt_promised_while_the_broker_is_down_is_sent_later(
    client_user, deposit_type, photographer, at, django_capture_on_commit_callbacks
):
    booking = services.booking_hold(client=client_user, session_type=deposit_type, start=at(10))
    payment = services.payment_start(booking=booking, actor=client_user)

    with broker_down():
        with django_capture_on_commit_callbacks(execute=True):
            event = services.payment_event_record(event=simulated_success_event(payment))
        # A worker applies the event; the broker is down when its e-mails are to be queued.
        with django_capture_on_commit_callbacks(execute=True):
            payment_event_process_task.apply(args=[event.pk]).get()

    assert PaymentEvent.objects.get(pk=event.pk).processed_at is not None
    assert Booking.objects.get(pk=booking.pk).status == "confirmed"
    assert mail.outbox == []
    assert states() == [
        ("booking.payment_receipt", "pending"),
        ("booking.confirmation", "pending"),
    ]
    minutes_pass(6)
    assert sweep() == 2
    assert sweep() == 0
    subjects = sorted(message.subject for message in mail.outbox)
    assert len(subjects) == 2
    assert subjects[0].startswith("Receipt") and "booked" in subjects[1]


def test_an_email_overtaken_by_a_cancellation_is_not_sent(
    client_user, session_type, photographer, at, django_capture_on_commit_callbacks
):
    booking = services.booking_hold(client=client_user, session_type=session_type, start=at(10))
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        services.booking_confirm(booking=booking, actor=client_user)  # its e-mail not yet sent
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=booking, actor=client_user)

    minutes_pass(6)
    assert sweep() == 1

    (cancellation,) = mail.outbox
    assert "cancelled" in cancellation.subject
    assert states() == [("booking.confirmation", "skipped"), ("booking.cancellation", "sent")]


def test_a_promise_made_twice_is_one_email(client_user, session_type, photographer, at):
    from django.db import transaction

    from booking.services.common import send_email_on_commit

    booking = services.booking_hold(client=client_user, session_type=session_type, start=at(10))
    with transaction.atomic():
        send_email_on_commit(booking, "cancellation")
        send_email_on_commit(booking, "cancellation")

    assert OutboundEmail.objects.filter(booking_id=booking.pk).count() == 1


def test_a_moved_booking_is_told_of_each_move(
    client_user, session_type, photographer, at, django_capture_on_commit_callbacks
):
    booking = services.booking_hold(client=client_user, session_type=session_type, start=at(10))
    with django_capture_on_commit_callbacks(execute=True):
        booking = services.booking_confirm(booking=booking, actor=client_user)
        booking = services.booking_reschedule(booking=booking, actor=client_user, start=at(12))
        services.booking_reschedule(booking=booking, actor=client_user, start=at(14))

    assert [m.subject.split(":")[0] for m in mail.outbox] == [
        "Your session is booked",
        "Your session has moved",
        "Your session has moved",
    ]


def test_workers_racing_for_one_email_send_it_once(
    transactional_db, client_user, session_type, photographer, at
):
    """As when two sweeps (or a sweep and the on-commit task) hand one e-mail to several
    workers: each runs the send task at the same instant, on its own database connection."""
    booking = services.booking_hold(client=client_user, session_type=session_type, start=at(10))
    with broker_down():  # autocommit here: its on-commit queueing runs, and fails
        services.booking_confirm(booking=booking, actor=client_user)
    email = OutboundEmail.objects.get()
    racers = 8
    barrier = threading.Barrier(racers)
    errors = []

    def work():
        try:
            barrier.wait()
            # The task's body, as a worker process runs it (Celery's eager mode keeps
            # process-wide state that threads would share).
            outbound_email_send_task.run(email.pk)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert (email.state, email.attempts) == ("sent", 1)
    minutes_pass(6)
    assert sweep() == 0


def test_an_email_the_smtp_server_refuses_is_retried_then_failed_with_its_error(
    settings, as_on_a_worker, tomorrow
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens

    assert booking_reminders_task.delay().get() == 1

    email = OutboundEmail.objects.get(kind="booking.reminder")
    assert email.state == "failed" and "Connection refused" in email.last_error
    assert email.attempts == 9  # the first try and its eight retries
    minutes_pass(6)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert sweep() == 0  # failed for good: left for a person, not sent again
    assert mail.outbox == []


def test_staff_send_a_failed_email_again_from_the_admin(
    settings, as_on_a_worker, tomorrow, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    booking_reminders_task.delay().get()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the server is back
    email = OutboundEmail.objects.get(kind="booking.reminder", state="failed")
    admin = Client()
    admin.force_login(User.objects.create_superuser(email="boss@example.com", password="x"))

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/admin/studio/outboundemail/",
            {"action": "send_again", "_selected_action": [email.pk]},
            follow=True,
        )

    assert "1 e-mails queued to be sent again" in response.content.decode()
    (reminder,) = mail.outbox
    assert "Reminder" in reminder.subject
    email.refresh_from_db()
    assert email.state == "sent"


class SmtpThatNeverAnswersTheData(socketserver.StreamRequestHandler):
    """An SMTP server that takes a whole message, then never says whether it accepted it: the
    moment a sender cannot know whether its e-mail went out."""

    def handle(self):
        self.wfile.write(b"220 test\r\n")
        message = None
        while line := self.rfile.readline():
            if message is not None and line == b".\r\n":
                self.server.received.append(b"".join(message))
                self.server.stop.wait(30)  # no answer: the sender waits until it is killed
                return
            if message is not None:
                message.append(line)
            elif line[:4].upper() == b"DATA":
                message = []
                self.wfile.write(b"354 go on\r\n")
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpThatNeverAnswersTheData)
    server.daemon_threads = True
    server.received, server.stop = [], threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.stop.set()
    server.shutdown()
    server.server_close()


def database_url() -> str:
    """This test database, for another process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user, password = quote(db["USER"] or "", safe=""), quote(db["PASSWORD"] or "", safe="")
    return f"postgres://{user}:{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_a_worker_killed_mid_send_leaves_its_email_failed_never_sent_again(
    transactional_db, tomorrow, smtp_server
):
    with broker_down():
        booking_reminders_task.apply().get()
    email = OutboundEmail.objects.get(kind="booking.reminder")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "studio.settings",
        "DATABASE_URL": database_url(),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_server.server_address[1]),
    }
    env.pop("CELERY_BROKER_URL", None)
    send = f"outbound_email_send_task.apply(args=[{email.pk}])"
    worker = subprocess.Popen(
        [sys.executable, "-c", f"import django; django.setup(); {IMPORT_TASK}; {send}"],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for(lambda: smtp_server.received, timeout=60, what="the worker's SMTP send")
    finally:
        worker.kill()  # as the OOM killer or a deploy's SIGKILL would, mid-send
        worker.wait()
    email.refresh_from_db()
    assert email.state == "sending"
    assert sweep() == 0  # its lease still runs: it may still be sending

    OutboundEmail.objects.update(lease_expires_at=timezone.now())  # the lease runs out
    assert sweep() == 0
    assert sweep() == 0

    email.refresh_from_db()
    assert email.state == "failed" and "may have gone out" in email.last_error
    assert len(smtp_server.received) == 1 and mail.outbox == []
