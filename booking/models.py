from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from studio.models import Studio


class SessionType(models.Model):
    """What a client books, e.g. "Studio headshot, 30 min, 150.00 EUR"."""

    class Location(models.TextChoices):
        STUDIO = "studio", "At the studio"
        ON_LOCATION = "on_location", "On location"

    studio = models.ForeignKey(Studio, on_delete=models.CASCADE, related_name="session_types")
    name = models.CharField(max_length=120)
    slug = models.SlugField()
    description = models.TextField(blank=True)
    duration_minutes = models.PositiveIntegerField()
    price_minor = models.PositiveIntegerField(help_text="Price in minor units (cents).")
    deposit_minor = models.PositiveIntegerField(default=0, help_text="0: no deposit.")
    buffer_before_minutes = models.PositiveIntegerField(default=0)
    buffer_after_minutes = models.PositiveIntegerField(default=0)
    min_notice_minutes = models.PositiveIntegerField(default=24 * 60)
    max_advance_days = models.PositiveIntegerField(default=60)
    slot_step_minutes = models.PositiveIntegerField(
        default=30, help_text="Offered start times are this far apart."
    )
    location = models.CharField(max_length=20, choices=Location.choices, default=Location.STUDIO)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["studio", "price_minor", "name"]
        constraints = [
            models.UniqueConstraint(fields=["studio", "slug"], name="session_type_slug_per_studio"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gt=0), name="session_type_duration"
            ),
            models.CheckConstraint(condition=Q(slot_step_minutes__gt=0), name="session_type_step"),
            models.CheckConstraint(
                condition=Q(deposit_minor__lte=F("price_minor")), name="deposit_within_price"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def buffer_before(self) -> timedelta:
        return timedelta(minutes=self.buffer_before_minutes)

    @property
    def buffer_after(self) -> timedelta:
        return timedelta(minutes=self.buffer_after_minutes)


class WeeklyHours(models.Model):
    """A photographer's regular working hours on one weekday, in the studio's time zone."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    photographer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="weekly_hours"
    )
    weekday = models.IntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        verbose_name_plural = "weekly hours"
        ordering = ["photographer", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_time__lt=F("end_time")), name="weekly_hours_start_before_end"
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.photographer}: {self.get_weekday_display()} {self.start_time}–{self.end_time}"
        )


class AvailabilityException(models.Model):
    """A dated change to a photographer's hours: time off, or extra hours (studio time zone)."""

    class Kind(models.TextChoices):
        TIME_OFF = "time_off", "Time off"
        EXTRA_HOURS = "extra_hours", "Extra hours"

    photographer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability_exceptions"
    )
    date = models.DateField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    start_time = models.TimeField(
        null=True, blank=True, help_text="Time off only: empty means the whole day."
    )
    end_time = models.TimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["photographer", "date", "start_time"]
        constraints = [
            models.CheckConstraint(
                # Only time off may leave out the times (the whole day); SQL passes a CHECK
                # that is NULL, so both times are required explicitly otherwise.
                condition=(Q(start_time__isnull=True, end_time__isnull=True, kind="time_off"))
                | Q(start_time__isnull=False, end_time__isnull=False, start_time__lt=F("end_time")),
                name="exception_times_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.photographer}: {self.get_kind_display()} on {self.date}"


class Booking(models.Model):
    """A client's session with one photographer: hold → confirmed → completed, or cancelled.

    `blocked_start`/`blocked_end` are the session widened by its buffers; on PostgreSQL an exclusion
    constraint (migration 0002) forbids two held or confirmed bookings of one photographer whose
    blocked ranges overlap.
    """

    class Status(models.TextChoices):
        HELD = "held", "Held"
        CONFIRMED = "confirmed", "Confirmed"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Hold expired"

    ACTIVE_STATUSES = (Status.HELD, Status.CONFIRMED)

    session_type = models.ForeignKey(SessionType, on_delete=models.PROTECT, related_name="bookings")
    photographer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sessions_to_shoot"
    )
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.HELD)
    start = models.DateTimeField()
    end = models.DateTimeField()
    blocked_start = models.DateTimeField()
    blocked_end = models.DateTimeField()
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    location_address = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    price_minor = models.PositiveIntegerField()
    deposit_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancellation_reason = models.TextField(blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    sequence = models.PositiveIntegerField(
        default=0, help_text="Calendar invite revision; bumped on each reschedule."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start"]
        indexes = [
            models.Index(fields=["photographer", "status", "blocked_start"]),
            models.Index(fields=["client", "start"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=F("end")), name="booking_start_before_end"
            ),
            models.CheckConstraint(
                condition=Q(blocked_start__lte=F("start"), blocked_end__gte=F("end")),
                name="booking_blocked_covers_session",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_type.name} for {self.client} at {self.start:%Y-%m-%d %H:%M} UTC"

    def get_absolute_url(self) -> str:
        return reverse("booking_detail", args=[self.pk])

    @property
    def studio(self) -> Studio:
        return self.session_type.studio


class Payment(models.Model):
    """Money a client pays for a booking, through Stripe or the local test-mode provider."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        BALANCE = "balance", "Balance"
        EXTRAS = "extras", "Extra photos"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for payment"
        SUCCEEDED = "succeeded", "Paid"
        # Its booking was cancelled before it was paid, and the provider has closed it.
        CANCELLED = "cancelled", "Cancelled"

    class Provider(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        TEST_MODE = "test_mode", "Test mode (no real money)"

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    intent_id = models.CharField(max_length=255, unique=True, help_text="The PaymentIntent's id.")
    client_secret = models.CharField(max_length=255, blank=True)
    amount_minor = models.PositiveIntegerField()
    refunded_minor = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            # One live deposit and balance per booking: asking again returns the same one.
            # Extra photos can be bought any number of times.
            models.UniqueConstraint(
                fields=["booking", "kind"],
                condition=Q(status__in=["pending", "succeeded"], kind__in=["deposit", "balance"]),
                name="one_live_payment_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(refunded_minor__lte=F("amount_minor")), name="refund_within_payment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount_minor} {self.currency} ({self.status})"


class Refund(models.Model):
    """Money given back; the idempotency key makes a retried refund the same refund at Stripe.

    A refund made at the provider itself (the Stripe Dashboard) is recorded from its event, sent.
    """

    class Status(models.TextChoices):
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        # The provider refused it for good (e.g. more than is left at Stripe): never sent again.
        FAILED = "failed", "Failed"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.PositiveIntegerField()
    reason = models.CharField(max_length=200)
    idempotency_key = models.CharField(max_length=255, unique=True)
    provider_refund_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SENDING)
    error = models.TextField(blank=True, help_text="Why the provider refused it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            # A refund the provider reported is counted once, however often it is reported.
            models.UniqueConstraint(
                fields=["provider_refund_id"],
                condition=~Q(provider_refund_id=""),
                name="refund_once_per_provider_id",
            )
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount_minor} of payment {self.payment_id}"


class PaymentEvent(models.Model):
    """A payment provider's event, recorded once by its id and processed in a task."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["received_at", "pk"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class Installation(models.Model):
    """This installation (its database), as told apart from others sharing one Stripe account.

    One row, made by migration 0007 with a random key (or on first use); the key prefixes every
    idempotency key sent to Stripe. `STRIPE_IDEMPOTENCY_PREFIX` overrides it, e.g. for a copy of
    a database restored elsewhere.
    """

    key = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"Installation {self.key}"
