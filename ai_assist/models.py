from django.conf import settings
from django.db import models
from django.db.models import F, Q

from delivery.models import Gallery, Photo


class Decision(models.TextChoices):
    KEEP = "keep", "Keep"
    MAYBE = "maybe", "Maybe"
    REJECT = "reject", "Reject"


class CullJob(models.Model):
    """One run of culling over a shoot (a gallery's camera photos), with its live progress."""

    class Status(models.TextChoices):
        ANALYSING = "analysing", "Analysing photos"
        DECIDING = "deciding", "Deciding"
        DONE = "done", "Done"

    gallery = models.ForeignKey(Gallery, on_delete=models.CASCADE, related_name="cull_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ANALYSING)
    total = models.PositiveIntegerField()
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(done__lte=F("total") - F("failed")), name="cull_progress_within_total"
            ),
            # One running job per shoot: asking again while it runs returns that job.
            models.UniqueConstraint(
                fields=["gallery"],
                condition=~Q(status="done"),
                name="one_running_cull_per_gallery",
            ),
        ]

    def __str__(self) -> str:
        return f"Culling of {self.gallery} ({self.done + self.failed}/{self.total})"


class PhotoCull(models.Model):
    """The culling of one photo: what was measured, what the AI-assist says and why, and what
    the photographer decided. One row per photo: re-running culling updates it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        ANALYSED = "analysed", "Analysed"
        FAILED = "failed", "Failed"

    photo = models.OneToOneField(Photo, on_delete=models.CASCADE, related_name="cull")
    job = models.ForeignKey(CullJob, on_delete=models.CASCADE, related_name="photo_culls")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
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
        return f"{self.photo}: {self.final_decision or self.status}"

    @property
    def final_decision(self) -> str:
        return self.override or self.decision


class CullOverride(models.Model):
    """A photographer changing the AI-assist's decision: the audit trail it learns from."""

    photo_cull = models.ForeignKey(PhotoCull, on_delete=models.CASCADE, related_name="overrides")
    photographer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    ai_decision = models.CharField(max_length=10, choices=Decision.choices)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.ai_decision} → {self.decision} ({self.photo_cull_id})"


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
