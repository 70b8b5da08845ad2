"""Gallery pages and file downloads. Every file request checks access again, every time."""

import functools
from datetime import datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from booking.selectors import booking_get_for
from studio.apis import or_404
from studio.errors import DomainError
from studio.forms import form_errors
from studio.selectors import employer_of, gallery_history
from studio.throttles import client_ip
from studio.timezones import viewer_zone

from . import downloads, selectors, services
from .apis import gallery_opened, grant_link
from .forms import ExtrasForm, GalleryCreateForm, GallerySettingsForm
from .models import Gallery
from .selectors import Access


def _domain_errors(view):
    """Show a refused request as a page with its status (a closed gallery is 410, not a 500)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except DomainError as error:
            return render(request, "delivery/error.html", {"error": error}, status=error.status)

    return wrapper


def _studio_gallery(request, pk: int) -> Gallery:
    gallery, access = gallery_opened(request, pk)
    if access != Access.STUDIO:
        raise DomainError("studio_only")
    return gallery


@login_required
def gallery_list(request):
    studio_side = employer_of(request.user) is not None
    return render(
        request,
        "delivery/gallery_list.html",
        {
            "galleries": selectors.galleries_for(user=request.user),
            "studio_side": studio_side,
            "bookings": selectors.bookings_without_gallery(user=request.user)
            if studio_side
            else [],
        },
    )


def _show_link_once(request, token: str) -> None:
    link = request.build_absolute_uri(reverse("gallery_link", args=[token]))
    messages.success(request, f"The gallery's secret link (shown only now, copy it): {link}")


@login_required
@require_POST
@_domain_errors
def gallery_create(request):
    form = GalleryCreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return redirect("gallery_list")
    booking = or_404(booking_get_for(user=request.user, pk=form.cleaned_data["booking"]), "booking")
    gallery, token = services.gallery_create(
        booking=booking,
        actor=request.user,
        included_photos=form.cleaned_data["included_photos"],
        pin=form.cleaned_data["pin"],
    )
    _show_link_once(request, token)
    return redirect(gallery)


@_domain_errors
def gallery_detail(request, pk: int):
    gallery, access = gallery_opened(request, pk)
    paid = selectors.gallery_is_paid(gallery=gallery)
    photos = selectors.photo_list(gallery=gallery, access=access)
    context = {
        "gallery": gallery,
        "access": access,
        "paid": paid,
        "photos": photos,
        "sizes": selectors.sizes_for(access=access, paid=paid),
        "selected_count": sum(1 for photo in photos if hasattr(photo, "selection_item")),
        "allowance": selectors.photo_allowance(gallery=gallery),
        "extras_form": ExtrasForm(),
    }
    if access == Access.STUDIO:
        context["events"] = gallery_history(gallery_id=gallery.pk)[:50]
        context["zone"], _ = viewer_zone(request, gallery.booking.session_type.studio.time_zone)
        return render(request, "delivery/gallery_manage.html", context)
    return render(request, "delivery/gallery_client.html", context)


@_domain_errors
def gallery_upload(request, pk: int):
    gallery = _studio_gallery(request, pk)
    return render(request, "delivery/upload.html", {"gallery": gallery})


@login_required
@require_POST
@_domain_errors
def gallery_settings(request, pk: int):
    gallery = _studio_gallery(request, pk)
    action = request.POST.get("action")
    if action == "new_link":
        _show_link_once(
            request,
            services.gallery_new_link(
                gallery=gallery, actor=request.user, pin=request.POST.get("pin", "")
            ),
        )
    elif action in ("revoke", "reopen"):
        services.gallery_revoke(gallery=gallery, actor=request.user, revoked=action == "revoke")
    elif action == "update":
        form = GallerySettingsForm(request.POST, currency=gallery.booking.currency)
        if not form.is_valid():
            messages.error(request, form_errors(form))
            return redirect(gallery)
        day = form.cleaned_data["expires_on"]
        zone = gallery.booking.session_type.studio.zone
        services.gallery_update(
            gallery=gallery,
            actor=request.user,
            expires_at=datetime.combine(day, time.max, zone) if day else None,
            included_photos=form.cleaned_data["included_photos"],
            extra_photo_price_minor=form.extra_photo_price_minor(),
        )
    return redirect(gallery)


@login_required
@require_POST
@_domain_errors
def gallery_publish(request, pk: int):
    """Publish the ticked photos to the client, or take them back."""
    gallery = _studio_gallery(request, pk)
    photo_ids = [int(pk) for pk in request.POST.getlist("photo") if pk.isdigit()]
    unpublish = request.POST.get("action") == "unpublish"
    change = services.photos_unpublish if unpublish else services.photos_publish
    try:
        done = change(gallery=gallery, actor=request.user, photo_ids=photo_ids)
    except DomainError as error:  # nothing ticked, or an AI result not reviewed yet
        messages.error(request, error.message)
    else:
        what = "taken back from" if unpublish else "published to"
        messages.success(request, f"{done} photos {what} the client.")
    return redirect(gallery)


@login_required
@require_POST
@_domain_errors
def extras_buy(request, pk: int):
    """Buy photos beyond the package: the booking's payment flow, then back to the gallery."""
    gallery, access = gallery_opened(request, pk)
    form = ExtrasForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return redirect(gallery)
    payment = services.extras_buy(
        gallery=gallery,
        access=access,
        user=request.user,
        photos=form.cleaned_data["photos"],
        key=str(form.cleaned_data["key"]),
    )
    return redirect(
        f"{reverse('payment_pay', args=[payment.pk])}?next={gallery.get_absolute_url()}"
    )


@_domain_errors
def gallery_link(request, token: str):
    """The secret link: opens the gallery at once, or after its PIN."""
    gallery = or_404(selectors.gallery_get_by_token(token=token), "gallery")
    if not gallery.is_open():
        raise DomainError("gallery_closed")
    error, status = None, 200
    if request.method == "POST" or not gallery.pin_hash:
        try:
            services.gallery_unlock(
                token=token, pin=request.POST.get("pin", ""), ip=client_ip(request)
            )
        except DomainError as refused:
            error, status = refused, refused.status
        else:
            grant_link(request, gallery)
            return redirect(gallery)
    return render(
        request, "delivery/link_pin.html", {"gallery": gallery, "error": error}, status=status
    )


@_domain_errors
def photo_file(request, pk: int, photo_pk: int, size: str):
    """One size of one photo, if this viewer may have it now (paid? still open?)."""
    gallery, access = gallery_opened(request, pk)
    paid = selectors.gallery_is_paid(gallery=gallery)
    if size not in selectors.sizes_for(access=access, paid=paid):
        if size in selectors.PAID_SIZES:
            raise DomainError("payment_required")
        raise Http404("No such size")
    photo = or_404(selectors.photo_get(gallery=gallery, access=access, pk=photo_pk), "photo")
    if size != selectors.ORIGINAL and size not in photo.renditions:
        raise Http404("This photo is still being prepared")
    return downloads.file_response(photo, size, attachment=bool(request.GET.get("download")))


ZIP_CHOICES = ("selection", "favourites", "all")


@_domain_errors
def gallery_zip(request, pk: int):
    """A streamed ZIP of the selection, the favourites or all photos, in one allowed size."""
    gallery, access = gallery_opened(request, pk)
    paid = selectors.gallery_is_paid(gallery=gallery)
    allowed = selectors.sizes_for(access=access, paid=paid)
    size = request.GET.get("size") or (selectors.WEB if selectors.WEB in allowed else "proof")
    which = request.GET.get("photos", "selection")
    if size not in allowed or size == selectors.THUMB or which not in ZIP_CHOICES:
        if size in selectors.PAID_SIZES and size != selectors.THUMB:
            raise DomainError("payment_required")
        raise Http404("No such download")
    photos = selectors.photo_list(gallery=gallery, access=access)
    if which == "selection":
        photos = photos.filter(selection_item__isnull=False)
    elif which == "favourites":
        photos = photos.filter(favourite__isnull=False)
    if size != selectors.ORIGINAL:
        photos = [photo for photo in photos if size in photo.renditions]
    if not photos:
        raise DomainError("nothing_to_download", which=which)
    stamp = timezone.localdate().isoformat()
    name = f"{downloads.safe_stem(gallery.title)}-{which}-{size}-{stamp}.zip"
    return downloads.zip_response(downloads.zip_members(photos, size), name)
