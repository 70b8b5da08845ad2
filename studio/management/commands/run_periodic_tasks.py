"""Run the periodic tasks of CELERY_BEAT_SCHEDULE without a broker (the embedded default).

In production `celery beat` does this. With no broker there is no beat, so `scripts/demo` runs
this command beside the site: `--every 60` repeats until stopped. Every periodic task is safe to
run more often than scheduled.
"""

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from studio.celery import app

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run every task of the beat schedule once, or every N seconds with --every N."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=int, default=0, help="Repeat every N seconds.")

    def handle(self, *args, every: int, **options):
        app.loader.import_default_modules()  # register the apps' tasks (found lazily otherwise)
        while True:
            for entry in settings.CELERY_BEAT_SCHEDULE.values():
                self.run_entry(entry["task"])
            if not every:
                return
            time.sleep(every)

    def run_entry(self, name: str) -> None:
        """Run one task; its failure is logged and the other tasks still run (as under beat)."""
        try:
            result = app.tasks[name].delay()
            self.stdout.write(f"{name}: {result.get() if result.ready() else 'queued'}")
        except Exception:
            logger.exception("periodic task %s failed", name)
            self.stderr.write(f"{name}: failed (see the log)")
