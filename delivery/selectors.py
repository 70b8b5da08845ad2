"""Reads for delivery: who may open a gallery, which photos and which sizes they get."""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404

from booking.models import Booking, Payment
from booking.selectors import balance_due_minor
from studio.errors import DomainError
from studio.models import User

from .models import ExtraPurchase, Gallery, Photo, PinAttempt

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


def is_studio_member(user: User | None, gallery: Gallery) -> bool:
    return bool(
        user
        and user.is_authenticated
        and user.role in (User.Role.PHOTOGRAPHER, User.Role.STAFF)
        and user.studio_id == gallery.studio_id
    )


def gallery_access(*, viewer: Viewer, gallery: Gallery, now: datetime | None = None) -> str | None:
    """Return how `viewer` may open the gallery, or None. Closed galleries admit the studio only."""
    user = viewer.user
    if is_studio_member(user, gallery):
        return Access.STUDIO
    if user and user.is_authenticated and user.pk == gallery.booking.client_id:
        access = Access.CLIENT
    elif gallery.link_token_hash and viewer.grants.get(str(gallery.pk)) == grant_value(gallery):
        access = Access.LINK
    else:
        return None
    if not gallery.is_open(now):
        raise DomainError(
            "gallery_closed", "This gallery has expired or was closed by the studio.", status=410
        )
    return access


def _galleries() -> QuerySet[Gallery]:
    return Gallery.objects.select_related(
        "booking__session_type__studio", "booking__client", "booking__photographer"
    )


def gallery_get_for(*, viewer: Viewer, pk: int) -> tuple[Gallery, str]:
    """Return the gallery and the viewer's access; anyone else's gallery is simply not found."""
    gallery = _galleries().filter(pk=pk).first()
    access = gallery and gallery_access(viewer=viewer, gallery=gallery)
    if not access:
        raise Http404("No such gallery")
    return gallery, access


def gallery_get_by_token(*, token: str) -> Gallery:
    gallery = _galleries().filter(link_token_hash=link_token_hash(token)).first()
    if gallery is None:
        raise Http404("No such gallery")
    return gallery


def galleries_for(*, user: User) -> QuerySet[Gallery]:
    """The galleries a logged-in user sees listed: their own, or their studio's."""
    bought = _paid_extras(OuterRef("pk")).values("gallery").annotate(photos=Sum("photos"))
    listed = _galleries().annotate(extra_photos_paid=Coalesce(Subquery(bought.values("photos")), 0))
    if user.role in (User.Role.PHOTOGRAPHER, User.Role.STAFF) and user.studio_id:
        return listed.filter(booking__session_type__studio_id=user.studio_id)
    return listed.filter(booking__client=user, revoked_at__isnull=True)


def bookings_without_gallery(*, user: User) -> QuerySet[Booking]:
    """The studio's confirmed or completed bookings that have no gallery yet."""
    return (
        Booking.objects.filter(
            session_type__studio_id=user.studio_id,
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
    """The studio sees every photo; clients the approved ones whose renditions are ready."""
    qs = gallery.photos.select_related("favourite", "selection_item").order_by("created_at", "pk")
    if access == Access.STUDIO:
        return qs
    return qs.filter(approval=Photo.Approval.APPROVED, rendition_status=Photo.Renditions.READY)


def photo_get(*, gallery: Gallery, access: str, pk: int) -> Photo:
    """A photo of *this* gallery; an id from another gallery is not found."""
    photo = photo_list(gallery=gallery, access=access).filter(pk=pk).first()
    if photo is None:
        raise Http404("No such photo")
    return photo


def wrong_pins(*, gallery: Gallery, ip: str, now: datetime) -> dict[str, int]:
    """Wrong PINs within the throttle window: per link and address, per link, per address."""
    since = now - timedelta(seconds=settings.DELIVERY_PIN_WINDOW_SECONDS)
    recent = PinAttempt.objects.filter(at__gt=since)
    return recent.aggregate(
        link_ip=Count("pk", filter=Q(gallery=gallery, ip=ip)),
        link=Count("pk", filter=Q(gallery=gallery)),
        ip=Count("pk", filter=Q(ip=ip)),
    )
