"""Booking pages: session type → slot → details → confirmation; my bookings; the studio's day."""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from studio.apis import error_json, or_404
from studio.errors import DomainError, ErrorCode, Throttled
from studio.forms import form_errors
from studio.selectors import booking_history, employer_of, works_for
from studio.throttles import client_ip
from studio.timezones import viewer_zone, zone_names

from . import selectors, services
from .forms import BookingDetailsForm, CancelForm, DayForm, RefundForm, SlotChoiceForm
from .models import Booking, Payment
from .payments import simulated_success_event, verify_webhook

DAYS_PER_PAGE = 7


def home(request):
    return render(request, "booking/home.html", {"session_types": selectors.session_type_list()})


def _first_day(request, zone) -> date:
    """The day asked for in `?date=`, or today in `zone` when none (or nonsense) is asked for."""
    form = DayForm(request.GET)
    return form.cleaned_data["date"] if form.is_valid() else timezone.now().astimezone(zone).date()


def _slot_page(request, session_type, *, action_url: str, booking=None, error=None, status=200):
    """Render a week of open slots in the viewer's zone, grouped by the viewer's days."""
    zone, zone_confirmed = viewer_zone(request, session_type.studio.time_zone)
    first_day = _first_day(request, zone)
    range_start = datetime.combine(first_day, time.min, zone)
    slots = selectors.slot_list(
        session_type=session_type,
        range_start=range_start,
        range_end=range_start + timedelta(days=DAYS_PER_PAGE),
        exclude_booking_pk=booking.pk if booking else None,
    )
    days = {}
    alternatives = getattr(error, "alternatives", None)  # a taken slot's, not a throttle's
    for slot in alternatives or slots:
        local = slot.start.astimezone(zone)
        days.setdefault(local.date(), []).append((local, slot))
    context = {
        "session_type": session_type,
        "booking": booking,
        "days": sorted(days.items()),
        "zone": zone,
        "zone_confirmed": zone_confirmed,
        "zone_names": zone_names(),
        "studio_zone": session_type.studio.time_zone,
        "first_day": first_day,
        "previous_day": max(
            first_day - timedelta(days=DAYS_PER_PAGE), timezone.now().astimezone(zone).date()
        ),
        "next_day": first_day + timedelta(days=DAYS_PER_PAGE),
        "action_url": action_url,
        "error": error,
    }
    return render(request, "booking/slots.html", context, status=status)


def _session_type(pk: int):
    return or_404(selectors.session_type_get(pk=pk), "session type")


def slots(request, session_type_id: int):
    session_type = _session_type(session_type_id)
    return _slot_page(request, session_type, action_url=reverse("hold", args=[session_type.pk]))


@login_required
def hold(request, session_type_id: int):
    session_type = _session_type(session_type_id)
    if request.method != "POST":
        return redirect("slots", session_type_id=session_type.pk)
    form = SlotChoiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Please pick one of the offered times.")
        return redirect("slots", session_type_id=session_type.pk)
    try:
        booking = services.booking_hold(
            client=request.user,
            session_type=session_type,
            start=form.cleaned_data["start"],
            photographer_id=form.cleaned_data["photographer"],
            ip=client_ip(request),
        )
    except (services.BookingError, Throttled) as error:
        return _slot_page(
            request, session_type, action_url=request.path, error=error, status=error.status
        )
    return redirect("booking_details", pk=booking.pk)


def _booking(request, pk: int) -> Booking:
    return or_404(selectors.booking_get_for(user=request.user, pk=pk), "booking")


def _client_booking(request, pk: int) -> Booking:
    booking = _booking(request, pk)
    if booking.client_id != request.user.pk:
        raise PermissionDenied(ErrorCode.NOT_YOUR_BOOKING.message)
    return booking


@login_required
def details(request, pk: int):
    booking = _client_booking(request, pk)
    if booking.status != Booking.Status.HELD:
        return redirect(booking)
    form = BookingDetailsForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            if booking.deposit_minor:
                payment = services.payment_start(
                    booking=booking, actor=request.user, **form.cleaned_data
                )
                return redirect("payment_pay", pk=payment.pk)
            services.booking_confirm(booking=booking, actor=request.user, **form.cleaned_data)
        except services.BookingError as error:
            if error.code in {"address_required"}:
                form.add_error("location_address", error.message)
            elif error.code == "payment_provider_unavailable":
                # The hold and the details are still good: stay here so the client can retry.
                messages.error(request, error.message)
                status = error.status
            else:
                messages.error(request, error.message)
                return redirect("slots", session_type_id=booking.session_type_id)
        else:
            return redirect(booking)
    zone, _ = viewer_zone(request, booking.studio.time_zone)
    return render(
        request,
        "booking/details.html",
        {"booking": booking, "form": form, "zone": zone},
        status=status,
    )


@login_required
def pay(request, pk: int):
    """A payment's page: Stripe's Payment Element, or the test-mode stand-in."""
    payment = or_404(selectors.payment_get_for_client(client=request.user, pk=pk), "payment")
    if selectors.payment_no_longer_due(payment=payment):
        messages.error(request, "This payment is no longer due, so it cannot be paid here.")
        return redirect(payment.booking)
    test_mode = payment.provider == Payment.Provider.TEST_MODE
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    if request.method == "POST" and test_mode and payment.status == Payment.Status.PENDING:
        if request.POST.get("outcome") == "succeed":
            services.payment_event_record(event=simulated_success_event(payment))
            return redirect(next_url or payment.booking)
        messages.error(request, "The test payment failed (as asked). Try again.")
    return render(
        request,
        "booking/pay.html",
        {
            "payment": payment,
            "booking": payment.booking,
            "test_mode": test_mode,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "return_url": request.build_absolute_uri(
                next_url or payment.booking.get_absolute_url()
            ),
        },
    )


@login_required
def balance(request, pk: int):
    """Where the e-mail's link leads: the rest of the price, paid after the session."""
    booking = _client_booking(request, pk)
    if request.method == "POST":
        try:
            payment = services.balance_payment_start(booking=booking, actor=request.user)
        except services.BookingError as error:
            messages.error(request, error.message)
            return redirect(booking)
        return redirect("payment_pay", pk=payment.pk)
    return render(
        request,
        "booking/balance.html",
        {
            "booking": booking,
            "balance_minor": selectors.balance_due_minor(booking=booking),
            "pending": selectors.live_payment(booking=booking, kind=Payment.Kind.BALANCE),
        },
    )


def _payment(request, pk: int) -> Payment:
    return or_404(selectors.payment_get_for(user=request.user, pk=pk), "payment")


@login_required
@require_POST
def refund(request, pk: int):
    """A refund the studio's staff give from the booking page."""
    payment = _payment(request, pk)
    form = RefundForm(request.POST, currency=payment.currency)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return redirect(payment.booking)
    try:
        refund = services.refund_issue(
            payment=payment,
            actor=request.user,
            amount_minor=form.amount_minor(),
            reason=form.cleaned_data["reason"],
            request_key=str(form.cleaned_data["request_key"]),
        )
    except services.BookingError as error:
        messages.error(request, error.message)
    else:
        refund.refresh_from_db(fields=["status", "error"])  # sent already, where tasks run eagerly
        if receipt := selectors.receipt_of_refund(refund):
            messages.success(request, f"Refund {receipt.number} is on its way.")
        else:
            messages.error(request, f"The payment provider refused the refund: {refund.error}")
    return redirect(payment.booking)


@login_required
def payment_receipt(request, pk: int):
    payment = _payment(request, pk)
    return _receipt_page(request, or_404(selectors.receipt_of_payment(payment), "receipt"))


@login_required
def refund_receipt(request, pk: int):
    refund = or_404(selectors.refund_get_for(user=request.user, pk=pk), "refund")
    return _receipt_page(request, or_404(selectors.receipt_of_refund(refund), "receipt"))


def _receipt_page(request, receipt):
    zone, _ = viewer_zone(request, receipt.booking.studio.time_zone)
    return render(request, "booking/receipt.html", {"receipt": receipt, "zone": zone})


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe's events: verified, recorded once, answered at once, processed in a task."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        return error_json(DomainError("not_configured"))
    try:
        event = verify_webhook(request.body, request.headers.get("Stripe-Signature", ""))
        services.payment_event_record(event=event)
    except DomainError as error:  # not Stripe's, not fresh, or not an event we can use
        return error_json(error)
    return JsonResponse({"received": True})


@login_required
def booking_detail(request, pk: int):
    booking = _booking(request, pk)
    zone, _ = viewer_zone(request, booking.studio.time_zone)
    now = timezone.now()
    for_studio = works_for(request.user, booking.session_type.studio_id, staff_only=True)
    return render(
        request,
        "booking/booking_detail.html",
        {
            "booking": booking,
            "zone": zone,
            "studio_zone": booking.studio.zone,
            "cancel_form": CancelForm(),
            "deposit": selectors.live_payment(booking=booking),
            "payments": selectors.payment_history(booking=booking),
            "balance_minor": selectors.balance_due_minor(booking=booking),
            "cancel_refund_minor": selectors.cancellation_refund_minor(
                booking=booking, by_studio=for_studio, now=now
            ),
            "for_studio": for_studio,
            "for_team": works_for(request.user, booking.session_type.studio_id),
            "refund_form": RefundForm(currency=booking.currency) if for_studio else None,
            "now": now,
            "cutoff": selectors.cancellation_cutoff(booking),
            "events": booking_history(booking_id=booking.pk),
        },
    )


@login_required
def my_bookings(request):
    zone, _ = viewer_zone(request, "UTC")
    return render(
        request,
        "booking/my_bookings.html",
        {
            "bookings": selectors.bookings_for_client(client=request.user),
            "zone": zone,
            "now": timezone.now(),
        },
    )


@login_required
@require_POST
def cancel(request, pk: int):
    booking = _booking(request, pk)
    form = CancelForm(request.POST)
    form.is_valid()
    try:
        services.booking_cancel(
            booking=booking, actor=request.user, reason=form.cleaned_data.get("reason", "")
        )
    except services.BookingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "The booking is cancelled.")
    return redirect(booking)


@login_required
def reschedule(request, pk: int):
    booking = _booking(request, pk)
    if request.method != "POST":
        return _slot_page(request, booking.session_type, action_url=request.path, booking=booking)
    form = SlotChoiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Please pick one of the offered times.")
        return redirect("booking_reschedule", pk=booking.pk)
    try:
        services.booking_reschedule(
            booking=booking,
            actor=request.user,
            start=form.cleaned_data["start"],
            photographer_id=form.cleaned_data["photographer"],
        )
    except services.BookingError as error:
        if not error.alternatives:
            messages.error(request, error.message)
            return redirect(booking)
        return _slot_page(
            request,
            booking.session_type,
            action_url=request.path,
            booking=booking,
            error=error,
            status=error.status,
        )
    messages.success(request, "Your booking has moved.")
    return redirect(booking)


@login_required
def schedule(request):
    user = request.user
    if employer_of(user) is None:
        raise PermissionDenied(ErrorCode.STUDIO_ONLY.message)
    zone = user.studio.zone
    day = _first_day(request, zone)
    return render(
        request,
        "booking/schedule.html",
        {
            "day": day,
            "zone": zone,
            "bookings": selectors.schedule_for_day(user=user, day=day),
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
        },
    )
