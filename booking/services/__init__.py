"""Writes for booking, in two modules: `bookings` (the booking's life) and `payments` (money).

Callers import from here; the modules say where each write lives.
"""

from .bookings import (
    booking_cancel,
    booking_claim_due_reminders,
    booking_complete_finished,
    booking_confirm,
    booking_expire_holds,
    booking_hold,
    booking_reschedule,
)
from .common import BookingError
from .payments import (
    balance_payment_start,
    extras_payment_start,
    payment_cancel,
    payment_event_failed,
    payment_event_process,
    payment_event_record,
    payment_start,
    refund_issue,
    refund_send,
)

__all__ = [
    "BookingError",
    "balance_payment_start",
    "booking_cancel",
    "booking_claim_due_reminders",
    "booking_complete_finished",
    "booking_confirm",
    "booking_expire_holds",
    "booking_hold",
    "booking_reschedule",
    "extras_payment_start",
    "payment_cancel",
    "payment_event_failed",
    "payment_event_process",
    "payment_event_record",
    "payment_start",
    "refund_issue",
    "refund_send",
]
