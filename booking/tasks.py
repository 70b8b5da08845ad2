import logging
from datetime import timedelta

import stripe
from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from studio.tasks import MarksFailedTask, queue_each

from . import selectors, services
from .emails import send_booking_email, send_receipt_email
from .models import Booking, Payment, PaymentEvent, Refund

logger = logging.getLogger(__name__)

# Which booking states each e-mail still makes sense in when the worker gets to it.
EMAIL_FOR_STATUS = {
    "confirmation": {Booking.Status.CONFIRMED},
    "reminder": {Booking.Status.CONFIRMED},
    "rescheduled": {Booking.Status.CONFIRMED},
    "cancellation": {Booking.Status.CANCELLED},
    "late_payment_refunded": {Booking.Status.CANCELLED},
    "balance_due": {Booking.Status.COMPLETED},
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
    if kind == "balance_due" and not selectors.balance_due_minor(booking=booking):
        return  # paid meanwhile
    send_booking_email(booking, kind)


@shared_task(autoretry_for=(OSError,), retry_backoff=30, retry_jitter=True, max_retries=5)
def receipt_email_task(kind: str, pk: int) -> None:
    """E-mail the receipt of a payment or a refund."""
    related = "booking__session_type__studio", "booking__client"
    if kind == "payment":
        payment = Payment.objects.select_related(*related).filter(pk=pk).first()
        receipt = payment and selectors.receipt_of_payment(payment)
    else:
        refund = Refund.objects.select_related(*(f"payment__{r}" for r in related))
        refund = refund.filter(pk=pk).first()
        receipt = refund and selectors.receipt_of_refund(refund)
    if receipt:
        send_receipt_email(receipt)


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


@shared_task(
    acks_late=True,
    autoretry_for=(stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError),
    retry_backoff=10,
    retry_jitter=True,
    max_retries=8,
)
def refund_send_task(refund_pk: int) -> None:
    services.refund_send(refund_pk=refund_pk)


@shared_task
def refunds_retry_task() -> int:
    """Queue refunds still unsent after fifteen minutes (retries ran out, a worker died)."""
    stale = Refund.objects.filter(
        provider_refund_id="", created_at__lt=timezone.now() - timedelta(minutes=15)
    ).values_list("pk", flat=True)
    for refund_pk in stale:
        refund_send_task.delay(refund_pk)
    return len(stale)
