"""The error catalogue: every refusal a person or an API client can get, by its stable code.

Each code has one message (a few name a value, such as a limit or an amount) and the HTTP status
it answers with. To add one, append a line to its app's group.
"""

import math
from enum import StrEnum, unique


@unique
class ErrorCode(StrEnum):
    def __new__(cls, code: str, status: int, message: str):
        member = str.__new__(cls, code)
        member._value_ = code
        member.status, member.message = status, message
        return member

    # Requests as such (the API's plumbing, Django's and DRF's own refusals)
    INVALID = "invalid", 400, "Some fields are missing or invalid."
    BAD_REQUEST = "bad_request", 400, "The request could not be understood."
    PARSE_ERROR = "parse_error", 400, "Malformed request."
    TOO_MANY_FILES = "too_many_files", 400, "Send at most {limit} files in one request."
    REQUEST_TOO_LARGE = "request_too_large", 413, "The request is larger than the server accepts."
    NOT_AUTHENTICATED = "not_authenticated", 403, "Authentication credentials were not provided."
    AUTHENTICATION_FAILED = "authentication_failed", 403, "Incorrect authentication credentials."
    TOO_MANY_LOGINS = (
        "too_many_logins",
        429,
        "Too many failed log-ins. Please wait {wait} and try again, or reset your password.",
    )
    PERMISSION_DENIED = (
        "permission_denied",
        403,
        "You do not have permission to perform this action.",
    )
    NOT_FOUND = "not_found", 404, "No such {thing}."
    METHOD_NOT_ALLOWED = "method_not_allowed", 405, 'Method "{method}" not allowed.'
    NOT_ACCEPTABLE = "not_acceptable", 406, "Could not satisfy the request Accept header."
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", 415, "Unsupported media type in request."
    THROTTLED = "throttled", 429, "Too many requests. Please wait a moment and try again."
    SERVER_ERROR = "server_error", 500, "Something went wrong on our side. Please try again later."
    BAD_IDEMPOTENCY_KEY = (
        "bad_idempotency_key",
        400,
        "The Idempotency-Key header must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -.",
    )
    INVALID_TIME_ZONE = (
        "invalid_time_zone",
        400,
        "'{name}' is not a known time zone, e.g. Europe/Berlin.",
    )

    # Booking
    SLOT_IN_PAST = "slot_in_past", 400, "That time is in the past."
    TOO_SHORT_NOTICE = (
        "too_short_notice",
        400,
        "This session must be booked at least {hours} hours ahead.",
    )
    TOO_FAR_AHEAD = "too_far_ahead", 400, "This session can be booked at most {days} days ahead."
    SLOT_NOT_OFFERED = (
        "slot_not_offered",
        400,
        "The studio does not offer that time: it is outside working hours or not a start time.",
    )
    TOO_MANY_HOLDS = (
        "too_many_holds",
        429,
        "You have held many times in a short while. Please wait {wait} and try again.",
    )
    SLOT_TAKEN = (
        "slot_taken",
        409,
        "That time was just booked by someone else. Here are the nearest open times.",
    )
    SESSION_TYPE_UNAVAILABLE = (
        "session_type_unavailable",
        400,
        "This session type is not offered any more.",
    )
    NOT_YOUR_BOOKING = "not_your_booking", 403, "Only the booking's client can do this."
    STUDIO_STAFF_ONLY = "studio_staff_only", 403, "Only the studio's staff can do this."
    ADDRESS_REQUIRED = "address_required", 400, "Please give the address of the location."
    NOT_CONFIRMABLE = "not_confirmable", 409, "This booking is {state}."
    HOLD_EXPIRED = (
        "hold_expired",
        409,
        "Your hold on this time ran out. Please pick a time again.",
    )
    CUTOFF_PASSED = (
        "cutoff_passed",
        409,
        "Bookings can only be changed up to {hours} hours before the session. "
        "Please contact the studio.",
    )
    NOT_CANCELLABLE = "not_cancellable", 409, "This booking is {state}."
    NOT_RESCHEDULABLE = "not_reschedulable", 409, "Only confirmed bookings can be moved."
    PAYMENT_REQUIRED = (
        "payment_required",
        402,
        "This needs paying first: it is available once the payment has gone through.",
    )
    NOT_PAYABLE = "not_payable", 409, "This booking takes no such payment now."
    NO_DEPOSIT = "no_deposit", 400, "This session needs no deposit: confirm it instead."
    NOTHING_DUE = "nothing_due", 409, "This booking is paid in full."
    PAYMENT_PROVIDER_UNAVAILABLE = (
        "payment_provider_unavailable",
        503,
        "We could not reach the payment provider. Please try again in a moment.",
    )
    NOT_REFUNDABLE = "not_refundable", 409, "Nothing of this payment is left to refund."
    BAD_AMOUNT = "bad_amount", 400, "Refund more than 0 and at most {most}."
    REASON_REQUIRED = "reason_required", 400, "Say why the money goes back."
    NOT_CONFIGURED = "not_configured", 404, "Stripe is not configured."
    BAD_SIGNATURE = "bad_signature", 400, "The event's Stripe signature does not check out."
    BAD_EVENT = "bad_event", 400, "The event cannot be used: {problem}."

    # Delivery
    STUDIO_ONLY = "studio_only", 403, "Only the studio's photographers and staff can do this."
    CLIENT_ONLY = "client_only", 403, "Only the client chooses favourites and selections."
    CLIENT_ACCOUNT_ONLY = (
        "client_account_only",
        403,
        "Log in as the gallery's client to buy extra photos.",
    )
    INVALID_PIN = "invalid_pin", 400, "A PIN is 4 to 12 digits."
    WRONG_PIN = "wrong_pin", 403, "That PIN is not right."
    TOO_MANY_ATTEMPTS = (
        "too_many_attempts",
        429,
        "Too many wrong PINs. Please wait {wait} and try again.",
    )
    BOOKING_NOT_CONFIRMED = (
        "booking_not_confirmed",
        409,
        "Only a confirmed booking gets a gallery.",
    )
    GALLERY_EXISTS = "gallery_exists", 409, "This booking already has a gallery."
    GALLERY_CLOSED = (
        "gallery_closed",
        410,
        "This gallery has expired or was closed by the studio.",
    )
    SELECTION_SUBMITTED = (
        "selection_submitted",
        409,
        "The selection was sent to the studio already.",
    )
    SELECTION_FULL = (
        "selection_full",
        409,
        "Your selection can hold {allowance} photos; take one out first, or buy extra photos.",
    )
    EXTRAS_NOT_SOLD = "extras_not_sold", 409, "This studio sells no extra photos here."
    BAD_QUANTITY = "bad_quantity", 400, "Buy between 1 and 1000 extra photos."
    NOTHING_TO_DOWNLOAD = "nothing_to_download", 404, "There are no photos in your {which}."
    NO_FILES = "no_files", 400, "No files sent."
    DUPLICATE = "duplicate", 409, "This photo is already in the gallery."
    UNSUPPORTED_TYPE = (
        "unsupported_type",
        400,
        "Not a JPEG, PNG, TIFF, HEIC/HEIF or camera RAW file.",
    )
    EMPTY = "empty", 400, "The file is empty."
    TOO_LARGE = "too_large", 400, "The file is larger than the limit of {megabytes} MB."
    TOO_MANY_PIXELS = (
        "too_many_pixels",
        400,
        "The image has more than {megapixels} million pixels "
        "(a decompression bomb, or larger than this studio accepts).",
    )
    TOO_MANY_STRIPS = (
        "too_many_strips",
        400,
        "The image is stored in more than {limit} strips or tiles "
        "(a decompression bomb, or not a photo this studio accepts).",
    )
    TOO_MANY_FRAMES = (
        "too_many_frames",
        400,
        "The file holds more than {limit} frames, pages or images "
        "(an animation or a document, not a photo this studio accepts).",
    )
    TRUNCATED = "truncated", 400, "The file is cut short."
    TRAILING_DATA = "trailing_data", 400, "The file has other data appended to it."
    CORRUPT = "corrupt", 400, "The file is damaged or not a photo we can read."
    NO_PHOTOS_CHOSEN = "no_photos_chosen", 400, "Choose the photos first."
    NOT_APPROVED = (
        "not_approved",
        409,
        "{name} is an AI result not approved yet: review it before publishing.",
    )
    NOT_AI_RESULT = "not_ai_result", 409, "Only AI results are reviewed."
    ORIGINAL_UNPUBLISHED = (
        "original_unpublished",
        409,
        "The original of {name} was taken back from the client: publish it again first.",
    )

    # AI-assist
    NO_PHOTOS = "no_photos", 409, "Upload the shoot's photos first."
    BAD_DECISION = "bad_decision", 400, "Choose keep, maybe or reject."
    NOT_CULLED = "not_culled", 409, "This photo has no culling decision yet."


class DomainError(Exception):
    """A request the platform refuses for a reason the user can act on.

    `code` is stable for API clients, `message` (from the catalogue) is for people, `status` is
    the HTTP status. `values` fill in what the code's message names (a limit, an amount).
    """

    def __init__(self, code: ErrorCode | str, **values):
        entry = ErrorCode(code)
        self.code, self.status, self.values = entry.value, entry.status, values
        self.message = entry.message.format(**values)
        super().__init__(self.message)

    def extra(self) -> dict:
        """Further JSON-ready facts for API clients (e.g. alternatives to a taken slot)."""
        return {}


class Throttled(DomainError):
    """A refusal that lifts by itself in `seconds` (answered with Retry-After); its message
    names the `wait` in whole minutes."""

    def __init__(self, code: ErrorCode | str, *, seconds: int, **values):
        minutes = math.ceil(seconds / 60)
        wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
        super().__init__(code, wait=wait, **values)
        self.seconds = seconds
