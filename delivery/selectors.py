"""Reads for delivery: who may open a gallery, which photos and which sizes they get."""

import hashlib
from dataclasses import dataclass, field

from django.db.models import F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from booking.models import Booking, Payment
from booking.selectors import balance_due_minor
from studio.models import User
from studio.selectors import employer_of, works_for

from .models import ExtraPurchase, Gallery, Photo

SESSION_GRANTS = "delivery_gallery_grants"

# Sizes a client may download: proofs (watermarked) before the booking is paid, all after.
THUMB, PROOF, WEB, FULL, ORIGINAL = "thumb", "proof", "web", "full", "original"
UNPAID_SIZES = (THUMB, PROOF)
PAID_SIZES = (THUMB, PROOF, WEB, FULL)
STUDIO_SIZES = (THUMB, PROOF, WEB, FULL, ORIGINAL)


class Access:
    STUDIO = "studio"  # the studio's photographers and staff
    CLIENT = "client"  # the booking's client, logged in
    LINK = "link"  # whoever opened the secret link (and typed its PIN)


@dataclass(frozen=True)
class Viewer:
    """Who is asking: a user (perhaps anonymous) and the gallery links unlocked in their session."""

    user: User | None
    grants: dict = field(default_factory=dict)


def link_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def grant_value(gallery: Gallery) -> str:
    """What a session keeps for an unlocked link: it stops matching when the link or PIN changes."""
    return hashlib.sha256(f"{gallery.link_token_hash}:{gallery.pin_hash}".encode()).hexdigest()


def gallery_access(*, viewer: Viewer, gallery: Gallery) -> str | None:
    """Return how `viewer` may open the gallery, or None. (Once it is closed, only the studio
    may: the request layer tells the others it is gone.)"""
    user = viewer.user
    if works_for(user, gallery.studio_id):
        return Access.STUDIO
    if user and user.is_authenticated and user.pk == gallery.booking.client_id:
        return Access.CLIENT
    if gallery.link_token_hash and viewer.grants.get(str(gallery.pk)) == grant_value(gallery):
        return Access.LINK
    return None


def _galleries() -> QuerySet[Gallery]:
    return Gallery.objects.select_related(
        "booking__session_type__studio", "booking__client", "booking__photographer"
    )


def gallery_get_for(*, viewer: Viewer, pk: int) -> tuple[Gallery, str] | None:
    """Return the gallery and the viewer's access, or None for anyone else's gallery."""
    gallery = _galleries().filter(pk=pk).first()
    access = gallery and gallery_access(viewer=viewer, gallery=gallery)
    return (gallery, access) if access else None


def gallery_get_by_token(*, token: str) -> Gallery | None:
    return _galleries().filter(link_token_hash=link_token_hash(token)).first()


def galleries_for(*, user: User) -> QuerySet[Gallery]:
    """The galleries a logged-in user sees listed: their own, or their studio's."""
    bought = _paid_extras(OuterRef("pk")).values("gallery").annotate(photos=Sum("photos"))
    listed = _galleries().annotate(extra_photos_paid=Coalesce(Subquery(bought.values("photos")), 0))
    if studio_id := employer_of(user):
        return listed.filter(booking__session_type__studio_id=studio_id)
    return listed.filter(booking__client=user, revoked_at__isnull=True)


def bookings_without_gallery(*, user: User) -> QuerySet[Booking]:
    """The confirmed or completed bookings without a gallery yet of the studio `user` works for
    (none for anyone else)."""
    return (
        Booking.objects.filter(
            session_type__studio_id=employer_of(user),
            status__in=[Booking.Status.CONFIRMED, Booking.Status.COMPLETED],
            gallery__isnull=True,
        )
        .select_related("session_type", "client")
        .order_by("-start")
    )


def gallery_is_paid(*, gallery: Gallery) -> bool:
    """Paid: nothing of the price is due. A goodwill refund does not take delivery back."""
    return balance_due_minor(booking=gallery.booking) == 0


def sizes_for(*, access: str, paid: bool) -> tuple[str, ...]:
    if access == Access.STUDIO:
        return STUDIO_SIZES
    return PAID_SIZES if paid else UNPAID_SIZES


def _paid_extras(gallery) -> QuerySet[ExtraPurchase]:
    """Extra photos of a gallery (or OuterRef) whose payment went through and was not refunded
    in full."""
    return ExtraPurchase.objects.filter(
        gallery=gallery, payment__status=Payment.Status.SUCCEEDED
    ).exclude(payment__refunded_minor__gte=F("payment__amount_minor"))


def photo_allowance(*, gallery: Gallery) -> int:
    """How many photos the client may select: the package plus the paid extras (annotated by
    `galleries_for`, counted here otherwise)."""
    bought = getattr(gallery, "extra_photos_paid", None)
    if bought is None:
        bought = _paid_extras(gallery).aggregate(photos=Sum("photos"))["photos"] or 0
    return gallery.included_photos + bought


def photo_list(*, gallery: Gallery, access: str) -> QuerySet[Photo]:
    """The studio sees every photo, drafts too; clients the published ones that are approved
    (AI results are reviewed) and whose renditions are ready. Every client surface (pages, API,
    files, ZIPs, favourites, selection) reads its photos here, and only here."""
    qs = gallery.photos.select_related("favourite", "selection_item").order_by("created_at", "pk")
    if access == Access.STUDIO:
        return qs
    return qs.filter(
        published_at__isnull=False,
        approval=Photo.Approval.APPROVED,
        rendition_status=Photo.Renditions.READY,
    )


def photo_get(*, gallery: Gallery, access: str, pk: int) -> Photo | None:
    """A photo of *this* gallery; an id from another gallery is not found."""
    return photo_list(gallery=gallery, access=access).filter(pk=pk).first()
