"""The culling API: start a run, follow its progress, read the decisions, override them."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from booking.apis import ERRORS

from . import selectors, services
from .models import Decision


class ProgressOutput(serializers.Serializer):
    status = serializers.CharField(help_text="analysing, deciding or done")
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()


class PhotoCullOutput(serializers.Serializer):
    id = serializers.IntegerField()
    photo_id = serializers.IntegerField()
    name = serializers.CharField(source="photo.original_name")
    status = serializers.CharField(help_text="pending, analysed or failed")
    error = serializers.CharField()
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


def _progress(gallery) -> dict | None:
    progress = selectors.cull_progress(gallery=gallery)
    return ProgressOutput(progress).data if progress else None


class CullApi(APIView):
    """A shoot's culling: GET its progress and decisions, POST to (re-)run it."""

    class CullFilter(serializers.Serializer):
        show = serializers.ChoiceField(choices=["", *selectors.FILTERS], default="")

    @extend_schema(
        parameters=[CullFilter],
        responses={
            200: inline_serializer(
                "Culling",
                {"progress": ProgressOutput(allow_null=True), "photos": PhotoCullOutput(many=True)},
            ),
            **ERRORS,
        },
    )
    def get(self, request, pk: int):
        params = self.CullFilter(data=request.query_params)
        params.is_valid(raise_exception=True)
        gallery = selectors.studio_gallery_get(user=request.user, pk=pk)
        rows = selectors.photo_culls(gallery=gallery, show=params.validated_data["show"])
        return Response(
            {"progress": _progress(gallery), "photos": PhotoCullOutput(rows, many=True).data}
        )

    @extend_schema(request=None, responses={202: ProgressOutput, **ERRORS})
    def post(self, request, pk: int):
        gallery = selectors.studio_gallery_get(user=request.user, pk=pk)
        services.cull_start(gallery=gallery, actor=request.user)
        return Response(_progress(gallery), status=status.HTTP_202_ACCEPTED)


class CullOverrideApi(APIView):
    """The photographer's decision on one photo."""

    class OverrideInput(serializers.Serializer):
        decision = serializers.ChoiceField(choices=Decision.values)

    @extend_schema(request=OverrideInput, responses={200: PhotoCullOutput, **ERRORS})
    def post(self, request, pk: int, cull_pk: int):
        params = self.OverrideInput(data=request.data)
        params.is_valid(raise_exception=True)
        gallery = selectors.studio_gallery_get(user=request.user, pk=pk)
        row = services.cull_override(
            photo_cull=selectors.photo_cull_get(gallery=gallery, pk=cull_pk),
            actor=request.user,
            decision=params.validated_data["decision"],
        )
        return Response(PhotoCullOutput(row).data)


class CullAcceptRestApi(APIView):
    """Agree with every decision not yet reviewed (they become examples to learn from)."""

    @extend_schema(
        request=None,
        responses={200: inline_serializer("Accepted", {"accepted": serializers.IntegerField()})},
    )
    def post(self, request, pk: int):
        gallery = selectors.studio_gallery_get(user=request.user, pk=pk)
        return Response(
            {"accepted": services.cull_accept_rest(gallery=gallery, actor=request.user)}
        )
