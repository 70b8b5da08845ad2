"""What booking and paying share: the booking error, expiring holds, the time checks.

No double booking, ever: on PostgreSQL an exclusion constraint rejects overlapping held or
confirmed bookings of one photographer; on SQLite every write transaction is IMMEDIATE (see
settings), so the overlap check and the insert run one booking at a time.
"""

from datetime import datetime

from django.db import DatabaseError
from django.db.models import QuerySet

from studio.audit import audit_record
from studio.errors import DomainError
from studio.models import AuditEvent, OutboundEmail, User
from studio.outbox import email_promise, email_record

from ..models import Booking, SessionType
from ..selectors import Slot, overlapping_bookings, slots_near

# PostgreSQL's SQLSTATEs for losing a race over a photographer's time: the exclusion constraint
# rejected the row, or two conflicting inserts waited on each other and one was aborted.
LOST_RACE_SQLSTATES = {"23P01", "40P01", "40001"}


class BookingError(DomainError):
    """A booking request that cannot be carried out, with open slots to offer instead."""

    def __init__(self, code: str, *, alternatives=(), **values):
        super().__init__(code, **values)
        self.alternatives: list[Slot] = list(alternatives)

    def extra(self) -> dict:
        if not self.alternatives:
            return {}
        return {
            "alternatives": [
                {
                    "start": s.start.isoformat(),
                    "end": s.end.isoformat(),
                    "photographer_ids": list(s.photographer_ids),
                }
                for s in self.alternatives
            ]
        }


def lost_race(error: DatabaseError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) in LOST_RACE_SQLSTATES


def slot_taken(session_type: SessionType, start: datetime, photographer_id, now) -> BookingError:
    return BookingError(
        "slot_taken",
        alternatives=slots_near(
            session_type=session_type, around=start, photographer_id=photographer_id, now=now
        ),
    )


def send_email_on_commit(booking: Booking, kind: str) -> None:
    """Within the change's transaction: promise the client the booking e-mail `kind` (see
    `studio.outbox`), sent once the change is committed."""
    email_promise(**_booking_email(booking, kind))


def send_receipt_on_commit(
    booking: Booking, *, payment_id: int | None = None, refund_id: int | None = None
) -> None:
    """Within the change's transaction: promise the client the receipt of a payment or a refund,
    sent once the change is committed."""
    kind = OutboundEmail.Kind.REFUND_RECEIPT if refund_id else OutboundEmail.Kind.PAYMENT_RECEIPT
    email_promise(
        kind=kind,
        dedupe_key=f"refund-{refund_id}-receipt" if refund_id else f"payment-{payment_id}-receipt",
        recipient=booking.client.email,
        booking_id=booking.pk,
        payment_id=payment_id,
        refund_id=refund_id,
    )


def record_email(booking: Booking, kind: str) -> OutboundEmail | None:
    """Within the change's transaction: promise the e-mail, for the caller to queue."""
    return email_record(**_booking_email(booking, kind))


def _booking_email(booking: Booking, kind: str) -> dict:
    return {
        "kind": OutboundEmail.Kind(f"booking.{kind}"),
        # Once per kind and version of the booking: a move (a new sequence) has its own e-mails.
        "dedupe_key": f"booking-{booking.pk}-{kind}-{booking.sequence}",
        "recipient": booking.client.email,
        "booking_id": booking.pk,
    }


def blocked_time(session_type: SessionType, start: datetime) -> tuple[datetime, datetime]:
    end = start + session_type.duration
    return start - session_type.buffer_before, end + session_type.buffer_after


def free_after_expiring_holds(
    photographer_id: int, blocked, now: datetime, exclude_pk: int | None = None
) -> bool:
    """Within the booking's transaction: whether the photographer's `blocked` time is free.

    Holds whose time ran out are marked expired first, so that they do not trip the constraint.
    """
    ran_out = Booking.objects.filter(
        photographer_id=photographer_id,
        hold_expires_at__lte=now,
        blocked_start__lt=blocked[1],
        blocked_end__gt=blocked[0],
    )
    expire_holds(ran_out, actor=None, reason="its time ran out")
    return not overlapping_bookings(
        photographer_id=photographer_id, blocked=blocked, now=now, exclude_pk=exclude_pk
    ).exists()


def expire_holds(bookings: QuerySet[Booking], *, actor: User | None, reason: str) -> int:
    """Within the caller's transaction: mark those of `bookings` still held as expired, each with
    its audit event; return how many.

    Each is claimed by a conditional UPDATE, so of two transactions expiring the same hold only
    one changes it, and it gets one event.
    """
    expired = 0
    held = bookings.filter(status=Booking.Status.HELD)
    for pk, studio_id in held.values_list("pk", "session_type__studio_id"):
        claimed = Booking.objects.filter(pk=pk, status=Booking.Status.HELD)
        if claimed.update(status=Booking.Status.EXPIRED):
            audit_record(
                kind=AuditEvent.Kind.HOLD_EXPIRED,
                actor=actor,
                studio_id=studio_id,
                booking_id=pk,
                reason=reason,
            )
            expired += 1
    return expired


def check_is_client(actor: User, booking: Booking) -> None:
    if booking.client_id != actor.pk:
        raise BookingError("not_your_booking")


def check_details(session_type: SessionType, location_address: str) -> None:
    if session_type.location == session_type.Location.ON_LOCATION and not location_address.strip():
        raise BookingError("address_required")
