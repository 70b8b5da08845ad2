"""AI-assist runs (one job model for every kind, and the sweep that takes over stale runs);
culling a shoot on them, the photographer's review of it, and what the AI-assist learns from that.

Culling never publishes or hides anything: it prepares decisions for the photographer.
"""

import json
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from delivery.models import Gallery, Photo
from studio.audit import audit_record
from studio.errors import DomainError
from studio.models import AuditEvent, User
from studio.services import require_works_for
from studio.tasks import queue_each

from . import culling
from .inference import ModelFileError
from .models import (
    LIVE_STATES,
    AiJob,
    AiJobItem,
    CullingProfile,
    Decision,
    PhotoCull,
)

# A worker that took up one photo this often without finishing (it dies on it) gives up on it.
ITEM_MAX_ATTEMPTS = 10
MAX_TAKEOVERS = 5


def cull_start(*, gallery: Gallery, actor: User) -> AiJob:
    """Cull the shoot's camera photos in `ai` tasks, one per photo; while a run is under way,
    asking again returns it, and after one (done or failed) it starts another. The
    photographer's own decisions survive a re-run."""
    from .tasks import cull_photo_task

    require_works_for(actor, gallery.studio_id)
    if live := _live_job(gallery, AiJob.Kind.CULLING):
        return live
    photo_pks = list(gallery.photos.filter(source=Photo.Source.CAMERA).values_list("pk", flat=True))
    if not photo_pks:
        raise DomainError("no_photos")
    try:
        with transaction.atomic():
            job = AiJob.objects.create(
                kind=AiJob.Kind.CULLING, gallery=gallery, started_by=actor, total=len(photo_pks)
            )
            items = AiJobItem.objects.bulk_create(
                AiJobItem(job=job, photo_id=pk) for pk in photo_pks
            )
            PhotoCull.objects.bulk_create(
                [PhotoCull(photo_id=item.photo_id, item=item) for item in items],
                update_conflicts=True,
                unique_fields=["photo"],
                update_fields=["item"],
            )
            item_pks = [item.pk for item in items]
            transaction.on_commit(lambda: queue_each(cull_photo_task, item_pks))
    except IntegrityError:  # another request started one meanwhile
        return _live_job(gallery, AiJob.Kind.CULLING)
    return job


def _live_job(gallery: Gallery, kind: str) -> AiJob | None:
    return gallery.ai_jobs.filter(kind=kind, state__in=LIVE_STATES).first()


def cull_photo_analyse(*, item_pk: int) -> None:
    """Measure one photo of a run. A photo that cannot be read fails alone, with why; a model
    that is missing or altered fails the whole run, with its message.

    Safe to repeat: only an item still queued in a live run is taken up, and the deciding step
    runs again if an earlier try of it failed.
    """
    job_pk = AiJobItem.objects.filter(pk=item_pk).values_list("job_id", flat=True).first()
    if job_pk is None:
        return  # gone with its gallery
    if item := _take_up(item_pk):
        _analyse(item)
    _decide_when_counted(job_pk)


def _take_up(item_pk: int) -> AiJobItem | None:
    """Claim an item still queued in a live run, counting the attempt; None when there is none.

    An item a worker took up too often without finishing (it dies on this photo) fails.
    """
    if not AiJobItem.objects.filter(
        pk=item_pk, state=AiJobItem.State.QUEUED, job__state__in=LIVE_STATES
    ).update(attempts=F("attempts") + 1):
        return None
    item = AiJobItem.objects.select_related("photo").get(pk=item_pk)
    AiJob.objects.filter(pk=item.job_id, state=AiJob.State.QUEUED).update(
        state=AiJob.State.RUNNING, progressed_at=timezone.now()
    )
    if item.attempts > ITEM_MAX_ATTEMPTS:
        _fail(item.pk, item.job_id, f"Given up after {ITEM_MAX_ATTEMPTS} tries on this photo.")
        return None
    return item


def _analyse(item: AiJobItem) -> None:
    with item.photo.original.open("rb") as original:  # storage trouble: the task retries
        data = original.read()
    try:
        signals = culling.analyse_photo(
            data,
            name=item.photo.stem,
            kind=item.photo.kind,
            max_pixels=settings.DELIVERY_MAX_IMAGE_PIXELS,
        )
    except (ModelFileError, ImportError) as error:
        # The worker's models, not the photo: no photo of this run can be culled.
        ai_job_failed(job_pk=item.job_id, error=str(error))
    except Exception as error:  # noqa: BLE001 - any decoding failure is this photo's alone
        _fail(item.pk, item.job_id, _plain(error))
    else:
        _count(item.pk, item.job_id, AiJobItem.State.DONE, signals=signals.to_dict())


def cull_photo_failed(*, item_pk: int, error: str) -> None:
    """Give up on one photo after its retries (storage or database down), so the run still ends."""
    job_pk = AiJobItem.objects.filter(pk=item_pk).values_list("job_id", flat=True).first()
    if job_pk is not None:
        _fail(item_pk, job_pk, error[:500])
        _decide_when_counted(job_pk)


def ai_job_failed(*, job_pk: int, error: str) -> None:
    """Fail a live run as a whole (its models are missing): it can be started again."""
    now = timezone.now()
    AiJob.objects.filter(pk=job_pk, state__in=LIVE_STATES).update(
        state=AiJob.State.FAILED, error=error[:2000], finished_at=now, progressed_at=now
    )


def _fail(item_pk: int, job_pk: int, error: str) -> None:
    # What an earlier run said of this photo no longer stands.
    cleared = {"decision": "", "score": None, "reasons": [], "burst": None, "duplicate_of": None}
    _count(item_pk, job_pk, AiJobItem.State.FAILED, error=error, **cleared)


def _count(item_pk: int, job_pk: int, state: str, *, error: str = "", **cull) -> None:
    """Settle a queued item once, as done or failed: counted in its run, with its culling."""
    counter = "done" if state == AiJobItem.State.DONE else "failed"
    with transaction.atomic():
        if AiJobItem.objects.filter(pk=item_pk, state=AiJobItem.State.QUEUED).update(
            state=state, error=error
        ):
            AiJob.objects.filter(pk=job_pk).update(
                **{counter: F(counter) + 1}, progressed_at=timezone.now()
            )
            PhotoCull.objects.filter(item_id=item_pk).update(**cull)


def _decide_when_counted(job_pk: int) -> None:
    """Decide once every photo is counted; a deciding step that failed runs again."""
    AiJob.objects.filter(
        pk=job_pk,
        state__in=[AiJob.State.QUEUED, AiJob.State.RUNNING],
        total__lte=F("done") + F("failed"),
    ).update(state=AiJob.State.DECIDING, progressed_at=timezone.now())
    if AiJob.objects.filter(pk=job_pk, state=AiJob.State.DECIDING).exists():
        cull_decide_shoot(job_pk=job_pk)


def _plain(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def ai_jobs_take_over(*, now: datetime | None = None) -> dict[str, list[int]]:
    """Take over the live runs without progress for AI_JOB_STALE_MINUTES (their worker died, or
    their tasks were lost); return, by kind, the items to queue again: each run's unfinished
    items, or, when all are counted, its last one, whose task runs the deciding step again.

    A run not yet started may only be waiting behind other runs: it waits three times as long.
    A started run that makes no progress after MAX_TAKEOVERS (a deciding step that fails every
    time) fails with that message. Each run is claimed by a conditional UPDATE of its clock, so
    two sweeps never take one over.
    """
    now = now or timezone.now()
    stale_after = timedelta(minutes=settings.AI_JOB_STALE_MINUTES)
    stale = AiJob.objects.filter(
        Q(state=AiJob.State.QUEUED, progressed_at__lt=now - 3 * stale_after)
        | Q(state__in=LIVE_STATES[1:], progressed_at__lt=now - stale_after)
    )
    requeue = {}
    for job in stale.only("pk", "kind", "state", "progressed_at", "takeovers")[:100]:
        started = job.state != AiJob.State.QUEUED
        if not AiJob.objects.filter(
            pk=job.pk, state=job.state, progressed_at=job.progressed_at
        ).update(progressed_at=now, takeovers=F("takeovers") + int(started)):
            continue
        items = AiJobItem.objects.filter(job_id=job.pk).order_by("pk")
        last = items.last()
        if last is None or job.takeovers + started > MAX_TAKEOVERS:
            ai_job_failed(job_pk=job.pk, error=_given_up(last is None))
            continue
        queued = list(items.filter(state=AiJobItem.State.QUEUED).values_list("pk", flat=True))
        requeue.setdefault(job.kind, []).extend(queued or [last.pk])
    return requeue


def _given_up(no_photos: bool) -> str:
    if no_photos:
        return "The photos of this run are gone. Start it again."
    return f"No progress after {MAX_TAKEOVERS} tries to take this run over. Start it again."


def cull_decide_shoot(*, job_pk: int, now: datetime | None = None) -> None:
    """Decide the whole shoot at once: bursts need every frame, and the photographer's learned
    taste adjusts what the rules said."""
    job = AiJob.objects.select_related("gallery__booking").get(pk=job_pk)
    rows = list(
        PhotoCull.objects.filter(item__job=job, item__state=AiJobItem.State.DONE).select_related(
            "photo"
        )
    )
    names = _names([row.photo for row in rows])
    results = culling.cull_signals(
        [culling.PhotoSignals.from_dict({**r.signals, "name": names[r.photo_id]}) for r in rows]
    )
    # The taste of whoever culls (and so reviews) the shoot: that is who it learned from.
    learner = learner_for(photographer_id=job.started_by_id or job.gallery.booking.photographer_id)
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
        now = now or timezone.now()
        AiJob.objects.filter(pk=job.pk, state=AiJob.State.DECIDING).update(
            state=AiJob.State.DONE, finished_at=now, progressed_at=now
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
    require_works_for(actor, photo_cull.photo.gallery.studio_id)
    if decision not in Decision.values:
        raise DomainError("bad_decision")
    with transaction.atomic():
        row = PhotoCull.objects.select_for_update().get(pk=photo_cull.pk)
        if not row.decision:
            raise DomainError("not_culled")
        previous = row.final_decision
        row.override = "" if decision == row.decision else decision
        row.reviewed_by, row.reviewed_at = actor, timezone.now()
        row.save(update_fields=["override", "reviewed_by", "reviewed_at"])
        if decision != previous:
            photo = photo_cull.photo
            audit_record(
                kind=AuditEvent.Kind.CULL_OVERRIDDEN,
                actor=actor,
                studio_id=photo.gallery.studio_id,
                booking_id=photo.gallery.booking_id,
                gallery_id=photo.gallery_id,
                photo_id=photo.pk,
                name=photo.original_name,
                ai_decision=row.decision,
                decision=decision,
            )
        _train_on_commit(actor)
    return row


def cull_accept_rest(*, gallery: Gallery, actor: User) -> int:
    """The photographer agrees with every decision they have not reviewed; return how many."""
    require_works_for(actor, gallery.studio_id)
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
        PhotoCull.objects.filter(reviewed_by_id=photographer_id, item__state=AiJobItem.State.DONE)
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
