import logging
from datetime import timedelta

import stripe
from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from studio.tasks import MarksFailedTask, outbound_email_send_task, queue_each

from . import services
from .models import PaymentEvent, Refund

logger = logging.getLogger(__name__)


@shared_task
def booking_expire_holds_task() -> int:
    return services.booking_expire_holds()


@shared_task
def booking_complete_finished_task() -> int:
    return services.booking_complete_finished()


@shared_task
def booking_reminders_task() -> int:
    """Send the day-before reminder once per booking; each e-mail is its own retriable task.

    Each claim writes its e-mail to the outbox, so a reminder that cannot be queued now (the
    broker is down) is sent by the outbox sweep later.
    """
    emails = services.booking_claim_due_reminders()
    queue_each(outbound_email_send_task, emails)
    logger.info("claimed %d reminders", len(emails))
    return len(emails)


# After this many failed tries the sweep leaves an event alone: it stays recorded, unprocessed,
# with its last error, for someone to look at.
PAYMENT_EVENT_MAX_ATTEMPTS = 10


@shared_task(
    base=MarksFailedTask,
    mark_failed=services.payment_event_failed,
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def payment_event_process_task(event_pk: int) -> None:
    """Apply a recorded payment event; a failure is kept on the event, with its error.

    Database errors (a lock, a lost connection) are retried here. Anything else (an event we
    cannot read yet) is left to the sweep, which gives up after a while.
    """
    services.payment_event_process(event_pk=event_pk)


@shared_task
def payment_events_retry_task() -> int:
    """Queue events still unprocessed after five minutes (a worker died, retries ran out)."""
    stale = PaymentEvent.objects.filter(
        processed_at__isnull=True,
        received_at__lt=timezone.now() - timedelta(minutes=5),
        attempts__lt=PAYMENT_EVENT_MAX_ATTEMPTS,
    ).values_list("pk", flat=True)
    queue_each(payment_event_process_task, stale)
    return len(stale)


# Calls to the payment provider: safe to repeat (idempotency keys); its outages are retried.
STRIPE_CALL_RETRIES = {
    "acks_late": True,
    "autoretry_for": (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError),
    "retry_backoff": 10,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(**STRIPE_CALL_RETRIES)
def refund_send_task(refund_pk: int) -> None:
    services.refund_send(refund_pk=refund_pk)


@shared_task(**STRIPE_CALL_RETRIES)
def payment_cancel_task(payment_pk: int) -> None:
    services.payment_cancel(payment_pk=payment_pk)


@shared_task
def refunds_retry_task() -> int:
    """Queue refunds still unsent after fifteen minutes (retries ran out, a worker died); one
    the provider refused for good (failed) is left alone."""
    stale = Refund.objects.filter(
        status=Refund.Status.SENDING, created_at__lt=timezone.now() - timedelta(minutes=15)
    ).values_list("pk", flat=True)
    for refund_pk in stale:
        refund_send_task.delay(refund_pk)
    return len(stale)
