"""Promised e-mails (the outbox): never lost, and never sent twice.

A change that promises an e-mail writes its `OutboundEmail` row in its own transaction
(`email_promise`), and the row's sending is queued on commit. If that never happens (the broker
was down, a worker died before it got to the row), the sweep queues the rows still pending after
a few minutes.

Sending claims the row with a conditional UPDATE (pending → sending, with a lease) before the
SMTP send, and marks it sent right after, so of two workers only one sends it. That makes it *at
most once*: a worker that stops between the claim and marking sent (killed mid-send, or the
database gone just after it) leaves the row `sending`; once its lease has run out the sweep marks
it failed, for a person to look at, and never sends it again, since it may have gone out. A
duplicate e-mail is worse here than a rare one a person resends: a second confirmation or receipt
reads like a second booking or charge.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import OutboundEmail

logger = logging.getLogger(__name__)

State = OutboundEmail.State

# Longer than a task may run (CELERY_TASK_TIME_LIMIT), so that a send in progress keeps its claim.
SENDING_LEASE = timedelta(minutes=10)
# Pending for longer than this, a row's on-commit task is taken as lost.
SWEEP_AFTER = timedelta(minutes=5)
STOPPED_MID_SEND = "the worker stopped while sending: it may have gone out, so it is not sent again"


def email_record(
    *,
    kind: OutboundEmail.Kind,
    dedupe_key: str,
    recipient: str,
    booking_id: int | None = None,
    payment_id: int | None = None,
    refund_id: int | None = None,
) -> OutboundEmail | None:
    """Within the change's transaction: write the promised e-mail; return it, or None when the
    same e-mail (`dedupe_key`) was promised before."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"email_record({kind}) must run inside the change's transaction")
    email, created = OutboundEmail.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={
            "kind": kind,
            "recipient": recipient,
            "booking_id": booking_id,
            "payment_id": payment_id,
            "refund_id": refund_id,
        },
    )
    return email if created else None


def email_promise(**email) -> None:
    """Within the change's transaction: write the promised e-mail (see `email_record`), and
    queue its sending once the change is committed."""
    from .tasks import outbound_email_send_task, queue_each

    if recorded := email_record(**email):
        transaction.on_commit(lambda: queue_each(outbound_email_send_task, [recorded.pk]))


def email_send(*, email_pk: int) -> None:
    """Send a promised e-mail, unless it is sent or being sent, or no longer makes sense.

    An error while sending gives the row back (pending, with the error) for the task's retry.
    """
    email = OutboundEmail.objects.filter(pk=email_pk, state=State.PENDING).first()
    if email is None:
        return  # sent, being sent, or given up on
    message = _compose(email)
    if message is None:
        _move(email_pk, State.PENDING, State.SKIPPED)
        return
    if not _claim(email_pk, recipient=message.to[0]):
        return  # another worker claimed it first
    try:
        message.send()
    except Exception as error:
        _move(email_pk, State.SENDING, State.PENDING, last_error=repr(error))
        raise
    _move(email_pk, State.SENDING, State.SENT, sent_at=timezone.now())


def email_failed(*, email_pk: int, error: str) -> None:
    """Give up on a promised e-mail (its retries ran out, or it cannot be composed)."""
    _move(email_pk, State.PENDING, State.FAILED, last_error=error)
    logger.error("e-mail %s failed for good: %s", email_pk, error)


def emails_send_again(*, email_pks: list[int]) -> int:
    """Queue the failed ones of these e-mails to be sent again: a person's decision, since one
    left mid-send may have gone out. Return how many."""
    from .tasks import outbound_email_send_task, queue_each

    with transaction.atomic():
        failed = OutboundEmail.objects.filter(pk__in=email_pks, state=State.FAILED)
        again = list(failed.values_list("pk", flat=True))
        OutboundEmail.objects.filter(pk__in=again, state=State.FAILED).update(state=State.PENDING)
        transaction.on_commit(lambda: queue_each(outbound_email_send_task, again))
    return len(again)


def emails_stuck_fail(*, now: datetime | None = None) -> int:
    """Mark failed the e-mails whose worker stopped mid-send (their lease ran out)."""
    stuck = OutboundEmail.objects.filter(
        state=State.SENDING, lease_expires_at__lt=now or timezone.now()
    )
    failed = stuck.update(state=State.FAILED, lease_expires_at=None, last_error=STOPPED_MID_SEND)
    if failed:
        logger.error("%d e-mails were left mid-send and are marked failed", failed)
    return failed


def emails_unsent(*, now: datetime | None = None) -> list[int]:
    """The e-mails still pending a while after they were promised."""
    since = (now or timezone.now()) - SWEEP_AFTER
    pending = OutboundEmail.objects.filter(state=State.PENDING, created_at__lt=since)
    return list(pending.values_list("pk", flat=True))


def _compose(email: OutboundEmail) -> EmailMessage | None:
    """The message as it reads now, composed by the app the kind belongs to (None: it no longer
    makes sense, e.g. a confirmation overtaken by a cancellation)."""
    app = email.kind.split(".", 1)[0]
    return import_string(settings.OUTBOUND_EMAIL_COMPOSERS[app])(email)


def _claim(email_pk: int, *, recipient: str) -> bool:
    return bool(
        OutboundEmail.objects.filter(pk=email_pk, state=State.PENDING).update(
            state=State.SENDING,
            lease_expires_at=timezone.now() + SENDING_LEASE,
            attempts=F("attempts") + 1,
            recipient=recipient,
        )
    )


def _move(email_pk: int, from_state: str, to_state: str, **changes) -> bool:
    """Move the row from one state to another, only if it is still in the first."""
    moved = OutboundEmail.objects.filter(pk=email_pk, state=from_state)
    return bool(moved.update(state=to_state, lease_expires_at=None, **changes))
