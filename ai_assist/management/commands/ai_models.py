"""`manage.py ai_models check`: find, verify, load and time every AI-assist model."""

import time

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from ai_assist.inference import ALL_MODELS, ModelFileError, model_bytes, model_path
from ai_assist.inference.models import FaceDetector, FaceMesh, IrisLandmarks


class Command(BaseCommand):
    help = "Check that every AI-assist model is installed, unmodified and runs; time each one."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["check"], help="check: verify and time the models")

    def handle(self, *args, **options):
        failures = 0
        for spec, model_class in zip(
            ALL_MODELS, (FaceDetector, FaceMesh, IrisLandmarks), strict=True
        ):
            self.stdout.write(f"{spec.name}")
            self.stdout.write(f"  package   {spec.package}=={spec.version} ({spec.license})")
            try:
                path = model_path(spec)
                self.stdout.write(f"  file      {path}")
                size = len(model_bytes(spec))
                self.stdout.write(f"  sha256    ok ({spec.sha256[:16]}…, {size:,} bytes)")
                model = model_class()
                model.load()
                self.stdout.write(f"  runtime   {model.runtime}: {', '.join(model.providers)}")
                self.stdout.write(f"  load      {model.load_seconds * 1000:.0f} ms")
                self.stdout.write(f"  predict   {_time_predict(model) * 1000:.1f} ms")
            except ModelFileError as exc:
                failures += 1
                self.stderr.write(self.style.ERROR(f"  error     {exc}"))
        if failures:
            raise CommandError(f"{failures} of {len(ALL_MODELS)} models are not usable")
        self.stdout.write(self.style.SUCCESS(f"All {len(ALL_MODELS)} models are ready."))


def _time_predict(model, repeats: int = 5) -> float:
    """Return the median time of one prediction on a typical input for the model."""
    if isinstance(model, FaceDetector):
        shape = (480, 640, 3)  # the detector's working size for a 3:2 photo
    else:
        shape = (model.input_size, model.input_size, 3)
    sample = np.full(shape, 128, dtype=np.uint8)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.predict(sample)
        times.append(time.perf_counter() - started)
    return float(np.median(times))
