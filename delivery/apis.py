"""The delivery API: one view per operation, input and output serializers side by side.

Link holders are not logged in: views they use allow anyone and check the gallery's access
themselves (and CSRF, which DRF checks only for logged-in sessions).
"""

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from booking.selectors import booking_get_for
from booking.serializers import PaymentOutput
from studio.apis import (
    GALLERY_ERRORS,
    AwareDateTimeField,
    error_body,
    idempotency_key,
    or_404,
    validated,
)
from studio.errors import DomainError
from studio.throttles import client_ip

from . import selectors, services
from .models import Gallery, Photo
from .selectors import Access, Viewer


def viewer_of(request) -> Viewer:
    user = request.user if request.user.is_authenticated else None
    return Viewer(user=user, grants=request.session.get(selectors.SESSION_GRANTS, {}))


def grant_link(request, gallery: Gallery) -> None:
    """Remember in the session that this browser unlocked the gallery's link."""
    grants = dict(request.session.get(selectors.SESSION_GRANTS, {}))
    grants[str(gallery.pk)] = selectors.grant_value(gallery)
    request.session[selectors.SESSION_GRANTS] = grants


def gallery_opened(request, pk: int) -> tuple[Gallery, str]:
    """The gallery and how this viewer opens it (for pages too): anyone else's is not found, and
    once it is closed it is gone (410) for all but the studio."""
    found = selectors.gallery_get_for(viewer=viewer_of(request), pk=pk)
    gallery, access = or_404(found, "gallery")
    if access != Access.STUDIO and not gallery.is_open():
        raise DomainError("gallery_closed")
    return gallery, access


def _gallery(request, pk: int) -> tuple[Gallery, str]:
    gallery, access = gallery_opened(request, pk)
    if access == Access.LINK and request.method not in permissions.SAFE_METHODS:
        SessionAuthentication().enforce_csrf(request)
    return gallery, access


def _photo(gallery: Gallery, access: str, pk: int) -> Photo:
    return or_404(selectors.photo_get(gallery=gallery, access=access, pk=pk), "photo")


def _link_url(request, token: str) -> str:
    return request.build_absolute_uri(reverse("gallery_link", args=[token]))


class PhotoOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    source = serializers.CharField(help_text="camera, ai_retouch or ai_fill_in")
    approval = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True, help_text="null: a draft.")
    rendition_status = serializers.CharField()
    favourite = serializers.SerializerMethodField()
    selected = serializers.SerializerMethodField()
    comment = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField(help_text="URL per size this viewer may fetch.")

    def get_favourite(self, photo) -> bool:
        return hasattr(photo, "favourite")

    def get_selected(self, photo) -> bool:
        return hasattr(photo, "selection_item")

    def get_comment(self, photo) -> str:
        return photo.selection_item.comment if hasattr(photo, "selection_item") else ""

    def get_files(self, photo) -> dict[str, str]:
        ready = photo.rendition_status == Photo.Renditions.READY
        return {
            size: reverse("photo_file", args=[photo.gallery_id, photo.pk, size])
            for size in self.context["sizes"]
            if size == selectors.ORIGINAL or ready
        }


class GalleryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    booking = serializers.IntegerField(source="booking_id")
    included_photos = serializers.IntegerField()
    extra_photo_price_minor = serializers.IntegerField()
    photo_allowance = serializers.SerializerMethodField(help_text="Package plus paid extras.")
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    selection_submitted_at = serializers.DateTimeField(allow_null=True)
    url = serializers.CharField(source="get_absolute_url")

    def get_photo_allowance(self, obj) -> int:
        return selectors.photo_allowance(gallery=obj)


class GalleryListApi(APIView):
    class GalleryCreateInput(serializers.Serializer):
        booking = serializers.IntegerField()
        title = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
        included_photos = serializers.IntegerField(min_value=0, max_value=10_000, default=10)
        pin = serializers.CharField(required=False, allow_blank=True, default="", max_length=12)
        expires_at = AwareDateTimeField(required=False, allow_null=True, default=None)

    @extend_schema(responses=GalleryOutput(many=True))
    def get(self, request):
        return Response(GalleryOutput(selectors.galleries_for(user=request.user), many=True).data)

    @extend_schema(
        request=GalleryCreateInput,
        responses={
            201: inline_serializer(
                "GalleryCreated",
                {"gallery": GalleryOutput(), "link": serializers.CharField()},
            ),
            **GALLERY_ERRORS,
        },
        description="Open a booking's gallery. The secret link is returned this once only.",
    )
    def post(self, request):
        data = validated(self.GalleryCreateInput, request)
        booking = or_404(booking_get_for(user=request.user, pk=data.pop("booking")), "booking")
        gallery, token = services.gallery_create(booking=booking, actor=request.user, **data)
        return Response(
            {"gallery": GalleryOutput(gallery).data, "link": _link_url(request, token)},
            status=status.HTTP_201_CREATED,
        )


class GalleryDetailApi(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        responses={
            200: inline_serializer(
                "GalleryDetail",
                {
                    "gallery": GalleryOutput(),
                    "access": serializers.CharField(),
                    "paid": serializers.BooleanField(),
                    "sizes": serializers.ListField(child=serializers.CharField()),
                    "photos": PhotoOutput(many=True),
                },
            ),
            **GALLERY_ERRORS,
        }
    )
    def get(self, request, pk: int):
        gallery, access = _gallery(request, pk)
        paid = selectors.gallery_is_paid(gallery=gallery)
        sizes = selectors.sizes_for(access=access, paid=paid)
        photos = selectors.photo_list(gallery=gallery, access=access)
        return Response(
            {
                "gallery": GalleryOutput(gallery).data,
                "access": access,
                "paid": paid,
                "sizes": list(sizes),
                "photos": PhotoOutput(photos, many=True, context={"sizes": sizes}).data,
            }
        )


class GalleryUnlockApi(APIView):
    """Open a gallery by its secret link token and PIN; the session keeps it open."""

    permission_classes = [permissions.AllowAny]

    class GalleryUnlockInput(serializers.Serializer):
        token = serializers.CharField(max_length=100)
        pin = serializers.CharField(required=False, allow_blank=True, default="", max_length=20)

    @extend_schema(
        request=GalleryUnlockInput,
        responses={200: GalleryOutput, **GALLERY_ERRORS},
    )
    def post(self, request):
        data = validated(self.GalleryUnlockInput, request)
        gallery = services.gallery_unlock(
            token=data["token"], pin=data["pin"], ip=client_ip(request)
        )
        grant_link(request, gallery)
        return Response(GalleryOutput(gallery).data)


class GalleryLinkApi(APIView):
    class GalleryLinkInput(serializers.Serializer):
        pin = serializers.CharField(
            required=False, allow_blank=True, max_length=12, help_text="Empty: no PIN."
        )

    @extend_schema(
        request=GalleryLinkInput,
        responses={200: inline_serializer("GalleryLink", {"link": serializers.CharField()})},
        description="Make a new secret link (the old one stops working); optionally a new PIN.",
    )
    def post(self, request, pk: int):
        gallery, _ = _gallery(request, pk)
        data = validated(self.GalleryLinkInput, request)
        token = services.gallery_new_link(gallery=gallery, actor=request.user, pin=data.get("pin"))
        return Response({"link": _link_url(request, token)})


class GalleryUpdateApi(APIView):
    class GalleryUpdateInput(serializers.Serializer):
        expires_at = AwareDateTimeField(allow_null=True)
        included_photos = serializers.IntegerField(min_value=0, max_value=10_000)
        extra_photo_price_minor = serializers.IntegerField(
            min_value=0, max_value=10_000_000, required=False, help_text="0: none sold."
        )

    @extend_schema(request=GalleryUpdateInput, responses={200: GalleryOutput, **GALLERY_ERRORS})
    def post(self, request, pk: int):
        gallery, _ = _gallery(request, pk)
        data = validated(self.GalleryUpdateInput, request)
        gallery = services.gallery_update(gallery=gallery, actor=request.user, **data)
        return Response(GalleryOutput(gallery).data)


class ExtrasBuyApi(APIView):
    """Buy photos beyond the package (the gallery's client): pay at `pay_url`; they count once
    the payment has gone through. Send an `Idempotency-Key` header (at most 64 characters of
    A-Z, a-z, 0-9, _ and -) to buy once on a retry."""

    class ExtrasInput(serializers.Serializer):
        photos = serializers.IntegerField(min_value=1, max_value=1000)

    @extend_schema(request=ExtrasInput, responses={201: PaymentOutput, **GALLERY_ERRORS})
    def post(self, request, pk: int):
        gallery, access = _gallery(request, pk)
        data = validated(self.ExtrasInput, request)
        payment = services.extras_buy(
            gallery=gallery,
            access=access,
            user=request.user,
            photos=data["photos"],
            key=idempotency_key(request),
        )
        return Response(PaymentOutput(payment).data, status=status.HTTP_201_CREATED)


class GalleryRevokeApi(APIView):
    class GalleryRevokeInput(serializers.Serializer):
        revoked = serializers.BooleanField(default=True, help_text="false reopens it.")

    @extend_schema(request=GalleryRevokeInput, responses={200: GalleryOutput, **GALLERY_ERRORS})
    def post(self, request, pk: int):
        gallery, _ = _gallery(request, pk)
        data = validated(self.GalleryRevokeInput, request)
        gallery = services.gallery_revoke(gallery=gallery, actor=request.user, **data)
        return Response(GalleryOutput(gallery).data)


class PhotoUploadApi(APIView):
    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "PhotoUpload", {"files": serializers.ListField(child=serializers.FileField())}
            )
        },
        responses={
            201: inline_serializer(
                "PhotoUploadResult",
                {
                    "stored": PhotoOutput(many=True),
                    "rejected": serializers.ListField(child=serializers.DictField()),
                },
            ),
            **GALLERY_ERRORS,
        },
        description="Upload one or many photos (field `files`). Each file is checked on its "
        "own: bad ones are listed under `rejected` with a code and message, good ones stored. "
        "When none is stored the answer is the error of the first.",
    )
    def post(self, request, pk: int):
        gallery, access = _gallery(request, pk)
        if access != Access.STUDIO:  # refused before the files are looked at
            raise DomainError("studio_only")
        stored, refused = [], []
        for file in request.FILES.getlist("files"):
            try:
                stored.append(services.photo_upload(gallery=gallery, actor=request.user, file=file))
            except services.PhotoRejected as error:
                refused.append(error)
            finally:
                # Stored or refused, the upload's temporary file on disk is deleted now, not
                # once the whole request (up to its last file) is answered.
                file.close()
        rejected = [{"file": e.name, "code": e.code, "message": e.message} for e in refused]
        if not stored:
            first = refused[0] if refused else DomainError("no_files")
            body = error_body(first.code, first.message, rejected=rejected)
            return Response(body, status=first.status)
        for photo in stored:
            photo.refresh_from_db(fields=["rendition_status", "renditions"])
        sizes = selectors.sizes_for(access=access, paid=True)
        return Response(
            {
                "stored": PhotoOutput(stored, many=True, context={"sizes": sizes}).data,
                "rejected": rejected,
            },
            status=status.HTTP_201_CREATED,
        )


class PhotoIdsInput(serializers.Serializer):
    photos = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=10_000
    )


class PhotosPublishApi(APIView):
    @extend_schema(
        request=PhotoIdsInput,
        responses={
            200: inline_serializer("Published", {"published": serializers.IntegerField()}),
            **GALLERY_ERRORS,
        },
        description="Show these photos to the client (an approved AI result in place of its "
        "original); `published` counts those not shown before. The first publish e-mails the "
        "client that the gallery is ready.",
    )
    def post(self, request, pk: int):
        gallery, _ = _gallery(request, pk)
        data = validated(PhotoIdsInput, request)
        published = services.photos_publish(
            gallery=gallery, actor=request.user, photo_ids=data["photos"]
        )
        return Response({"published": published})


class PhotosUnpublishApi(APIView):
    @extend_schema(
        request=PhotoIdsInput,
        responses={
            200: inline_serializer("Unpublished", {"unpublished": serializers.IntegerField()}),
            **GALLERY_ERRORS,
        },
        description="Take these photos back from the client; they stay with the studio.",
    )
    def post(self, request, pk: int):
        gallery, _ = _gallery(request, pk)
        data = validated(PhotoIdsInput, request)
        unpublished = services.photos_unpublish(
            gallery=gallery, actor=request.user, photo_ids=data["photos"]
        )
        return Response({"unpublished": unpublished})


class FavouriteApi(APIView):
    permission_classes = [permissions.AllowAny]

    class FavouriteInput(serializers.Serializer):
        marked = serializers.BooleanField()

    @extend_schema(
        request=FavouriteInput,
        responses={200: inline_serializer("Favourite", {"marked": serializers.BooleanField()})},
    )
    def post(self, request, pk: int, photo_pk: int):
        gallery, access = _gallery(request, pk)
        photo = _photo(gallery, access, photo_pk)
        data = validated(self.FavouriteInput, request)
        marked = services.favourite_set(
            gallery=gallery, photo=photo, access=access, user=request.user, marked=data["marked"]
        )
        return Response({"marked": marked})


class SelectionApi(APIView):
    permission_classes = [permissions.AllowAny]

    class SelectionInput(serializers.Serializer):
        selected = serializers.BooleanField()
        comment = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=2000
        )

    @extend_schema(
        request=SelectionInput,
        responses={
            200: inline_serializer(
                "Selection",
                {"selected": serializers.BooleanField(), "comment": serializers.CharField()},
            ),
            **GALLERY_ERRORS,
        },
        description="Put a photo in the selection (up to the package's photos) or take it out.",
    )
    def post(self, request, pk: int, photo_pk: int):
        gallery, access = _gallery(request, pk)
        photo = _photo(gallery, access, photo_pk)
        data = validated(self.SelectionInput, request)
        item = services.selection_set(
            gallery=gallery, photo=photo, access=access, user=request.user, **data
        )
        return Response({"selected": item is not None, "comment": item.comment if item else ""})


class SelectionSubmitApi(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=None, responses={200: GalleryOutput, **GALLERY_ERRORS})
    def post(self, request, pk: int):
        gallery, access = _gallery(request, pk)
        gallery = services.selection_submit(gallery=gallery, access=access, user=request.user)
        return Response(GalleryOutput(gallery).data)
