"""The booking API: one view per operation, input and output serializers side by side."""

from datetime import datetime, time, timedelta

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.apis import (
    ERRORS,
    PAYMENT_ERRORS,
    AwareDateTimeField,
    idempotency_key,
    or_404,
    validated,
)
from studio.errors import DomainError
from studio.selectors import employer_of
from studio.throttles import client_ip
from studio.timezones import zone_from_name

from . import selectors, services
from .forms import validate_calendar_day
from .models import Booking, SessionType
from .serializers import MoneySerializer, PaymentOutput


class SessionTypeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    studio = serializers.CharField(source="studio.name")
    studio_time_zone = serializers.CharField(source="studio.time_zone")
    name = serializers.CharField()
    description = serializers.CharField()
    duration_minutes = serializers.IntegerField()
    price = serializers.SerializerMethodField()
    deposit = serializers.SerializerMethodField()
    location = serializers.CharField()

    def get_price(self, obj) -> MoneySerializer:
        return {"amount_minor": obj.price_minor, "currency": obj.studio.currency}

    def get_deposit(self, obj) -> MoneySerializer:
        return {"amount_minor": obj.deposit_minor, "currency": obj.studio.currency}


class SessionTypeListApi(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=SessionTypeOutput(many=True))
    def get(self, request):
        return Response(SessionTypeOutput(selectors.session_type_list(), many=True).data)


class SlotListApi(APIView):
    """Open slots of a session type, shown in the time zone the client asks for."""

    permission_classes = [permissions.AllowAny]

    class SlotListInput(serializers.Serializer):
        date = serializers.DateField(
            validators=[validate_calendar_day],
            required=False,
            help_text="First day (in `tz`); default today.",
        )
        days = serializers.IntegerField(min_value=1, max_value=31, default=7)
        tz = serializers.CharField(required=False, help_text="IANA zone; default the studio's.")
        photographer = serializers.IntegerField(required=False)

    class SlotOutput(serializers.Serializer):
        start = serializers.DateTimeField()
        end = serializers.DateTimeField()
        photographer_ids = serializers.ListField(child=serializers.IntegerField())

    @extend_schema(
        parameters=[SlotListInput],
        responses=inline_serializer(
            "SlotList", {"time_zone": serializers.CharField(), "slots": SlotOutput(many=True)}
        ),
    )
    def get(self, request, session_type_id: int):
        session_type = _session_type(session_type_id)
        params = self.SlotListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        zone = zone_from_name(params.validated_data.get("tz") or session_type.studio.time_zone)
        first_day = params.validated_data.get("date") or timezone.now().astimezone(zone).date()
        range_start = datetime.combine(first_day, time.min, zone)
        range_end = datetime.combine(
            first_day + timedelta(days=params.validated_data["days"]), time.min, zone
        )
        slots = selectors.slot_list(
            session_type=session_type,
            range_start=range_start,
            range_end=range_end,
            photographer_id=params.validated_data.get("photographer"),
        )
        with timezone.override(zone):  # render the times with the client's offset
            data = self.SlotOutput(slots, many=True).data
        return Response({"time_zone": zone.key, "slots": data})


class NamedRef(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField(source="__str__")


class BookingOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    session_type = NamedRef()
    photographer = NamedRef()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    studio_time_zone = serializers.CharField(source="session_type.studio.time_zone")
    hold_expires_at = serializers.DateTimeField(allow_null=True)
    location_address = serializers.CharField()
    notes = serializers.CharField()
    price = serializers.SerializerMethodField()
    deposit = serializers.SerializerMethodField()

    def get_price(self, obj) -> MoneySerializer:
        return {"amount_minor": obj.price_minor, "currency": obj.currency}

    def get_deposit(self, obj) -> MoneySerializer:
        return {"amount_minor": obj.deposit_minor, "currency": obj.currency}


class BookingListApi(APIView):
    class HoldInput(serializers.Serializer):
        session_type = serializers.IntegerField()
        start = AwareDateTimeField()
        photographer = serializers.IntegerField(required=False, help_text="Default: anyone free.")

    @extend_schema(responses=BookingOutput(many=True))
    def get(self, request):
        bookings = selectors.bookings_for_client(client=request.user)
        return Response(BookingOutput(bookings, many=True).data)

    @extend_schema(
        request=HoldInput,
        responses={201: BookingOutput, **ERRORS},
        description="Hold a slot for the studio's hold time; confirm it before the hold expires. "
        "A slot someone else took answers 409 with `alternatives`; too many holds from one "
        "account or address within the window answer 429 `too_many_holds` with Retry-After.",
    )
    def post(self, request):
        data = validated(self.HoldInput, request)
        booking = services.booking_hold(
            client=request.user,
            session_type=_session_type(data["session_type"]),
            start=data["start"],
            photographer_id=data.get("photographer"),
            ip=client_ip(request),
        )
        return Response(BookingOutput(booking).data, status=status.HTTP_201_CREATED)


def _session_type(pk: int) -> SessionType:
    return or_404(selectors.session_type_get(pk=pk), "session type")


def _own_booking(request, pk: int) -> Booking:
    """The requester's booking, or (for studio staff and photographers) one of their studio's."""
    return or_404(selectors.booking_get_for(user=request.user, pk=pk), "booking")


class BookingDetailApi(APIView):
    @extend_schema(responses=BookingOutput)
    def get(self, request, pk: int):
        return Response(BookingOutput(_own_booking(request, pk)).data)


class BookingConfirmApi(APIView):
    class BookingConfirmInput(serializers.Serializer):
        location_address = serializers.CharField(required=False, allow_blank=True, default="")
        notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    @extend_schema(request=BookingConfirmInput, responses={200: BookingOutput, **ERRORS})
    def post(self, request, pk: int):
        data = validated(self.BookingConfirmInput, request)
        booking = services.booking_confirm(
            booking=_own_booking(request, pk), actor=request.user, **data
        )
        return Response(BookingOutput(booking).data)


class BookingPaymentApi(APIView):
    """Open (or fetch) the deposit payment of a held booking; the webhook confirms it."""

    class BookingPaymentInput(serializers.Serializer):
        location_address = serializers.CharField(required=False, allow_blank=True, default="")
        notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    @extend_schema(request=BookingPaymentInput, responses={200: PaymentOutput, **PAYMENT_ERRORS})
    def post(self, request, pk: int):
        data = validated(self.BookingPaymentInput, request)
        payment = services.payment_start(
            booking=_own_booking(request, pk), actor=request.user, **data
        )
        return Response(PaymentOutput(payment).data)


class BalancePaymentApi(APIView):
    """Open (or fetch) the payment of what is left of the price, after the deposit."""

    @extend_schema(request=None, responses={200: PaymentOutput, **PAYMENT_ERRORS})
    def post(self, request, pk: int):
        payment = services.balance_payment_start(
            booking=_own_booking(request, pk), actor=request.user
        )
        return Response(PaymentOutput(payment).data)


class RefundOutput(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.SerializerMethodField()
    reason = serializers.CharField()
    provider_refund_id = serializers.CharField(help_text="Stripe's refund id; empty until sent.")
    status = serializers.CharField(
        help_text="sending, sent, or failed (the provider refused it: nothing was refunded)"
    )
    created_at = serializers.DateTimeField()
    receipt_url = serializers.SerializerMethodField()

    def get_amount(self, obj) -> MoneySerializer:
        return {"amount_minor": obj.amount_minor, "currency": obj.payment.currency}

    def get_receipt_url(self, obj) -> str | None:
        if obj.status == obj.Status.FAILED:
            return None
        return reverse("refund_receipt", args=[obj.pk])


class PaymentHistoryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="deposit or balance")
    provider = serializers.CharField(help_text="stripe, or test_mode (no real money)")
    intent_id = serializers.CharField(help_text="Stripe's PaymentIntent id.")
    status = serializers.CharField()
    amount = serializers.SerializerMethodField()
    refunded = serializers.SerializerMethodField()
    succeeded_at = serializers.DateTimeField(allow_null=True)
    refunds = RefundOutput(many=True)
    receipt_url = serializers.SerializerMethodField()

    def get_amount(self, obj) -> MoneySerializer:
        return {"amount_minor": obj.amount_minor, "currency": obj.currency}

    def get_refunded(self, obj) -> MoneySerializer:
        return {"amount_minor": obj.refunded_minor, "currency": obj.currency}

    def get_receipt_url(self, obj) -> str | None:
        if obj.status != obj.Status.SUCCEEDED:
            return None
        return reverse("payment_receipt", args=[obj.pk])


class BookingPaymentListApi(APIView):
    """A booking's payments and refunds, for its client and the studio."""

    @extend_schema(responses={200: PaymentHistoryOutput(many=True), **ERRORS})
    def get(self, request, pk: int):
        payments = selectors.payment_history(booking=_own_booking(request, pk))
        return Response(PaymentHistoryOutput(payments, many=True).data)


class PaymentRefundApi(APIView):
    """Refund part or all of a payment (studio staff). Send an `Idempotency-Key` header (at most
    64 characters of A-Z, a-z, 0-9, _ and -) to make a retried request refund once."""

    class RefundInput(serializers.Serializer):
        amount_minor = serializers.IntegerField(min_value=1)
        reason = serializers.CharField(max_length=200)

    @extend_schema(request=RefundInput, responses={201: RefundOutput, **ERRORS})
    def post(self, request, pk: int):
        data = validated(self.RefundInput, request)
        refund = services.refund_issue(
            payment=or_404(selectors.payment_get_for(user=request.user, pk=pk), "payment"),
            actor=request.user,
            request_key=idempotency_key(request),
            **data,
        )
        return Response(RefundOutput(refund).data, status=status.HTTP_201_CREATED)


class BookingCancelApi(APIView):
    class BookingCancelInput(serializers.Serializer):
        reason = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=2000
        )

    @extend_schema(request=BookingCancelInput, responses={200: BookingOutput, **ERRORS})
    def post(self, request, pk: int):
        data = validated(self.BookingCancelInput, request)
        booking = _own_booking(request, pk)
        booking = services.booking_cancel(booking=booking, actor=request.user, **data)
        return Response(BookingOutput(booking).data)


class BookingRescheduleApi(APIView):
    class BookingRescheduleInput(serializers.Serializer):
        start = AwareDateTimeField()
        photographer = serializers.IntegerField(required=False)

    @extend_schema(request=BookingRescheduleInput, responses={200: BookingOutput, **ERRORS})
    def post(self, request, pk: int):
        data = validated(self.BookingRescheduleInput, request)
        booking = _own_booking(request, pk)
        booking = services.booking_reschedule(
            booking=booking,
            actor=request.user,
            start=data["start"],
            photographer_id=data.get("photographer"),
        )
        return Response(BookingOutput(booking).data)


class ScheduleApi(APIView):
    """A studio-local day's bookings: a photographer's own, or the whole studio's for staff."""

    class ScheduleInput(serializers.Serializer):
        date = serializers.DateField(required=False, validators=[validate_calendar_day])

    @extend_schema(parameters=[ScheduleInput], responses=BookingOutput(many=True))
    def get(self, request):
        user = request.user
        if employer_of(user) is None:
            raise DomainError("studio_only")
        params = self.ScheduleInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        day = (
            params.validated_data.get("date") or timezone.now().astimezone(user.studio.zone).date()
        )
        return Response(
            BookingOutput(selectors.schedule_for_day(user=user, day=day), many=True).data
        )
