import logging

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from django.db import DatabaseError

from . import services

logger = logging.getLogger(__name__)
MAX_RETRIES = 5


@shared_task(
    bind=True, acks_late=True, max_retries=MAX_RETRIES, soft_time_limit=300, time_limit=360
)
def photo_renditions_task(self, photo_pk: int) -> None:
    """Make a photo's renditions. Safe to repeat; storage or database trouble is retried."""
    try:
        services.photo_make_renditions(photo_pk=photo_pk)
    except (OSError, DatabaseError, BotoCoreError, ClientError) as error:
        if self.request.retries >= MAX_RETRIES:
            services.photo_renditions_failed(photo_pk=photo_pk, error=repr(error))
            raise
        logger.warning("renditions of photo %s failed, retrying: %r", photo_pk, error)
        raise self.retry(exc=error, countdown=min(600, 10 * 2**self.request.retries)) from error
    except Exception as error:
        # A bug or a file nothing caught at upload: retrying will not help, and a photo left
        # pending would look to the studio as if it were still being made.
        services.photo_renditions_failed(photo_pk=photo_pk, error=repr(error))
        raise
