import logging

from celery import shared_task

from . import services
from .emails import send_booking_email
from .models import Booking

logger = logging.getLogger(__name__)

# Which booking states each e-mail still makes sense in when the worker gets to it.
EMAIL_FOR_STATUS = {
    "confirmation": {Booking.Status.CONFIRMED},
    "reminder": {Booking.Status.CONFIRMED},
    "rescheduled": {Booking.Status.CONFIRMED},
    "cancellation": {Booking.Status.CANCELLED},
}


@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_jitter=True,
    max_retries=5,
)
def booking_email_task(booking_id: int, kind: str) -> None:
    booking = (
        Booking.objects.select_related("session_type__studio", "client", "photographer")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None or booking.status not in EMAIL_FOR_STATUS[kind]:
        return  # gone, or overtaken (e.g. cancelled before its confirmation went out)
    send_booking_email(booking, kind)


@shared_task
def booking_expire_holds_task() -> int:
    return services.booking_expire_holds()


@shared_task
def booking_complete_finished_task() -> int:
    return services.booking_complete_finished()


@shared_task
def booking_reminders_task() -> int:
    """Send the day-before reminder once per booking; each e-mail is its own retriable task."""
    claimed = services.booking_claim_due_reminders()
    for booking_id in claimed:
        booking_email_task.delay(booking_id, "reminder")
    logger.info("queued %d reminders", len(claimed))
    return len(claimed)
