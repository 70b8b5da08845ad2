"""Writes for delivery: galleries, uploads, renditions, publishing, the review of AI results,
favourites and selections.

Files are written to storage outside database transactions and the row is inserted after, so a
photo row always points at a whole original; a failed insert deletes the stored file again.
"""

import functools
import hashlib
import logging
import re
import secrets
import tempfile
import threading
import uuid
import zlib
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from booking import services as booking_services
from booking.models import Booking, Payment
from studio.audit import audit_record
from studio.errors import DomainError
from studio.models import AuditEvent, OutboundEmail, User
from studio.outbox import email_promise
from studio.services import require_works_for
from studio.throttles import Limit, address_key, throttle_give_back, throttle_take

from . import images, provenance, selectors
from .models import (
    ExtraPurchase,
    Favourite,
    Gallery,
    Photo,
    SelectionItem,
)

logger = logging.getLogger(__name__)
CHUNK = 1024 * 1024


class PhotoRejected(DomainError):
    """One uploaded file refused; the others of the same upload carry on."""

    def __init__(self, code: str, *, name: str, **values):
        super().__init__(code, **values)
        self.name = name

    def extra(self) -> dict:
        return {"file": self.name}


def _pin_hash(pin: str) -> str:
    pin = pin.strip()
    if not pin:
        return ""
    if not re.fullmatch(r"\d{4,12}", pin):
        raise DomainError("invalid_pin")
    return make_password(pin)


def gallery_create(
    *,
    booking: Booking,
    actor: User,
    title: str = "",
    included_photos: int = 10,
    pin: str = "",
    expires_at: datetime | None = None,
) -> tuple[Gallery, str]:
    """Open the booking's gallery; return it and its secret link token (shown this once)."""
    require_works_for(actor, booking.session_type.studio_id)
    if booking.status not in (Booking.Status.CONFIRMED, Booking.Status.COMPLETED):
        raise DomainError("booking_not_confirmed")
    token = secrets.token_urlsafe(32)  # 256 random bits
    try:
        with transaction.atomic():
            gallery = Gallery.objects.create(
                booking=booking,
                title=title.strip() or f"{booking.session_type.name} — {booking.client}",
                included_photos=included_photos,
                link_token_hash=selectors.link_token_hash(token),
                pin_hash=_pin_hash(pin),
                expires_at=expires_at,
                created_by=actor,
            )
            audit_record(
                kind=AuditEvent.Kind.GALLERY_CREATED,
                actor=actor,
                studio_id=booking.session_type.studio_id,
                gallery_id=gallery.pk,
            )
    except IntegrityError:
        raise DomainError("gallery_exists") from None
    return gallery, token


def gallery_new_link(*, gallery: Gallery, actor: User, pin: str | None = None) -> str:
    """Replace the gallery's link (the old one stops working); `pin` None keeps the PIN."""
    require_works_for(actor, gallery.studio_id)
    token = secrets.token_urlsafe(32)
    gallery.link_token_hash = selectors.link_token_hash(token)
    fields = ["link_token_hash"]
    if pin is not None:
        gallery.pin_hash = _pin_hash(pin)
        fields.append("pin_hash")
    with transaction.atomic():
        gallery.save(update_fields=fields)
        audit_record(
            kind=AuditEvent.Kind.GALLERY_LINK_RENEWED,
            actor=actor,
            studio_id=gallery.studio_id,
            gallery_id=gallery.pk,
            pin_changed=pin is not None,
        )
    return token


def gallery_update(
    *,
    gallery: Gallery,
    actor: User,
    expires_at: datetime | None,
    included_photos: int,
    extra_photo_price_minor: int | None = None,
) -> Gallery:
    require_works_for(actor, gallery.studio_id)
    gallery.expires_at, gallery.included_photos = expires_at, included_photos
    if extra_photo_price_minor is not None:
        gallery.extra_photo_price_minor = extra_photo_price_minor
    with transaction.atomic():
        gallery.save(update_fields=["expires_at", "included_photos", "extra_photo_price_minor"])
        audit_record(
            kind=AuditEvent.Kind.GALLERY_UPDATED,
            actor=actor,
            studio_id=gallery.studio_id,
            gallery_id=gallery.pk,
            expires_at=expires_at.isoformat() if expires_at else None,
            included_photos=included_photos,
            extra_photo_price_minor=gallery.extra_photo_price_minor,
        )
    return gallery


def gallery_revoke(*, gallery: Gallery, actor: User, revoked: bool = True) -> Gallery:
    """Close the gallery to its client and its link (pages and files alike), or reopen it."""
    require_works_for(actor, gallery.studio_id)
    gallery.revoked_at = timezone.now() if revoked else None
    with transaction.atomic():
        gallery.save(update_fields=["revoked_at"])
        audit_record(
            kind=AuditEvent.Kind.GALLERY_CLOSED if revoked else AuditEvent.Kind.GALLERY_REOPENED,
            actor=actor,
            studio_id=gallery.studio_id,
            gallery_id=gallery.pk,
        )
    return gallery


def gallery_unlock(*, token: str, pin: str, ip: str, now: datetime | None = None) -> Gallery:
    """Open a gallery by its link and PIN. Wrong PINs are throttled for a while, not forever:
    each try is counted before its PIN is checked, and given back when the PIN was right."""
    now = now or timezone.now()
    gallery = selectors.gallery_get_by_token(token=token)
    if gallery is None:
        raise DomainError("not_found", thing="gallery")
    if not gallery.is_open(now):
        raise DomainError("gallery_closed")
    if not gallery.pin_hash:
        return gallery
    attempt = throttle_take(limits=_pin_limits(gallery, ip), code="too_many_attempts", now=now)
    if not check_password(pin.strip(), gallery.pin_hash):
        raise DomainError("wrong_pin")
    throttle_give_back(attempt)
    return gallery


def _pin_limits(gallery: Gallery, ip: str) -> list[Limit]:
    """Wrong PINs per address (on this link, and on all), and per link: its budget binds only
    the addresses that failed on it, so nobody can lock the link for everyone else, and its
    ceiling bounds what many addresses guess together. A new link starts afresh."""
    window = settings.DELIVERY_PIN_WINDOW_SECONDS
    address = address_key(ip)
    link = f"pin:link:{gallery.link_token_hash}"
    here = f"{link}:{address}"
    return [
        Limit(f"pin:ip:{address}", settings.DELIVERY_PIN_TRIES_PER_IP, window),
        Limit(here, settings.DELIVERY_PIN_TRIES_PER_LINK_AND_IP, window),
        Limit(link, settings.DELIVERY_PIN_TRIES_PER_LINK, window, after=here),
        Limit(link, settings.DELIVERY_PIN_CEILING_PER_LINK, window),
    ]


def _clean_name(name: str) -> str:
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()[:200]
    return name or "photo"


def _digests(file) -> tuple[str, int]:
    file.seek(0)
    sha, crc = hashlib.sha256(), 0
    while chunk := file.read(CHUNK):
        sha.update(chunk)
        crc = zlib.crc32(chunk, crc)
    return sha.hexdigest(), crc


@functools.cache
def _upload_checks(at_once: int) -> threading.BoundedSemaphore:
    """The checks of uploaded files this process runs at once, each holding up to a photo's
    memory (README: memory per photo); its other threads go on answering meanwhile."""
    return threading.BoundedSemaphore(at_once)


def photo_upload(
    *, gallery: Gallery, actor: User, file: UploadedFile, source: str = Photo.Source.CAMERA
) -> Photo:
    """Validate one file completely, store the original byte for byte, and queue renditions."""
    require_works_for(actor, gallery.studio_id)
    name = _clean_name(file.name)
    try:
        with _upload_checks(settings.DELIVERY_UPLOAD_CHECKS_PER_PROCESS):
            info = images.inspect(
                file,
                size=file.size,
                max_bytes=settings.DELIVERY_MAX_UPLOAD_BYTES,
                max_pixels=settings.DELIVERY_MAX_IMAGE_PIXELS,
                max_strips=settings.DELIVERY_MAX_STRIPS,
                max_frames=settings.DELIVERY_MAX_FRAMES,
            )
    except images.ImageRejected as error:
        raise PhotoRejected(error.code, name=name, **error.values) from None
    sha256, crc32 = _digests(file)
    duplicate = PhotoRejected("duplicate", name=name)
    if gallery.photos.filter(sha256=sha256).exists():
        raise duplicate
    key = uuid.uuid4()
    file.seek(0)
    stored = default_storage.save(f"galleries/{gallery.key}/{key}/original.{info.extension}", file)
    try:
        with transaction.atomic():
            photo = Photo.objects.create(
                gallery=gallery,
                key=key,
                original=stored,
                original_name=name,
                kind=info.kind,
                content_type=info.content_type,
                size=file.size,
                sha256=sha256,
                crc32=crc32,
                width=info.width,
                height=info.height,
                source=source,
                approval=Photo.Approval.APPROVED
                if source == Photo.Source.CAMERA
                else Photo.Approval.PENDING,
                uploaded_by=actor,
            )
            audit_record(
                kind=AuditEvent.Kind.PHOTO_UPLOADED,
                actor=actor,
                studio_id=gallery.studio_id,
                gallery_id=gallery.pk,
                photo_id=photo.pk,
                name=name,
            )
    except IntegrityError:
        default_storage.delete(stored)
        raise duplicate from None
    except BaseException:  # no row points at the file: it must not stay behind
        default_storage.delete(stored)
        raise
    # Queued only once the row is committed: from here on the row owns the file, and whatever
    # happens to its renditions (run eagerly, right here, without a broker) is the row's status.
    _queue_renditions(photo.pk)
    return photo


def _queue_renditions(photo_pk: int) -> None:
    from .tasks import photo_renditions_task

    # The sweep's clock: still pending a while after this, the photo is queued again.
    Photo.objects.filter(pk=photo_pk).update(renditions_queued_at=timezone.now())
    # robust: a task that fails while run eagerly, or a broker that is down, is logged and does
    # not fail the upload.
    transaction.on_commit(lambda: photo_renditions_task.delay(photo_pk), robust=True)


RENDITIONS_SWEEP_BATCH = 500


def photo_renditions_claim_stale(*, now: datetime | None = None) -> list[int]:
    """Claim the photos whose renditions are still pending a while after they were queued (their
    worker was killed, or the broker was down), restarting their clock; return their ids.

    Each is claimed by a conditional UPDATE of its clock: two sweeps never claim one twice.
    """
    now = now or timezone.now()
    before = now - timedelta(minutes=settings.DELIVERY_RENDITIONS_STALE_MINUTES)
    stale = (
        Photo.objects.filter(rendition_status=Photo.Renditions.PENDING)
        .filter(
            Q(renditions_queued_at__lt=before)
            | Q(renditions_queued_at__isnull=True, created_at__lt=before)
        )
        .values_list("pk", "renditions_queued_at")[:RENDITIONS_SWEEP_BATCH]
    )
    return [pk for pk, queued_at in stale if _claim_renditions(pk, queued_at, now)]


def _claim_renditions(photo_pk: int, queued_at: datetime | None, now: datetime) -> bool:
    return bool(
        Photo.objects.filter(
            pk=photo_pk, rendition_status=Photo.Renditions.PENDING, renditions_queued_at=queued_at
        ).update(renditions_queued_at=now)
    )


def _spooled_original(photo: Photo):
    """A local, seekable copy of the original (from disk or S3), in memory while small."""
    copy = tempfile.SpooledTemporaryFile(max_size=32 * CHUNK)
    with default_storage.open(photo.original.name, "rb") as original:
        while chunk := original.read(CHUNK):
            copy.write(chunk)
    copy.seek(0)
    return copy


def photo_make_renditions(*, photo_pk: int) -> bool:
    """Make and store the photo's renditions; safe to repeat. Return whether it did any work."""
    photo = (
        Photo.objects.select_related("gallery__booking__session_type__studio")
        .filter(pk=photo_pk)
        .first()
    )
    if photo is None or photo.rendition_status == Photo.Renditions.READY:
        return False
    studio = photo.gallery.booking.session_type.studio
    # Photo records no inpainting yet: a retouch counts as tones only until it does.
    origin = images.Origin(source=photo.source)
    with _spooled_original(photo) as original:
        try:
            made = images.renditions(
                original,
                photo.kind,
                max_pixels=settings.DELIVERY_MAX_IMAGE_PIXELS,
                watermark_text=f"PROOF · {studio.name}",
                origin=origin,
                signer=provenance_signer() if origin.is_ai else None,
            )
        except images.ImageRejected as error:
            photo_renditions_failed(photo_pk=photo.pk, error=error.message)
            return False
        except provenance.SigningFailed as error:  # the studio's certificate or key: fix settings
            photo_renditions_failed(photo_pk=photo.pk, error=str(error))
            return False
    stored = {}
    for size, data in made.items():
        path = f"galleries/{photo.gallery.key}/{photo.key}/{size}.jpg"
        default_storage.delete(path)  # a repeat replaces, never piles up name_1.jpg copies
        stored[size] = {
            "name": default_storage.save(path, ContentFile(data)),
            "size": len(data),
            "crc32": zlib.crc32(data),
        }
    Photo.objects.filter(pk=photo.pk).update(
        renditions=stored, rendition_status=Photo.Renditions.READY, rendition_error=""
    )
    return True


def provenance_signer() -> provenance.Signer:
    """The studio's C2PA signer from settings, or the local test signer under VAR_DIR."""
    return provenance.studio_signer(
        cert=settings.C2PA_SIGNING_CERT, key=settings.C2PA_SIGNING_KEY, var_dir=settings.VAR_DIR
    )


def photo_renditions_failed(*, photo_pk: int, error: str) -> None:
    Photo.objects.filter(pk=photo_pk).exclude(rendition_status=Photo.Renditions.READY).update(
        rendition_status=Photo.Renditions.FAILED, rendition_error=error[:2000]
    )


def _check_client_side(access: str) -> None:
    if access not in (selectors.Access.CLIENT, selectors.Access.LINK):
        raise DomainError("client_only")


def _actor(user: User | None) -> User | None:
    return user if user and user.is_authenticated else None


def favourite_set(
    *, gallery: Gallery, photo: Photo, access: str, user: User | None, marked: bool
) -> bool:
    """Mark or unmark a favourite; repeating either is harmless. Return whether it is marked."""
    _check_client_side(access)
    if marked:
        Favourite.objects.get_or_create(
            photo=photo, defaults={"gallery": gallery, "marked_by": _actor(user)}
        )
    else:
        Favourite.objects.filter(photo=photo, gallery=gallery).delete()
    return marked


def selection_set(
    *,
    gallery: Gallery,
    photo: Photo,
    access: str,
    user: User | None,
    selected: bool,
    comment: str = "",
) -> SelectionItem | None:
    """Add a photo to the selection (within the package) with a comment, or take it out."""
    _check_client_side(access)
    with transaction.atomic():
        # One selection change per gallery at a time, so two tabs cannot overfill the package.
        locked = Gallery.objects.select_for_update().get(pk=gallery.pk)
        if locked.selection_submitted_at:
            raise DomainError("selection_submitted")
        if not selected:
            SelectionItem.objects.filter(photo=photo, gallery=gallery).delete()
            return None
        item = SelectionItem.objects.filter(photo=photo, gallery=gallery).first()
        if item is None:
            allowance = selectors.photo_allowance(gallery=locked)
            # Photos taken back from the client no longer fill their package.
            chosen = selectors.photo_list(gallery=locked, access=access)
            if chosen.filter(selection_item__isnull=False).count() >= allowance:
                raise DomainError("selection_full", allowance=allowance)
            return SelectionItem.objects.create(
                photo=photo, gallery=gallery, comment=comment.strip(), chosen_by=_actor(user)
            )
        item.comment = comment.strip()
        item.save(update_fields=["comment"])
        return item


def extras_buy(
    *, gallery: Gallery, access: str, user: User | None, photos: int, key: str
) -> Payment:
    """Start paying for `photos` more than the package; they count once the payment succeeds.
    The same `key` (one purchase form) buys once."""
    if access != selectors.Access.CLIENT:
        raise DomainError("client_account_only")
    if not gallery.extra_photo_price_minor:
        raise DomainError("extras_not_sold")
    if not 1 <= photos <= 1000:
        raise DomainError("bad_quantity")
    key = f"gallery-{gallery.pk}-{key}"
    if bought := ExtraPurchase.objects.filter(key=key).select_related("payment").first():
        return bought.payment
    payment = booking_services.extras_payment_start(
        booking=gallery.booking,
        actor=user,
        amount_minor=photos * gallery.extra_photo_price_minor,
        key=key,
    )
    try:
        with transaction.atomic():
            ExtraPurchase.objects.create(
                gallery=gallery, payment=payment, photos=photos, bought_by=user, key=key
            )
    except IntegrityError:  # the same form, sent twice at once: the first one stands
        return ExtraPurchase.objects.get(key=key).payment
    return payment


def selection_submit(*, gallery: Gallery, access: str, user: User | None) -> Gallery:
    """Send the selection to the studio; from then on it is the studio's to work on."""
    _check_client_side(access)
    with transaction.atomic():
        updated = Gallery.objects.filter(pk=gallery.pk, selection_submitted_at__isnull=True).update(
            selection_submitted_at=timezone.now()
        )
        if updated:
            audit_record(
                kind=AuditEvent.Kind.SELECTION_SUBMITTED,
                actor=_actor(user),
                studio_id=gallery.studio_id,
                gallery_id=gallery.pk,
                photos=gallery.selection.count(),
            )
    gallery.refresh_from_db(fields=["selection_submitted_at"])
    return gallery


def _gallery_lock(gallery: Gallery) -> None:
    """One publishing change per gallery at a time, so two never interleave their photos."""
    Gallery.objects.select_for_update().filter(pk=gallery.pk).first()


def _chosen(gallery: Gallery, photo_ids: list[int]) -> list[Photo]:
    """The gallery's photos of these ids; an id that is not one of them is refused."""
    ids = set(photo_ids)
    if not ids:
        raise DomainError("no_photos_chosen")
    chosen = list(gallery.photos.filter(pk__in=ids))
    if len(chosen) != len(ids):
        raise DomainError("not_found", thing="photo")
    return chosen


def _in_place_of(gallery: Gallery, chosen: list[Photo]) -> list[Photo]:
    """What the client is shown for each chosen photo: its latest approved AI result, if any."""
    results = gallery.photos.filter(derived_from__in=chosen, approval=Photo.Approval.APPROVED)
    latest = {result.derived_from_id: result for result in results.order_by("created_at", "pk")}
    return list({shown.pk: shown for shown in (latest.get(p.pk, p) for p in chosen)}.values())


def photos_publish(*, gallery: Gallery, actor: User, photo_ids: list[int]) -> int:
    """Show these photos to the client, an approved AI result in place of its original (which
    stays with the studio); return how many were not shown yet. Repeating it is harmless.
    The first publish of a gallery e-mails its client that it is ready."""
    require_works_for(actor, gallery.studio_id)
    now = timezone.now()
    with transaction.atomic():
        _gallery_lock(gallery)
        shown = _in_place_of(gallery, _chosen(gallery, photo_ids))
        if waiting := next((p for p in shown if p.approval != Photo.Approval.APPROVED), None):
            raise DomainError("not_approved", name=waiting.original_name)
        # An original and its AI results are never shown side by side.
        originals = {p.derived_from_id for p in shown if p.derived_from_id}
        gallery.photos.filter(Q(pk__in=originals) | Q(derived_from__in=originals)).exclude(
            pk__in=[p.pk for p in shown]
        ).update(published_at=None, unpublished_at=None)
        new = [p.pk for p in shown if p.published_at is None]
        Photo.objects.filter(pk__in=new).update(published_at=now, unpublished_at=None)
        if new:
            _audit_publishing(AuditEvent.Kind.PHOTOS_PUBLISHED, gallery, actor, new)
            _gallery_ready_once(gallery, now)
    return len(new)


def photos_unpublish(*, gallery: Gallery, actor: User, photo_ids: list[int]) -> int:
    """Take these photos (and an AI result shown in place of one) back from the client; return
    how many were shown. Repeating it is harmless."""
    require_works_for(actor, gallery.studio_id)
    with transaction.atomic():
        _gallery_lock(gallery)
        chosen = [photo.pk for photo in _chosen(gallery, photo_ids)]
        shown = gallery.photos.filter(Q(pk__in=chosen) | Q(derived_from__in=chosen))
        taken = list(shown.filter(published_at__isnull=False).values_list("pk", "derived_from"))
        # The original of a result taken back is taken back too: approving another result of
        # it must not bring it back to the client.
        withdrawn = {pk for pair in taken for pk in pair if pk}
        Photo.objects.filter(pk__in=withdrawn).update(
            published_at=None, unpublished_at=timezone.now()
        )
        if taken:
            _audit_publishing(
                AuditEvent.Kind.PHOTOS_UNPUBLISHED, gallery, actor, [pk for pk, _ in taken]
            )
    return len(taken)


def _audit_publishing(kind: str, gallery: Gallery, actor: User, photo_ids: list[int]) -> None:
    audit_record(
        kind=kind,
        actor=actor,
        studio_id=gallery.studio_id,
        gallery_id=gallery.pk,
        photo_ids=photo_ids,
        photos=len(photo_ids),
    )


def _gallery_ready_once(gallery: Gallery, now: datetime) -> None:
    """At the gallery's first publish only, promise its client the gallery-ready e-mail."""
    first = Gallery.objects.filter(pk=gallery.pk, first_published_at__isnull=True)
    if first.update(first_published_at=now):
        email_promise(
            kind=OutboundEmail.Kind.GALLERY_READY,
            dedupe_key=f"gallery-{gallery.pk}-ready",
            recipient=gallery.booking.client.email,
            booking_id=gallery.booking_id,
        )


def photo_approve(*, photo: Photo, actor: User) -> bool:
    """Approve an AI result waiting for review. Where its original (or an earlier result of it)
    is shown to the client, it is shown in its place at once; otherwise it is published with the
    others. Return whether this call approved it: of two at once, one does."""
    _check_reviewable(photo, actor)
    with transaction.atomic():
        shown_now = Photo.objects.none()
        if photo.derived_from_id:
            original = Photo.objects.select_for_update().get(pk=photo.derived_from_id)
            if original.unpublished_at:
                raise DomainError("original_unpublished", name=photo.original_name)
            shown_now = Photo.objects.filter(
                Q(pk=original.pk) | Q(derived_from=original), published_at__isnull=False
            ).exclude(pk=photo.pk)
        in_place = shown_now.exists()
        approved = Photo.objects.filter(pk=photo.pk, approval=Photo.Approval.PENDING).update(
            approval=Photo.Approval.APPROVED, published_at=timezone.now() if in_place else None
        )
        if approved:
            shown_now.update(published_at=None)
            _audit_review(AuditEvent.Kind.PHOTO_APPROVED, photo, actor)
    return bool(approved)


def photo_reject(*, photo: Photo, actor: User) -> bool:
    """Reject an AI result waiting for review: the client goes on seeing its original. Return
    whether this call rejected it."""
    _check_reviewable(photo, actor)
    with transaction.atomic():
        rejected = Photo.objects.filter(pk=photo.pk, approval=Photo.Approval.PENDING).update(
            approval=Photo.Approval.REJECTED
        )
        if rejected:
            _audit_review(AuditEvent.Kind.PHOTO_REJECTED, photo, actor)
    return bool(rejected)


def _check_reviewable(photo: Photo, actor: User) -> None:
    require_works_for(actor, photo.gallery.studio_id)
    if photo.source == Photo.Source.CAMERA:
        raise DomainError("not_ai_result")


def _audit_review(kind: str, photo: Photo, actor: User) -> None:
    audit_record(
        kind=kind,
        actor=actor,
        studio_id=photo.gallery.studio_id,
        gallery_id=photo.gallery_id,
        photo_id=photo.pk,
        name=photo.original_name,
        source=photo.source,
    )
