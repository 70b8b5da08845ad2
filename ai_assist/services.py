"""Culling a shoot, the photographer's review of it, and what the AI-assist learns from that.

Culling never publishes or hides anything: it prepares decisions for the photographer.
"""

import json
from collections import Counter
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from delivery.models import Gallery, Photo
from delivery.selectors import is_studio_member
from studio.errors import DomainError
from studio.models import User

from . import culling
from .inference import ModelFileError
from .models import CullingProfile, CullJob, CullOverride, Decision, PhotoCull


def _check_studio(actor: User, gallery: Gallery) -> None:
    if not is_studio_member(actor, gallery):
        raise DomainError(
            "studio_only", "Only the studio's photographers and staff cull a shoot.", status=403
        )


def cull_start(*, gallery: Gallery, actor: User) -> CullJob:
    """Cull the shoot's camera photos in `ai` tasks, one per photo; while a run is under way,
    asking again returns it. The photographer's own decisions survive a re-run."""
    from .tasks import cull_photo_task

    _check_studio(actor, gallery)
    if running := gallery.cull_jobs.exclude(status=CullJob.Status.DONE).first():
        return running
    photo_pks = list(gallery.photos.filter(source=Photo.Source.CAMERA).values_list("pk", flat=True))
    if not photo_pks:
        raise DomainError("no_photos", "Upload the shoot's photos first.", status=409)
    try:
        with transaction.atomic():
            job = CullJob.objects.create(gallery=gallery, requested_by=actor, total=len(photo_pks))
            rows = []
            for photo_pk in photo_pks:
                row, _ = PhotoCull.objects.update_or_create(
                    photo_id=photo_pk,
                    defaults={"job": job, "status": PhotoCull.Status.PENDING, "error": ""},
                )
                rows.append(row.pk)
            transaction.on_commit(
                lambda: [cull_photo_task.delay(row_pk, job.pk) for row_pk in rows]
            )
    except IntegrityError:  # another request started one meanwhile
        return gallery.cull_jobs.exclude(status=CullJob.Status.DONE).get()
    return job


def cull_photo_analyse(*, photo_cull_pk: int, job_pk: int) -> None:
    """Measure one photo of a run; a photo that cannot be read is marked failed, with why.

    Safe to repeat: only a row still pending in this run is counted, and the deciding step runs
    again if an earlier try of it failed.
    """
    row = (
        PhotoCull.objects.select_related("photo")
        .filter(pk=photo_cull_pk, job_id=job_pk, status=PhotoCull.Status.PENDING)
        .first()
    )
    if row is not None:
        _analyse(row, job_pk)
    _decide_when_analysed(job_pk)


def _analyse(row: PhotoCull, job_pk: int) -> None:
    with row.photo.original.open("rb") as original:  # storage trouble: the task retries
        data = original.read()
    try:
        signals = culling.analyse_photo(data, name=row.photo.stem, kind=row.photo.kind)
    except ModelFileError:
        raise  # the worker's models, not the photo: fail loudly and retry elsewhere
    except Exception as error:  # noqa: BLE001 - any decoding failure is this photo's alone
        _fail(row.pk, job_pk, _plain(error))
    else:
        _count(row.pk, job_pk, PhotoCull.Status.ANALYSED, signals=signals.to_dict(), counter="done")


def cull_photo_failed(*, photo_cull_pk: int, job_pk: int, error: str) -> None:
    """Give up on one photo after its retries (storage or models down), so the run still ends."""
    _fail(photo_cull_pk, job_pk, error[:500])
    _decide_when_analysed(job_pk)


def _fail(photo_cull_pk: int, job_pk: int, error: str) -> None:
    # What an earlier run said of this photo no longer stands.
    cleared = {"decision": "", "score": None, "reasons": [], "burst": None, "duplicate_of": None}
    _count(photo_cull_pk, job_pk, PhotoCull.Status.FAILED, error=error, counter="failed", **cleared)


def _decide_when_analysed(job_pk: int) -> None:
    """Decide once every photo is analysed or failed; a deciding step that failed runs again."""
    CullJob.objects.filter(
        pk=job_pk, status=CullJob.Status.ANALYSING, total__lte=F("done") + F("failed")
    ).update(status=CullJob.Status.DECIDING)
    if CullJob.objects.filter(pk=job_pk, status=CullJob.Status.DECIDING).exists():
        cull_decide(job_pk=job_pk)


def _plain(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def _count(photo_cull_pk: int, job_pk: int, status: str, *, counter: str, **fields) -> None:
    with transaction.atomic():
        if PhotoCull.objects.filter(
            pk=photo_cull_pk, job_id=job_pk, status=PhotoCull.Status.PENDING
        ).update(status=status, **fields):
            CullJob.objects.filter(pk=job_pk).update(**{counter: F(counter) + 1})


def cull_decide(*, job_pk: int, now: datetime | None = None) -> None:
    """Decide the whole shoot at once: bursts need every frame, and the photographer's learned
    taste adjusts what the rules said."""
    job = CullJob.objects.select_related("gallery__booking").get(pk=job_pk)
    rows = list(
        PhotoCull.objects.filter(
            photo__gallery=job.gallery, status=PhotoCull.Status.ANALYSED
        ).select_related("photo")
    )
    names = _names([row.photo for row in rows])
    results = culling.cull_signals(
        [culling.PhotoSignals.from_dict({**r.signals, "name": names[r.photo_id]}) for r in rows]
    )
    # The taste of whoever culls (and so reviews) the shoot: that is who it learned from.
    learner = learner_for(
        photographer_id=job.requested_by_id or job.gallery.booking.photographer_id
    )
    photo_named = {name: pk for pk, name in names.items()}
    with transaction.atomic():
        for row, result in zip(rows, results, strict=True):
            rule_decision, rule_score = result.decision, result.score
            if learner and learner.active:
                learner.adjust(result)
            PhotoCull.objects.filter(pk=row.pk).update(
                rule_decision=rule_decision,
                rule_score=rule_score,
                decision=result.decision,
                score=result.score,
                reasons=result.reasons,
                burst=result.burst,
                duplicate_of_id=photo_named.get(result.duplicate_of),
            )
        CullJob.objects.filter(pk=job.pk).update(
            status=CullJob.Status.DONE, finished_at=now or timezone.now()
        )


def _names(photos: list[Photo]) -> dict[int, str]:
    """Name photos to the photographer by file name, telling apart two files of one name."""
    names, seen = {}, Counter()
    for photo in photos:
        seen[photo.stem] += 1
        count = seen[photo.stem]
        names[photo.pk] = photo.stem if count == 1 else f"{photo.stem} ({count})"
    return names


def learner_for(*, photographer_id: int | None) -> culling.Learner | None:
    profile = CullingProfile.objects.filter(photographer_id=photographer_id).first()
    return culling.Learner.from_json(json.dumps(profile.learner)) if profile else None


def cull_override(*, photo_cull: PhotoCull, actor: User, decision: str) -> PhotoCull:
    """Record the photographer's decision on a photo (the same as the AI's counts as agreeing)."""
    _check_studio(actor, photo_cull.photo.gallery)
    if decision not in Decision.values:
        raise DomainError("bad_decision", "Choose keep, maybe or reject.")
    with transaction.atomic():
        row = PhotoCull.objects.select_for_update().get(pk=photo_cull.pk)
        if not row.decision:
            raise DomainError("not_culled", "This photo has no culling decision yet.", status=409)
        previous = row.final_decision
        row.override = "" if decision == row.decision else decision
        row.reviewed_by, row.reviewed_at = actor, timezone.now()
        row.save(update_fields=["override", "reviewed_by", "reviewed_at"])
        if decision != previous:
            CullOverride.objects.create(
                photo_cull=row, photographer=actor, ai_decision=row.decision, decision=decision
            )
        _train_on_commit(actor)
    return row


def cull_accept_rest(*, gallery: Gallery, actor: User) -> int:
    """The photographer agrees with every decision they have not reviewed; return how many."""
    _check_studio(actor, gallery)
    with transaction.atomic():
        accepted = (
            PhotoCull.objects.filter(photo__gallery=gallery, reviewed_at__isnull=True)
            .exclude(decision="")
            .update(reviewed_by=actor, reviewed_at=timezone.now())
        )
        if accepted:
            _train_on_commit(actor)
    return accepted


def _train_on_commit(photographer: User) -> None:
    from .tasks import culling_profile_train_task

    transaction.on_commit(lambda: culling_profile_train_task.delay(photographer.pk))


def culling_profile_train(*, photographer_id: int, now: datetime | None = None) -> CullingProfile:
    """Learn the photographer's taste from every decision they reviewed, measured on held-out
    decisions against the rules alone."""
    rows = (
        PhotoCull.objects.filter(reviewed_by_id=photographer_id, status=PhotoCull.Status.ANALYSED)
        .exclude(rule_decision="")
        .select_related("photo", "duplicate_of")
        .order_by("reviewed_at", "pk")
    )
    learner = culling.Learner.train([(_rule_result(row), row.final_decision) for row in rows])
    profile, _ = CullingProfile.objects.update_or_create(
        photographer_id=photographer_id,
        defaults={
            "learner": json.loads(learner.to_json()),
            "examples": learner.examples,
            "holdout": learner.holdout,
            "agreement_before": learner.agreement_before,
            "agreement_after": learner.agreement_after,
            "trained_at": now or timezone.now(),
        },
    )
    return profile


def _rule_result(row: PhotoCull) -> culling.CullResult:
    """The photo as the rules culled it: what the learner learns to correct."""
    return culling.CullResult(
        name=row.photo.stem,
        decision=row.rule_decision,
        score=row.rule_score or 0,
        reasons=[],
        signals=culling.PhotoSignals.from_dict(row.signals),
        burst=row.burst,
        duplicate_of=row.duplicate_of.stem if row.duplicate_of else None,
        rule_decision=row.rule_decision,
    )
