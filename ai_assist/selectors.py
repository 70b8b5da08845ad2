"""Reads for the AI-assist: a shoot's culling, its progress, and the photographer's taste."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404

from delivery.models import Gallery
from delivery.selectors import is_studio_member
from studio.errors import DomainError
from studio.models import User

from .models import CullingProfile, CullJob, PhotoCull

FILTERS = ("keep", "maybe", "reject", "failed")


@dataclass(frozen=True)
class Progress:
    status: str
    done: int
    failed: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * (self.done + self.failed) / self.total) if self.total else 100


def studio_gallery_get(*, user: User, pk: int) -> Gallery:
    """A gallery the user's studio owns; anyone else's is not found, a client is refused."""
    gallery = (
        Gallery.objects.select_related("booking__session_type__studio", "booking__photographer")
        .filter(pk=pk)
        .first()
    )
    if gallery is None or not (is_studio_member(user, gallery) or _is_client(user, gallery)):
        raise Http404("No such gallery")
    if not is_studio_member(user, gallery):
        raise DomainError("studio_only", "Only the studio sees the culling.", status=403)
    return gallery


def _is_client(user: User, gallery: Gallery) -> bool:
    return user.is_authenticated and user.pk == gallery.booking.client_id


def cull_progress(*, gallery: Gallery) -> Progress | None:
    """The latest run's progress: done / failed / total."""
    job: CullJob | None = gallery.cull_jobs.first()
    if job is None:
        return None
    return Progress(status=job.status, done=job.done, failed=job.failed, total=job.total)


def photo_culls(*, gallery: Gallery, show: str = "") -> QuerySet[PhotoCull]:
    """The shoot's culled photos in shoot order, filtered by final decision or failure."""
    rows = PhotoCull.objects.filter(photo__gallery=gallery).select_related("photo", "duplicate_of")
    if show == "failed":
        return rows.filter(status=PhotoCull.Status.FAILED)
    if show in FILTERS:
        return rows.filter(Q(override=show) | Q(override="", decision=show))
    return rows


def photo_cull_get(*, gallery: Gallery, pk: int) -> PhotoCull:
    try:
        return PhotoCull.objects.select_related("photo__gallery__booking__session_type").get(
            pk=pk, photo__gallery=gallery
        )
    except PhotoCull.DoesNotExist:
        raise Http404("No such photo in this shoot") from None


def counts(*, gallery: Gallery) -> dict[str, int]:
    totals = dict.fromkeys(FILTERS, 0)
    rows = PhotoCull.objects.filter(photo__gallery=gallery).only("status", "decision", "override")
    for row in rows:
        key = "failed" if row.status == PhotoCull.Status.FAILED else row.final_decision
        if key in totals:
            totals[key] += 1
    return totals


def culling_profile(*, photographer_id: int | None) -> CullingProfile | None:
    return CullingProfile.objects.filter(photographer_id=photographer_id).first()
