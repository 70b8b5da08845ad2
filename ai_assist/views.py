"""The photographer's culling page: the shoot as a grid, filtered by decision, with reasons,
bursts grouped, one-click (or one-key) decisions and a live progress bar."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from delivery.services import photos_publish
from studio.apis import NotFound, or_404
from studio.errors import DomainError

from . import selectors, services
from .apis import studio_gallery
from .models import AiJob, Decision


def _studio_gallery(request, pk: int):
    try:
        return studio_gallery(request, pk)
    except NotFound:
        raise
    except DomainError as error:  # the gallery's client: the page says no, not "not found"
        raise PermissionDenied(error.message) from None


@login_required
def cull_page(request, pk: int):
    gallery = _studio_gallery(request, pk)
    if request.method == "POST":
        try:
            services.cull_start(gallery=gallery, actor=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        return redirect("cull", pk=gallery.pk)
    show = request.GET.get("show", "")
    show = show if show in selectors.FILTERS else ""
    return render(
        request,
        "ai_assist/cull.html",
        {
            "gallery": gallery,
            "show": show,
            "rows": selectors.photo_culls(gallery=gallery, show=show),
            "counts": selectors.counts(gallery=gallery),
            "job": selectors.ai_job_latest(gallery=gallery, kind=AiJob.Kind.CULLING),
            "profile": selectors.culling_profile(photographer_id=gallery.booking.photographer_id),
            "decisions": Decision.choices,
        },
    )


@login_required
@require_POST
def cull_override(request, pk: int, cull_pk: int):
    """Record the photographer's own decision on one photo."""
    gallery = _studio_gallery(request, pk)
    row = or_404(selectors.photo_cull_get(gallery=gallery, pk=cull_pk), "photo")
    try:
        services.cull_override(
            photo_cull=row, actor=request.user, decision=request.POST.get("decision", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
    return redirect(f"{reverse('cull', args=[gallery.pk])}?show={request.GET.get('show', '')}")


@login_required
@require_POST
def cull_publish_keepers(request, pk: int):
    """Publish the keepers to the client, through delivery: the AI-assist never publishes."""
    gallery = _studio_gallery(request, pk)
    keepers = selectors.keeper_photo_ids(gallery=gallery)
    try:
        published = photos_publish(gallery=gallery, actor=request.user, photo_ids=keepers)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{published} keepers published to the client.")
    return redirect(gallery)


@login_required
@require_POST
def cull_accept_rest(request, pk: int):
    gallery = _studio_gallery(request, pk)
    accepted = services.cull_accept_rest(gallery=gallery, actor=request.user)
    messages.success(request, f"Agreed with {accepted} decisions.")
    return redirect("cull", pk=gallery.pk)
