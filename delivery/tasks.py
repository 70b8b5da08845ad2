from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from django.db import DatabaseError

from studio.tasks import MarksFailedTask, queue_each

from . import services

MAX_RETRIES = 5


# A bug or a file nothing caught at upload is not retried: it fails the photo at once, since a
# photo left pending would look to the studio as if it were still being made.
@shared_task(
    base=MarksFailedTask,
    mark_failed=services.photo_renditions_failed,
    acks_late=True,
    autoretry_for=(OSError, DatabaseError, BotoCoreError, ClientError),
    retry_backoff=10,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=300,
    time_limit=360,
)
def photo_renditions_task(photo_pk: int) -> None:
    """Make a photo's renditions. Safe to repeat; storage or database trouble is retried."""
    services.photo_make_renditions(photo_pk=photo_pk)


@shared_task
def photo_renditions_requeue_task() -> int:
    """Queue again the renditions of photos left pending (a worker killed, the broker down)."""
    claimed = services.photo_renditions_claim_stale()
    queue_each(photo_renditions_task, claimed)
    return len(claimed)
