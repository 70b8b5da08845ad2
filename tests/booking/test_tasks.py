"""Periodic housekeeping: day-before reminders, hold expiry, completed sessions."""

from datetime import timedelta

from django.core import mail
from django.utils import timezone

from booking import services
from booking.models import Booking
from booking.tasks import (
    booking_complete_finished_task,
    booking_expire_holds_task,
    booking_reminders_task,
)


def confirmed_booking(client, session_type, start):
    booking = services.booking_hold(client=client, session_type=session_type, start=start)
    return services.booking_confirm(booking=booking, actor=client)


def test_reminder_goes_out_once_the_day_before(client_user, session_type, photographer, at):
    soon = timezone.now() + timedelta(hours=20)
    soon = soon.replace(minute=0 if soon.minute < 30 else 30, second=0, microsecond=0)
    photographer.weekly_hours.update(start_time="00:00", end_time="23:59")
    tomorrow = confirmed_booking(client_user, session_type, soon)
    confirmed_booking(client_user, session_type, at(10))  # four days ahead: not yet
    mail.outbox.clear()

    assert booking_reminders_task.delay().get() == 1
    assert booking_reminders_task.delay().get() == 0

    (reminder,) = mail.outbox
    assert reminder.to == [client_user.email] and "Reminder" in reminder.subject
    assert reminder.attachments[0][0] == "invite.ics"
    tomorrow.refresh_from_db()
    assert tomorrow.reminder_sent_at is not None


def test_a_rescheduled_booking_is_reminded_again(client_user, session_type, photographer, at):
    booking = confirmed_booking(client_user, session_type, at(10))
    Booking.objects.filter(pk=booking.pk).update(reminder_sent_at=timezone.now())

    moved = services.booking_reschedule(booking=booking, actor=client_user, start=at(12))

    assert moved.reminder_sent_at is None


def test_holds_expire_by_themselves(client_user, session_type, photographer, at):
    booking = services.booking_hold(client=client_user, session_type=session_type, start=at(10))
    assert booking_expire_holds_task.delay().get() == 0
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now())

    assert booking_expire_holds_task.delay().get() == 1
    booking.refresh_from_db()
    assert booking.status == "expired"


def test_finished_sessions_are_completed(client_user, session_type, photographer, at):
    booking = confirmed_booking(client_user, session_type, at(10))
    assert booking_complete_finished_task.delay().get() == 0

    assert services.booking_complete_finished(now=booking.end + timedelta(minutes=1)) == 1
    booking.refresh_from_db()
    assert booking.status == "completed"


def test_embedded_default_runs_the_beat_schedule_by_command(
    client_user, session_type, photographer, at
):
    from django.core.management import call_command

    booking = services.booking_hold(client=client_user, session_type=session_type, start=at(10))
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now())

    call_command("run_periodic_tasks")

    booking.refresh_from_db()
    assert booking.status == "expired"


def test_one_failing_periodic_task_does_not_stop_the_others(
    settings, client_user, session_type, photographer, at
):
    from io import StringIO

    from django.core.management import call_command

    booking = services.booking_hold(client=client_user, session_type=session_type, start=at(10))
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now())
    settings.CELERY_BEAT_SCHEDULE = {
        "renamed": {"task": "booking.tasks.no_such_task", "schedule": 60.0},
        **settings.CELERY_BEAT_SCHEDULE,
    }
    errors = StringIO()

    call_command("run_periodic_tasks", stdout=StringIO(), stderr=errors)

    booking.refresh_from_db()
    assert booking.status == "expired"
    assert "booking.tasks.no_such_task: failed" in errors.getvalue()
