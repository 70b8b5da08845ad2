"""What the apps' tasks share: one way to give up on a row, one way for a sweep to queue work;
and the sending of promised e-mails (`studio.outbox`)."""

import inspect
import logging
from collections.abc import Iterable

from celery import Task, shared_task
from celery.exceptions import Retry

from . import outbox, throttles

logger = logging.getLogger(__name__)


class MarksFailedTask(Task):
    """A task that, once it gives up, marks its row failed with the error.

    It gives up when its retries (`autoretry_for`, with backoff and jitter) are spent, or at once
    on an error it does not retry. `mark_failed` is the app's service for that, given with the
    task (`@shared_task(base=MarksFailedTask, mark_failed=...)`); it is called with the task's
    arguments by name and `error`, the exception's repr.
    """

    mark_failed = None

    def __call__(self, *args, **kwargs):
        # Rather than `on_failure`, which Celery skips when a task run eagerly propagates its
        # error (the embedded default, and the tests).
        try:
            return super().__call__(*args, **kwargs)
        except Retry:
            raise
        except Exception as error:
            arguments = inspect.signature(self.run).bind(*args, **kwargs).arguments
            # Read from the class: the plain function, not a method bound to the task.
            type(self).mark_failed(**arguments, error=repr(error))
            raise


def queue_each(task: Task, ids: Iterable[int]) -> None:
    """Queue `task` once per id. One that cannot be queued (the broker is down), or that fails
    while run eagerly (the embedded default), is logged, and the others are still queued."""
    for pk in ids:
        try:
            task.delay(pk)
        except Exception:
            logger.exception("%s(%s) was not queued; the next sweep tries again", task.name, pk)


@shared_task(
    base=MarksFailedTask,
    mark_failed=outbox.email_failed,
    # Safe to run again: a redelivered task finds its row claimed or sent, and leaves it.
    acks_late=True,
    autoretry_for=(OSError,),  # the SMTP server unreachable, or refusing for now
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def outbound_email_send_task(email_pk: int) -> None:
    outbox.email_send(email_pk=email_pk)


@shared_task
def outbound_emails_sweep_task() -> int:
    """Fail the e-mails left mid-send; queue those still pending a few minutes after they were
    promised (the broker was down, a worker died); return how many were queued."""
    outbox.emails_stuck_fail()
    unsent = outbox.emails_unsent()
    queue_each(outbound_email_send_task, unsent)
    return len(unsent)


@shared_task
def throttle_forget_expired_task() -> int:
    return throttles.throttle_forget_expired()
