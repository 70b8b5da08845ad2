"""Booking e-mails, each with a calendar invite (.ics) the client's calendar understands."""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from .models import Booking

SUBJECTS = {
    "confirmation": "Your session is booked: {name}",
    "reminder": "Reminder: your session is coming up, {name}",
    "rescheduled": "Your session has moved: {name}",
    "cancellation": "Your session is cancelled: {name}",
    "late_payment_refunded": "Your payment is refunded: {name}",
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


def send_booking_email(booking: Booking, kind: str) -> None:
    zone = client_zone(booking)
    context = {
        "booking": booking,
        "studio": booking.studio,
        "start": booking.start,
        "end": booking.end,
        "zone": zone.key,
        "url": settings.SITE_URL + booking.get_absolute_url(),
    }
    with timezone.override(zone):  # the template's dates are wall-clock times in `zone`
        body = render_to_string(f"booking/email/{kind}.txt", context)
    message = EmailMessage(
        subject=SUBJECTS[kind].format(name=booking.session_type.name),
        body=body,
        to=[booking.client.email],
        reply_to=[booking.studio.email] if booking.studio.email else None,
    )
    cancelled = kind in ("cancellation", "late_payment_refunded")
    message.attach(
        "cancel.ics" if cancelled else "invite.ics",
        booking_invite(booking, cancelled=cancelled),
        f"text/calendar; method={'CANCEL' if cancelled else 'REQUEST'}",
    )
    message.send()
