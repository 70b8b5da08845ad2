"""Reads for the AI-assist: its runs and their progress, a shoot's culling, and the
photographer's taste."""

from django.db.models import Q, QuerySet

from delivery.models import Gallery
from studio.models import User
from studio.selectors import works_for

from .models import AiJob, AiJobItem, CullingProfile, PhotoCull

FILTERS = ("keep", "maybe", "reject", "failed")


def studio_gallery_get(*, user: User, pk: int) -> Gallery | None:
    """A gallery its studio's team works on, or its client may know of (to be refused the
    culling rather than misled); None for anyone else."""
    gallery = (
        Gallery.objects.select_related("booking__session_type__studio", "booking__photographer")
        .filter(pk=pk)
        .first()
    )
    if gallery and (works_for(user, gallery.studio_id) or _is_client(user, gallery)):
        return gallery
    return None


def _is_client(user: User, gallery: Gallery) -> bool:
    return user.is_authenticated and user.pk == gallery.booking.client_id


def ai_job_latest(*, gallery: Gallery, kind: str) -> AiJob | None:
    """The gallery's latest run of `kind`, live or finished."""
    return gallery.ai_jobs.filter(kind=kind).first()


def ai_job_get(*, user: User, pk: int) -> AiJob | None:
    """A run, for the team of the studio whose gallery it ran on; None for anyone else."""
    job = AiJob.objects.select_related("gallery__booking__session_type").filter(pk=pk).first()
    return job if job and works_for(user, job.gallery.studio_id) else None


def photo_culls(*, gallery: Gallery, show: str = "") -> QuerySet[PhotoCull]:
    """The shoot's culled photos in shoot order, filtered by final decision or failure."""
    rows = PhotoCull.objects.filter(photo__gallery=gallery).select_related(
        "photo", "duplicate_of", "item"
    )
    if show == "failed":
        return rows.filter(item__state=AiJobItem.State.FAILED)
    if show in FILTERS:
        return rows.filter(Q(override=show) | Q(override="", decision=show))
    return rows


def keeper_photo_ids(*, gallery: Gallery) -> list[int]:
    """The photos the culling keeps by the photographer's final word (a maybe they kept too)."""
    return list(photo_culls(gallery=gallery, show="keep").values_list("photo_id", flat=True))


def photo_cull_get(*, gallery: Gallery, pk: int) -> PhotoCull | None:
    return (
        PhotoCull.objects.select_related("photo__gallery__booking__session_type")
        .filter(pk=pk, photo__gallery=gallery)
        .first()
    )


def counts(*, gallery: Gallery) -> dict[str, int]:
    totals = dict.fromkeys(FILTERS, 0)
    rows = (
        PhotoCull.objects.filter(photo__gallery=gallery)
        .select_related("item")
        .only("item__state", "decision", "override")
    )
    for row in rows:
        key = "failed" if row.item.state == AiJobItem.State.FAILED else row.final_decision
        if key in totals:
            totals[key] += 1
    return totals


def culling_profile(*, photographer_id: int | None) -> CullingProfile | None:
    return CullingProfile.objects.filter(photographer_id=photographer_id).first()
