"""What the apps' tasks share: one way to give up on a row, one way for a sweep to queue work."""

import inspect
import logging
from collections.abc import Iterable

from celery import Task
from celery.exceptions import Retry

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
