from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from delivery.models import Gallery, Photo


class Decision(models.TextChoices):
    KEEP = "keep", "Keep"
    MAYBE = "maybe", "Maybe"
    REJECT = "reject", "Reject"


class AiJob(models.Model):
    """One run of AI-assist work over a gallery's photos, one item per photo, with its live
    progress. Culling runs on it; retouching and fill-ins add their kinds."""

    class Kind(models.TextChoices):
        CULLING = "culling", "Culling"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DECIDING = "deciding", "Deciding"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    gallery = models.ForeignKey(Gallery, on_delete=models.CASCADE, related_name="ai_jobs")
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField()
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why the whole run failed (a model missing).")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    progressed_at = models.DateTimeField(
        default=timezone.now, help_text="When it last moved on: the sweep's clock."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    takeovers = models.PositiveSmallIntegerField(
        default=0, help_text="How often the sweep took it over after it had started."
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(done__lte=F("total") - F("failed")), name="ai_job_progress_within_total"
            ),
            # One live run per gallery and kind: asking again while it runs returns that run.
            models.UniqueConstraint(
                fields=["gallery", "kind"],
                condition=Q(state__in=["queued", "running", "deciding"]),
                name="one_live_ai_job_per_gallery_and_kind",
            ),
        ]

    def __str__(self) -> str:
        counted = self.done + self.failed
        return f"{self.get_kind_display()} of {self.gallery} ({counted}/{self.total})"

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def percent(self) -> int:
        return round(100 * (self.done + self.failed) / self.total) if self.total else 100


LIVE_STATES = (AiJob.State.QUEUED, AiJob.State.RUNNING, AiJob.State.DECIDING)


class AiJobItem(models.Model):
    """One photo of a run: where it stands, why it failed, and how often a worker took it up."""

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    job = models.ForeignKey(AiJob, on_delete=models.CASCADE, related_name="items")
    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["job", "photo"], name="one_ai_job_item_per_photo")
        ]

    def __str__(self) -> str:
        return f"{self.photo} in {self.job_id}: {self.state}"


class PhotoCull(models.Model):
    """The culling of one photo: what was measured, what the AI-assist says and why, and what
    the photographer decided. One row per photo: re-running culling updates it, and the
    photographer's review survives it. Where the latest run stands with it is its `item`."""

    photo = models.OneToOneField(Photo, on_delete=models.CASCADE, related_name="cull")
    item = models.OneToOneField(AiJobItem, on_delete=models.CASCADE, related_name="cull")
    signals = models.JSONField(null=True, blank=True)
    # What the rules said (bursts included), then what the AI-assist says after the
    # photographer's learned taste adjusted it.
    rule_decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    rule_score = models.PositiveSmallIntegerField(null=True, blank=True)
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    burst = models.PositiveIntegerField(null=True, blank=True)
    duplicate_of = models.ForeignKey(
        Photo, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    override = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["photo__created_at", "photo_id"]

    def __str__(self) -> str:
        return f"{self.photo}: {self.final_decision or self.item.state}"

    @property
    def final_decision(self) -> str:
        return self.override or self.decision


class CullingProfile(models.Model):
    """A photographer's culling taste, learned from the decisions they reviewed."""

    photographer = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="culling_profile"
    )
    learner = models.JSONField(help_text="ai_assist.culling.Learner as JSON.")
    examples = models.PositiveIntegerField(default=0)
    holdout = models.PositiveIntegerField(default=0)
    agreement_before = models.FloatField(null=True, blank=True)
    agreement_after = models.FloatField(null=True, blank=True)
    trained_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Culling taste of {self.photographer} ({self.examples} decisions)"
