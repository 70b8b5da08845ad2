"""AI-assist tasks: all on the `ai` queue (CELERY_TASK_ROUTES), which a GPU host can serve."""

import logging

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from django.db import OperationalError

from . import services
from .inference import ModelFileError

logger = logging.getLogger(__name__)
MAX_RETRIES = 3


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)  # acks_late: counted once
def cull_photo_task(self, photo_cull_pk: int, job_pk: int) -> None:
    """Cull one photo; storage, database or model trouble is retried, then the photo fails."""
    try:
        services.cull_photo_analyse(photo_cull_pk=photo_cull_pk, job_pk=job_pk)
    except (OSError, OperationalError, BotoCoreError, ClientError, ModelFileError) as error:
        if self.request.retries >= MAX_RETRIES:
            services.cull_photo_failed(
                photo_cull_pk=photo_cull_pk, job_pk=job_pk, error=repr(error)
            )
            raise
        logger.warning("culling photo %s failed, retrying: %r", photo_cull_pk, error)
        raise self.retry(exc=error, countdown=min(300, 5 * 2**self.request.retries)) from error


@shared_task
def culling_profile_train_task(photographer_id: int) -> int:
    """Relearn the photographer's culling taste; return how many decisions it learned from."""
    return services.culling_profile_train(photographer_id=photographer_id).examples
