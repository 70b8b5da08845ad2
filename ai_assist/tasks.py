"""AI-assist tasks: all on the `ai` queue (CELERY_TASK_ROUTES), which a GPU host can serve."""

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from django.db import OperationalError

from studio.tasks import MarksFailedTask, queue_each

from . import services
from .models import AiJob

MAX_RETRIES = 3


# A missing or altered model is not retried: it fails the whole run at once, with its message
# (services.cull_photo_analyse), and the photographer starts the run again once it is fixed.
@shared_task(
    base=MarksFailedTask,
    mark_failed=services.cull_photo_failed,
    acks_late=True,  # safe to repeat: a photo is counted once
    autoretry_for=(OSError, OperationalError, BotoCoreError, ClientError),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=300,
    time_limit=360,
)
def cull_photo_task(item_pk: int) -> None:
    """Cull one photo of a run; storage or database trouble is retried, then the photo fails."""
    services.cull_photo_analyse(item_pk=item_pk)


ITEM_TASKS = {AiJob.Kind.CULLING: cull_photo_task}


@shared_task
def ai_jobs_take_over_task() -> int:
    """Queue again the unfinished items of runs without progress (their worker died)."""
    requeue = services.ai_jobs_take_over()
    for kind, item_pks in requeue.items():
        queue_each(ITEM_TASKS[kind], item_pks)
    return sum(len(item_pks) for item_pks in requeue.values())


@shared_task
def culling_profile_train_task(photographer_id: int) -> int:
    """Relearn the photographer's culling taste; return how many decisions it learned from."""
    return services.culling_profile_train(photographer_id=photographer_id).examples
