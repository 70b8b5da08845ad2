import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from booking.models import Booking, Payment


class Gallery(models.Model):
    """The private gallery of one booking: its client's account, or a secret link plus PIN.

    The link's token is never stored, only its SHA-256; a new link replaces the old one.
    """

    booking = models.OneToOneField(Booking, on_delete=models.PROTECT, related_name="gallery")
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=200)
    included_photos = models.PositiveIntegerField(
        default=10, help_text="How many photos the client's package includes in a selection."
    )
    extra_photo_price_minor = models.PositiveIntegerField(
        default=0, help_text="Price of each photo beyond the package (minor units); 0: none sold."
    )
    link_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    pin_hash = models.CharField(max_length=128, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    selection_submitted_at = models.DateTimeField(null=True, blank=True)
    first_published_at = models.DateTimeField(
        null=True, blank=True, help_text="When photos were first published (the client was told)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "galleries"
        ordering = ["-created_at", "pk"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("gallery_detail", args=[self.pk])

    @property
    def studio_id(self) -> int:
        return self.booking.session_type.studio_id

    def is_open(self, now=None) -> bool:
        """Whether clients may still open it: neither revoked nor past its expiry."""
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


class Photo(models.Model):
    """One photo of a gallery: the original exactly as uploaded, and renditions made in a task.

    Clients see it once it is published, approved (AI results are reviewed) and its renditions
    are ready; an approved AI result is published in place of its original.
    """

    class Kind(models.TextChoices):
        JPEG = "jpeg", "JPEG"
        PNG = "png", "PNG"
        TIFF = "tiff", "TIFF"
        HEIF = "heif", "HEIC/HEIF"
        RAW = "raw", "Camera RAW"

    class Source(models.TextChoices):
        CAMERA = "camera", "Camera"
        AI_RETOUCH = "ai_retouch", "AI retouch"
        AI_FILL_IN = "ai_fill_in", "AI fill-in"

    class Approval(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    class Renditions(models.TextChoices):
        PENDING = "pending", "Being prepared"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    gallery = models.ForeignKey(Gallery, on_delete=models.CASCADE, related_name="photos")
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    original = models.FileField(max_length=300)
    original_name = models.CharField(max_length=255)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    crc32 = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.CAMERA)
    derived_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="derivatives"
    )
    approval = models.CharField(max_length=20, choices=Approval.choices)
    # A draft (the studio's only) until published. `unpublished_at`: the photographer took it
    # back from the client, which an AI result of it cannot undo by being approved.
    published_at = models.DateTimeField(null=True, blank=True)
    unpublished_at = models.DateTimeField(null=True, blank=True)
    renditions = models.JSONField(
        default=dict, blank=True, help_text='{"thumb": {"name", "size", "crc32"}, ...}'
    )
    rendition_status = models.CharField(
        max_length=20, choices=Renditions.choices, default=Renditions.PENDING
    )
    rendition_error = models.TextField(blank=True)
    renditions_queued_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the renditions were last asked for (the sweep's clock).",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["gallery", "sha256"], name="photo_once_per_gallery"),
            # A camera photo is the photographer's own: approved on upload. AI work waits.
            models.CheckConstraint(
                condition=~Q(source="camera") | Q(approval="approved"),
                name="camera_photos_approved",
            ),
        ]

    def __str__(self) -> str:
        return self.original_name

    @property
    def stem(self) -> str:
        return self.original_name.rsplit(".", 1)[0] or f"photo-{self.pk}"


class Favourite(models.Model):
    """A photo the client marked; one mark per photo, whoever of the client's side made it."""

    photo = models.OneToOneField(Photo, on_delete=models.CASCADE, related_name="favourite")
    gallery = models.ForeignKey(Gallery, on_delete=models.CASCADE, related_name="favourites")
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Favourite {self.photo_id}"


class SelectionItem(models.Model):
    """A photo in the client's selection (the photos of their package), with a comment."""

    photo = models.OneToOneField(Photo, on_delete=models.CASCADE, related_name="selection_item")
    gallery = models.ForeignKey(Gallery, on_delete=models.CASCADE, related_name="selection")
    comment = models.TextField(blank=True, max_length=2000)
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Selected {self.photo_id}"


class ExtraPurchase(models.Model):
    """Photos bought beyond the package; they count once the payment has gone through."""

    gallery = models.ForeignKey(Gallery, on_delete=models.CASCADE, related_name="extra_purchases")
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="extra_purchase")
    photos = models.PositiveIntegerField()
    key = models.CharField(max_length=100, unique=True, help_text="One purchase form: buys once.")
    bought_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.photos} extra photos for gallery {self.gallery_id}"
