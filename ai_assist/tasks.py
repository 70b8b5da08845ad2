"""AI-assist tasks: all on the `ai` queue (CELERY_TASK_ROUTES), which a GPU host can serve."""

from celery import shared_task
from django.db import OperationalError

from . import services
from .inference import ModelFileError


@shared_task(
    acks_late=True,  # safe: a photo is counted once however often this runs
    autoretry_for=(OperationalError, ModelFileError),
    retry_backoff=5,
    retry_jitter=True,
    max_retries=3,
)
def cull_photo_task(photo_cull_pk: int, job_pk: int) -> None:
    services.cull_photo_analyse(photo_cull_pk=photo_cull_pk, job_pk=job_pk)


@shared_task
def culling_profile_train_task(photographer_id: int) -> int:
    """Relearn the photographer's culling taste; return how many decisions it learned from."""
    return services.culling_profile_train(photographer_id=photographer_id).examples
