"""The AI-assist API: any run's progress; culling: start a run, read the decisions, override
them."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from delivery.services import photos_publish
from studio.apis import ERRORS, or_404
from studio.services import require_works_for

from . import selectors, services
from .models import AiJob, Decision


class AiJobOutput(serializers.Serializer):
    """One run's progress, the same for every kind of AI-assist work."""

    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="culling")
    state = serializers.CharField(help_text="queued, running, deciding, done or failed")
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()
    error = serializers.CharField(help_text="Why the whole run failed (e.g. a model missing).")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class PhotoCullOutput(serializers.Serializer):
    id = serializers.IntegerField()
    photo_id = serializers.IntegerField()
    name = serializers.CharField(source="photo.original_name")
    status = serializers.CharField(source="item.state", help_text="queued, done or failed")
    error = serializers.CharField(source="item.error")
    decision = serializers.CharField(source="final_decision", help_text="keep, maybe or reject")
    ai_decision = serializers.CharField(source="decision")
    overridden = serializers.SerializerMethodField()
    score = serializers.IntegerField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())
    burst = serializers.IntegerField(allow_null=True)
    duplicate_of = serializers.IntegerField(source="duplicate_of_id", allow_null=True)
    reviewed = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    def get_overridden(self, obj) -> bool:
        return bool(obj.override)

    def get_reviewed(self, obj) -> bool:
        return obj.reviewed_at is not None

    def get_thumbnail_url(self, obj) -> str:
        return reverse("photo_file", args=[obj.photo.gallery_id, obj.photo_id, "thumb"])


def studio_gallery(request, pk: int):
    """The gallery, for its studio's team; its client is refused, anyone else finds nothing."""
    gallery = or_404(selectors.studio_gallery_get(user=request.user, pk=pk), "gallery")
    require_works_for(request.user, gallery.studio_id)
    return gallery


def _culling(gallery) -> dict | None:
    job = selectors.ai_job_latest(gallery=gallery, kind=AiJob.Kind.CULLING)
    return AiJobOutput(job).data if job else None


class AiJobApi(APIView):
    """Follow one run of AI-assist work, of any kind."""

    @extend_schema(responses={200: AiJobOutput, **ERRORS})
    def get(self, request, pk: int):
        job = or_404(selectors.ai_job_get(user=request.user, pk=pk), "run")
        return Response(AiJobOutput(job).data)


class CullApi(APIView):
    """A shoot's culling: GET its progress and decisions, POST to (re-)run it."""

    class CullFilter(serializers.Serializer):
        show = serializers.ChoiceField(choices=["", *selectors.FILTERS], default="")

    @extend_schema(
        parameters=[CullFilter],
        responses={
            200: inline_serializer(
                "Culling",
                {"progress": AiJobOutput(allow_null=True), "photos": PhotoCullOutput(many=True)},
            ),
            **ERRORS,
        },
    )
    def get(self, request, pk: int):
        params = self.CullFilter(data=request.query_params)
        params.is_valid(raise_exception=True)
        gallery = studio_gallery(request, pk)
        rows = selectors.photo_culls(gallery=gallery, show=params.validated_data["show"])
        return Response(
            {"progress": _culling(gallery), "photos": PhotoCullOutput(rows, many=True).data}
        )

    @extend_schema(request=None, responses={202: AiJobOutput, **ERRORS})
    def post(self, request, pk: int):
        gallery = studio_gallery(request, pk)
        services.cull_start(gallery=gallery, actor=request.user)
        # Read again: run eagerly (no broker), the run may have moved on already.
        return Response(_culling(gallery), status=status.HTTP_202_ACCEPTED)


class CullOverrideApi(APIView):
    """The photographer's decision on one photo."""

    class OverrideInput(serializers.Serializer):
        decision = serializers.ChoiceField(choices=Decision.values)

    @extend_schema(request=OverrideInput, responses={200: PhotoCullOutput, **ERRORS})
    def post(self, request, pk: int, cull_pk: int):
        params = self.OverrideInput(data=request.data)
        params.is_valid(raise_exception=True)
        gallery = studio_gallery(request, pk)
        row = services.cull_override(
            photo_cull=or_404(selectors.photo_cull_get(gallery=gallery, pk=cull_pk), "photo"),
            actor=request.user,
            decision=params.validated_data["decision"],
        )
        return Response(PhotoCullOutput(row).data)


class CullPublishKeepersApi(APIView):
    """Publish the photos the culling keeps (by the photographer's final word) to the client."""

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer("KeepersPublished", {"published": serializers.IntegerField()}),
            **ERRORS,
        },
    )
    def post(self, request, pk: int):
        gallery = studio_gallery(request, pk)
        keepers = selectors.keeper_photo_ids(gallery=gallery)
        published = photos_publish(gallery=gallery, actor=request.user, photo_ids=keepers)
        return Response({"published": published})


class CullAcceptRestApi(APIView):
    """Agree with every decision not yet reviewed (they become examples to learn from)."""

    @extend_schema(
        request=None,
        responses={200: inline_serializer("Accepted", {"accepted": serializers.IntegerField()})},
    )
    def post(self, request, pk: int):
        gallery = studio_gallery(request, pk)
        return Response(
            {"accepted": services.cull_accept_rest(gallery=gallery, actor=request.user)}
        )
