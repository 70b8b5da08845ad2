"""The old booking and gallery trails move into the one audit log, and read as sentences."""

from zoneinfo import ZoneInfo

import pytest

from studio.models import AuditEvent
from tests.migrations import START, migrate, old_booking

BEFORE = [
    ("studio", "0002_audit_event"),
    ("booking", "0005_extras_payments"),
    ("delivery", "0003_renditions_queued_at"),
]


def old_trails(apps) -> tuple[int, int]:
    """A booking and a gallery with the trails the old code wrote; return their ids."""
    booking = old_booking(apps)
    client = booking.client
    payment = apps.get_model("booking", "Payment").objects.create(
        booking=booking,
        kind="deposit",
        provider="test_mode",
        intent_id="pi_1",
        amount_minor=5000,
        currency="EUR",
        status="succeeded",
    )
    events = apps.get_model("booking", "BookingEvent").objects
    for kind, details in [
        ("held", {"start": START.isoformat()}),
        ("payment_started", {"payment": payment.pk, "of": "deposit"}),
        ("payment_succeeded", {"payment": payment.pk, "amount": 5000}),
        ("confirmed", {"by": "payment"}),
        ("cancelled", {"by": "client", "reason": "Ill"}),
        ("refunded", {"amount": 5000, "reason": "cancelled by the client"}),
        ("refunded", {"amount": 5000, "by": "provider"}),
    ]:
        events.create(booking=booking, actor=client, kind=kind, details=details)
    gallery = apps.get_model("delivery", "Gallery").objects.create(booking=booking, title="G")
    gallery_events = apps.get_model("delivery", "GalleryEvent").objects
    gallery_events.create(gallery=gallery, kind="new_link", details={"pin_changed": True})
    gallery_events.create(gallery=gallery, kind="uploaded", details={"photo": 7, "name": "a.jpg"})
    return booking.pk, gallery.pk


@pytest.mark.django_db(transaction=True)
def test_old_trails_move_into_the_audit_log_and_read_as_sentences():
    booking_id, gallery_id = old_trails(migrate(BEFORE))
    migrate()

    zone = ZoneInfo("Europe/Berlin")
    booking_events = AuditEvent.objects.filter(booking_id=booking_id)
    assert [event.sentence(zone) for event in booking_events] == [
        "Held 14:00 on 3 Mar",
        "Payment of 50.00 EUR deposit started",
        "Paid 50.00 EUR deposit",
        "Booking confirmed: the deposit was paid",
        "Cancelled by the client: Ill",
        "Refunded 50.00 EUR: cancelled by the client",
        "The payment provider reports 50.00 EUR of the payment refunded",
    ]
    uploaded = AuditEvent.objects.filter(gallery_id=gallery_id).last()
    assert (uploaded.kind, uploaded.photo_id) == (AuditEvent.Kind.PHOTO_UPLOADED, 7)
    assert [e.sentence(zone) for e in AuditEvent.objects.filter(gallery_id=gallery_id)] == [
        "Gallery link renewed with a new PIN",
        "Photo a.jpg uploaded",
    ]
    assert {e.studio_id for e in AuditEvent.objects.all()} == {booking_events[0].studio_id}
