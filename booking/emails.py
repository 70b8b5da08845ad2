"""Booking e-mails, each with a calendar invite (.ics) the client's calendar understands.

They are promised through `studio.outbox`, which asks `outbound_email_message` for each one when
its turn comes.
"""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from studio.models import OutboundEmail

from .models import Booking, Payment, Refund
from .selectors import Receipt, balance_due_minor, receipt_of_payment, receipt_of_refund

SUBJECTS = {
    "confirmation": "Your session is booked: {name}",
    "reminder": "Reminder: your session is coming up, {name}",
    "rescheduled": "Your session has moved: {name}",
    "cancellation": "Your session is cancelled: {name}",
    "late_payment_refunded": "Your payment is refunded: {name}",
    "balance_due": "The balance for your session: {name}",
}
# Which booking states each e-mail still makes sense in when its turn comes.
EMAIL_FOR_STATUS = {
    "confirmation": {Booking.Status.CONFIRMED},
    "reminder": {Booking.Status.CONFIRMED},
    "rescheduled": {Booking.Status.CONFIRMED},
    "cancellation": {Booking.Status.CANCELLED},
    "late_payment_refunded": {Booking.Status.CANCELLED},
    "balance_due": {Booking.Status.COMPLETED},
}
RECEIPT_RELATED = "booking__session_type__studio", "booking__client"
# The calendar method each e-mail's invite carries; e-mails not listed carry none.
INVITES = {
    "confirmation": "REQUEST",
    "reminder": "REQUEST",
    "rescheduled": "REQUEST",
    "cancellation": "CANCEL",
    "late_payment_refunded": "CANCEL",
}


def client_zone(booking: Booking) -> ZoneInfo:
    """The zone the client sees times in: their own if known, else the studio's."""
    return ZoneInfo(booking.client.time_zone or booking.studio.time_zone)


def booking_invite(booking: Booking, *, cancelled: bool = False) -> bytes:
    """Return an iCalendar invite (REQUEST, or CANCEL) for the booking, stable by its UID."""
    studio = booking.studio
    calendar = Calendar()
    calendar.add("prodid", "-//Studio platform//booking//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", f"booking-{booking.pk}@{studio.slug}")
    event.add("sequence", booking.sequence + (1 if cancelled else 0))
    event.add("dtstamp", booking.created_at)
    event.add("dtstart", booking.start)
    event.add("dtend", booking.end)
    event.add("summary", f"{booking.session_type.name} – {studio.name}")
    event.add("description", f"Photographer: {booking.photographer}. {booking.notes}".strip())
    event.add("location", booking.location_address or studio.address or studio.name)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if studio.email:
        organizer = vCalAddress(f"mailto:{studio.email}")
        organizer.params["cn"] = vText(studio.name)
        event["organizer"] = organizer
    attendee = vCalAddress(f"mailto:{booking.client.email}")
    attendee.params["cn"] = vText(str(booking.client))
    event.add("attendee", attendee)
    calendar.add_component(event)
    return calendar.to_ical()


def outbound_email_message(email: OutboundEmail) -> EmailMessage | None:
    """Compose a promised booking e-mail or receipt as it reads now; None when it no longer makes
    sense: its booking, payment or refund is gone, or it was overtaken (a confirmation by a
    cancellation, a balance request by the payment)."""
    if email.kind in (OutboundEmail.Kind.PAYMENT_RECEIPT, OutboundEmail.Kind.REFUND_RECEIPT):
        receipt = _receipt(email)
        return receipt_email_message(receipt) if receipt else None
    kind = email.kind.removeprefix("booking.")
    booking = (
        Booking.objects.select_related("session_type__studio", "client", "photographer")
        .filter(pk=email.booking_id)
        .first()
    )
    if booking is None or booking.status not in EMAIL_FOR_STATUS[kind]:
        return None
    if kind == "balance_due" and not balance_due_minor(booking=booking):
        return None  # paid meanwhile
    return booking_email_message(booking, kind)


def _receipt(email: OutboundEmail) -> Receipt | None:
    if email.kind == OutboundEmail.Kind.PAYMENT_RECEIPT:
        payment = Payment.objects.select_related(*RECEIPT_RELATED).filter(pk=email.payment_id)
        payment = payment.first()
        return payment and receipt_of_payment(payment)
    refund = Refund.objects.select_related(*(f"payment__{r}" for r in RECEIPT_RELATED))
    refund = refund.filter(pk=email.refund_id).first()
    return refund and receipt_of_refund(refund)


def booking_email_message(booking: Booking, kind: str) -> EmailMessage:
    context = {"booking": booking, "url": settings.SITE_URL + booking.get_absolute_url()}
    if kind == "balance_due":
        context["balance_minor"] = balance_due_minor(booking=booking)
        context["url"] = settings.SITE_URL + reverse("booking_balance", args=[booking.pk])
    message = _email_to_client(
        booking,
        SUBJECTS[kind].format(name=booking.session_type.name),
        f"booking/email/{kind}.txt",
        context,
    )
    if method := INVITES.get(kind):
        cancelled = method == "CANCEL"
        message.attach(
            "cancel.ics" if cancelled else "invite.ics",
            booking_invite(booking, cancelled=cancelled),
            f"text/calendar; method={method}",
        )
    return message


def receipt_email_message(receipt: Receipt) -> EmailMessage:
    booking = receipt.booking
    context = {"receipt": receipt, "url": settings.SITE_URL + receipt.url}
    subject = f"Receipt {receipt.number}: {receipt.title.lower()}, {booking.session_type.name}"
    return _email_to_client(booking, subject, "booking/email/receipt.txt", context)


def _email_to_client(booking: Booking, subject: str, template: str, context: dict) -> EmailMessage:
    zone = client_zone(booking)
    context = {
        "booking": booking,
        "studio": booking.studio,
        "start": booking.start,
        "end": booking.end,
        "zone": zone.key,
        **context,
    }
    with timezone.override(zone):  # the template's dates are wall-clock times in `zone`
        body = render_to_string(template, context)
    return EmailMessage(
        subject=subject,
        body=body,
        to=[booking.client.email],
        reply_to=[booking.studio.email] if booking.studio.email else None,
    )
