"""Move the booking audit trail into the one audit log (studio.AuditEvent), then drop it.

The free-string kinds become the enumerated ones, and each record gets what its sentence needs
(an amount's currency, what a payment was for), looked up while the booking still exists.
"""

from django.db import migrations

KINDS = {
    "held": "booking_held",
    "confirmed": "booking_confirmed",
    "cancelled": "booking_cancelled",
    "rescheduled": "booking_rescheduled",
    "payment_started": "payment_started",
    "payment_succeeded": "payment_succeeded",
    "refunded": "refund_recorded",
}
PAYMENT_WORDS = {"deposit": "deposit", "balance": "balance", "extras": "extra photos"}


def _new_kind_and_details(event, payments):
    details = dict(event.details)
    kind = KINDS[event.kind]
    if "amount" in details:
        details["amount_minor"] = details.pop("amount")
    if kind in ("payment_started", "payment_succeeded"):
        payment = payments[details["payment"]]
        details.pop("of", None)
        details.update(
            what=PAYMENT_WORDS[payment.kind],
            amount_minor=payment.amount_minor,
            currency=payment.currency,
        )
    elif kind == "refund_recorded":
        details["currency"] = event.booking.currency
        if details.pop("by", None) == "provider":
            kind, details["what"] = "refunded_at_provider", "payment"
    elif kind == "booking_confirmed" and details.pop("by", None) == "payment":
        details["reason"] = "the deposit was paid"
    return kind, details


def forwards(apps, schema_editor):
    BookingEvent = apps.get_model("booking", "BookingEvent")
    Payment = apps.get_model("booking", "Payment")
    AuditEvent = apps.get_model("studio", "AuditEvent")
    payments = {payment.pk: payment for payment in Payment.objects.all()}
    moved = []
    for event in BookingEvent.objects.select_related("booking__session_type").order_by("at", "pk"):
        kind, details = _new_kind_and_details(event, payments)
        moved.append(
            AuditEvent(
                at=event.at,
                kind=kind,
                actor_id=event.actor_id,
                studio_id=event.booking.session_type.studio_id,
                booking_id=event.booking_id,
                details=details,
            )
        )
    AuditEvent.objects.bulk_create(moved, batch_size=500)


def backwards(apps, schema_editor):
    """Give the old table back its records (kinds by their old names where they had one)."""
    Booking = apps.get_model("booking", "Booking")
    BookingEvent = apps.get_model("booking", "BookingEvent")
    AuditEvent = apps.get_model("studio", "AuditEvent")
    # Keep each record's own time: the old field would stamp them all with now.
    BookingEvent._meta.get_field("at").auto_now_add = False
    old_kinds = {new: old for old, new in KINDS.items()} | {"refunded_at_provider": "refunded"}
    # A booking's own records only: not its gallery's, nor its photos' culling.
    ours = AuditEvent.objects.filter(
        booking_id__in=Booking.objects.values("pk"), gallery_id__isnull=True
    )
    BookingEvent.objects.bulk_create(
        BookingEvent(
            at=event.at,
            kind=old_kinds.get(event.kind, event.kind),
            actor_id=event.actor_id,
            booking_id=event.booking_id,
            details=event.details,
        )
        for event in ours.order_by("at", "pk")
    )
    ours.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0005_extras_payments"),
        ("studio", "0002_audit_event"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.DeleteModel(name="BookingEvent"),
    ]
