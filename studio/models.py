import zoneinfo
from datetime import datetime

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .currencies import validate_currency_code
from .formats import moment, money


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/Berlin).")


class Studio(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    currency = models.CharField(
        max_length=3, default="EUR", validators=[validate_currency_code], help_text="ISO 4217 code"
    )
    address = models.TextField(blank=True)
    email = models.EmailField(blank=True)
    cancellation_cutoff_hours = models.PositiveIntegerField(
        default=24, help_text="Clients may cancel or reschedule until this many hours before."
    )
    hold_minutes = models.PositiveIntegerField(
        default=10, help_text="How long a slot stays reserved while the client finishes booking."
    )

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **fields):
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **fields):
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True, role=User.Role.STAFF)
        return self._create(email, password, **fields)


class User(AbstractUser):
    """Anyone who logs in; `role` says what they do at a studio."""

    class Role(models.TextChoices):
        CLIENT = "client", "Client"
        PHOTOGRAPHER = "photographer", "Photographer"
        STAFF = "staff", "Studio staff / owner"

    username = None
    email = models.EmailField("e-mail address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CLIENT)
    studio = models.ForeignKey(
        Studio,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        help_text="The studio a photographer or staff member works for.",
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="The zone this person sees times in; empty until detected in their browser.",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    def __str__(self) -> str:
        return self.full_name or self.email


class AuditEvent(models.Model):
    """Who did what, and when: the one audit log of every app, written by `studio.audit`.

    What it concerns is kept as plain ids, not foreign keys: a record outlives the booking,
    gallery or photo it is about (and studio, which every app depends on, cannot point at them).
    """

    class Kind(models.TextChoices):
        BOOKING_HELD = "booking_held", "Slot held"
        HOLD_EXPIRED = "hold_expired", "Hold expired"
        BOOKING_CONFIRMED = "booking_confirmed", "Booking confirmed"
        BOOKING_RESCHEDULED = "booking_rescheduled", "Booking rescheduled"
        BOOKING_CANCELLED = "booking_cancelled", "Booking cancelled"
        BOOKING_COMPLETED = "booking_completed", "Session completed"
        BALANCE_REQUESTED = "balance_requested", "Balance asked for"
        PAYMENT_STARTED = "payment_started", "Payment started"
        PAYMENT_SUCCEEDED = "payment_succeeded", "Payment succeeded"
        REFUND_RECORDED = "refund_recorded", "Refund recorded"
        REFUND_SENT = "refund_sent", "Refund sent to the provider"
        REFUNDED_AT_PROVIDER = "refunded_at_provider", "Refunded at the provider"
        GALLERY_CREATED = "gallery_created", "Gallery created"
        GALLERY_LINK_RENEWED = "gallery_link_renewed", "Gallery link renewed"
        GALLERY_UPDATED = "gallery_updated", "Gallery settings changed"
        GALLERY_CLOSED = "gallery_closed", "Gallery closed"
        GALLERY_REOPENED = "gallery_reopened", "Gallery reopened"
        PHOTO_UPLOADED = "photo_uploaded", "Photo uploaded"
        SELECTION_SUBMITTED = "selection_submitted", "Selection sent"
        # With photo_id and gallery_id; details: the photo's name, ai_decision and decision.
        CULL_OVERRIDDEN = "cull_overridden", "Cull decision changed"
        # With gallery_id; details: photo_ids and how many (photos).
        PHOTOS_PUBLISHED = "photos_published", "Photos published"
        PHOTOS_UNPUBLISHED = "photos_unpublished", "Photos unpublished"
        # With photo_id and gallery_id; details: the photo's name and its source.
        PHOTO_APPROVED = "photo_approved", "AI result approved"
        PHOTO_REJECTED = "photo_rejected", "AI result rejected"

    # What each kind says, filled from its details by `_Words`.
    SENTENCES = {
        Kind.BOOKING_HELD: "Held {start_time}",
        Kind.HOLD_EXPIRED: "Hold expired{because}",
        Kind.BOOKING_CONFIRMED: "Booking confirmed{because}",
        Kind.BOOKING_RESCHEDULED: "Rescheduled from {old_start_time} to {new_start_time}",
        Kind.BOOKING_CANCELLED: "Cancelled {by_whom}{because}",
        Kind.BOOKING_COMPLETED: "Session completed",
        Kind.BALANCE_REQUESTED: "Asked for the {amount} balance",
        Kind.PAYMENT_STARTED: "Payment of {amount} {what} started",
        Kind.PAYMENT_SUCCEEDED: "Paid {amount} {what}",
        Kind.REFUND_RECORDED: "Refunded {amount}{because}",
        Kind.REFUND_SENT: "Refund of {amount} sent to the payment provider",
        Kind.REFUNDED_AT_PROVIDER: "The payment provider reports {amount} of the {what} refunded",
        Kind.GALLERY_CREATED: "Gallery created",
        Kind.GALLERY_LINK_RENEWED: "Gallery link renewed{new_pin}",
        Kind.GALLERY_UPDATED: "Gallery settings changed: {included_photos} photos in the package",
        Kind.GALLERY_CLOSED: "Gallery closed to the client and the link",
        Kind.GALLERY_REOPENED: "Gallery reopened",
        Kind.PHOTO_UPLOADED: "Photo {name} uploaded",
        Kind.SELECTION_SUBMITTED: "Selection sent to the studio ({photos} chosen)",
        Kind.CULL_OVERRIDDEN: "Cull of {name} changed from {ai_decision} to {decision}",
        Kind.PHOTOS_PUBLISHED: "Published {n_photos} to the client",
        Kind.PHOTOS_UNPUBLISHED: "Took {n_photos} back from the client",
        Kind.PHOTO_APPROVED: "AI result {name} approved",
        Kind.PHOTO_REJECTED: "AI result {name} rejected",
    }

    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=40, choices=Kind.choices)
    actor = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    studio = models.ForeignKey(
        Studio, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    booking_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    gallery_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    photo_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M} UTC"

    def sentence(self, zone: zoneinfo.ZoneInfo) -> str:
        """Say what happened in words a person understands, with times in `zone`."""
        return self.SENTENCES[self.kind].format_map(_Words(self.details, zone))


class _Words(dict):
    """An event's details, and the words its sentence makes of them: money with its currency,
    `{x_time}` for the time in detail `x` in the viewer's zone, ": reason" only when given."""

    BY_WHOM = {"client": "by the client", "studio": "by the studio"}

    def __init__(self, details: dict, zone: zoneinfo.ZoneInfo):
        super().__init__(details)
        self.zone = zone

    def __missing__(self, key: str) -> str:
        if key == "amount" and "amount_minor" in self:
            return money(self["amount_minor"], self.get("currency", ""))
        if key.endswith("_time") and (iso := self.get(key.removesuffix("_time"))):
            return moment(datetime.fromisoformat(iso), self.zone)
        if key == "because":
            return f": {self['reason']}" if self.get("reason") else ""
        if key == "by_whom":
            return self.BY_WHOM.get(self.get("by"), "automatically")
        if key == "new_pin":
            return " with a new PIN" if self.get("pin_changed") else ""
        if key == "n_photos" and "photos" in self:
            return "1 photo" if self["photos"] == 1 else f"{self['photos']} photos"
        return "?"  # a detail an older record lacks: the rest of its sentence still reads


class OutboundEmail(models.Model):
    """An e-mail the platform promised, written in the same transaction as the change that
    promises it (`studio.outbox`), so that it is neither lost nor sent twice.

    A task queued on commit sends it; a periodic sweep sends those still pending when that task
    never ran (the broker was down, a worker died). What it concerns is kept as plain ids, as in
    `AuditEvent`; the app that owns the kind composes the message when it is sent.
    """

    class Kind(models.TextChoices):
        BOOKING_CONFIRMATION = "booking.confirmation", "Booking confirmation"
        BOOKING_REMINDER = "booking.reminder", "Booking reminder"
        BOOKING_RESCHEDULED = "booking.rescheduled", "Booking rescheduled"
        BOOKING_CANCELLATION = "booking.cancellation", "Booking cancellation"
        BOOKING_LATE_PAYMENT_REFUNDED = "booking.late_payment_refunded", "Late payment refunded"
        BOOKING_BALANCE_DUE = "booking.balance_due", "Balance due"
        PAYMENT_RECEIPT = "booking.payment_receipt", "Payment receipt"
        REFUND_RECEIPT = "booking.refund_receipt", "Refund receipt"
        GALLERY_READY = "delivery.gallery_ready", "Gallery ready"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        # Claimed by one worker until `lease_expires_at`, for the SMTP send and marking it sent.
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        # Given up on, with `last_error`: retries ran out, or a worker stopped mid-send.
        FAILED = "failed", "Failed"
        # No longer makes sense when its turn came (e.g. cancelled before its confirmation).
        SKIPPED = "skipped", "Skipped"

    kind = models.CharField(max_length=40, choices=Kind.choices)
    # One promised e-mail is one row, however often the promise is repeated.
    dedupe_key = models.CharField(max_length=200, unique=True)
    booking_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    payment_id = models.PositiveBigIntegerField(null=True, blank=True)
    refund_id = models.PositiveBigIntegerField(null=True, blank=True)
    recipient = models.EmailField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["state", "created_at"], name="outbound_email_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient or '?'} ({self.state})"


class Attempt(models.Model):
    """One try counted against a throttle (`studio.throttles`), until it drops out of the window.

    `key` is a digest of what is counted (an address, an account, a gallery link), so that the
    table keeps neither e-mail addresses nor IP addresses, and any key fits the column.
    """

    key = models.CharField(max_length=64)
    until = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["key", "until"]), models.Index(fields=["until"])]

    def __str__(self) -> str:
        return f"Try on {self.key[:12]}… until {self.until:%Y-%m-%d %H:%M}"


class ThrottleStripe(models.Model):
    """A row to lock while the tries on keys hashed to it are counted and taken.

    Locking these (`select_for_update`) makes concurrent tries on one key wait for each other on
    PostgreSQL; a fixed number of stripes, made on first use and never deleted, keeps the table
    small whatever the number of keys.
    """

    id = models.PositiveIntegerField(primary_key=True)

    def __str__(self) -> str:
        return f"Throttle stripe {self.id}"
