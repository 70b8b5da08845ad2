"""API plumbing shared by every app: one JSON shape for every error (documented from the
catalogue), the "or 404" rule, aware date-times, validated input, one Idempotency-Key rule."""

import re
import uuid
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFilesSent
from django.http import Http404, JsonResponse
from django.utils import timezone
from drf_spectacular.utils import inline_serializer
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .errors import DomainError, ErrorCode, Throttled
from .selectors import employer_of

T = TypeVar("T")


def error_body(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


def retry_after(error: DomainError) -> dict:
    """The Retry-After header for a refusal that lifts by itself."""
    return {"Retry-After": str(error.seconds)} if isinstance(error, Throttled) else {}


def error_json(error: DomainError) -> JsonResponse:
    """The error as a plain Django response, for views outside DRF."""
    return JsonResponse(
        error_body(error.code, error.message, **error.extra()),
        status=error.status,
        headers=retry_after(error),
    )


class NotFound(DomainError, Http404):
    """A thing that is not there, or not there for this user: JSON in the API, the not-found
    page elsewhere."""

    def __init__(self, thing: str):
        super().__init__("not_found", thing=thing)


def or_404(found: T | None, thing: str) -> T:
    """Return what a selector found, or answer 404 naming the `thing` that was asked for."""
    if found is None:
        raise NotFound(thing)
    return found


CODES = {code.value for code in ErrorCode}


def _refusal(exc) -> DomainError | None:
    """The catalogue's error for an exception DRF does not know (Django's own refusals)."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, Http404):
        return NotFound("resource")
    if isinstance(exc, TooManyFilesSent):
        return DomainError("too_many_files", limit=settings.DATA_UPLOAD_MAX_NUMBER_FILES)
    if isinstance(exc, RequestDataTooBig):
        return DomainError("request_too_large")
    return None


def api_exception_handler(exc, context):
    """Render every API error as {"error": {"code", "message", ...}} with a catalogued code."""
    if refusal := _refusal(exc):
        return Response(
            error_body(refusal.code, refusal.message, **refusal.extra()),
            status=refusal.status,
            headers=retry_after(refusal),
        )
    response = exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django reports a 500, which ApiErrorsMiddleware turns to JSON
    if isinstance(exc, exceptions.ValidationError):
        invalid = DomainError("invalid")
        response.data = error_body(invalid.code, invalid.message, fields=exc.detail)
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:  # DRF's own (not authenticated, method not allowed...): its status, our message
        code = exc.default_code if exc.default_code in CODES else "server_error"
        # Values for the two messages that name one; the others take none.
        error = DomainError(code, method=context["request"].method, thing="resource")
        response.data = error_body(error.code, error.message)
    return response


# What Django answers by itself, before or around any view (an unknown address, a crash).
CODE_FOR_STATUS = {
    400: ErrorCode.BAD_REQUEST,
    403: ErrorCode.PERMISSION_DENIED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.REQUEST_TOO_LARGE,
}


class ApiErrorsMiddleware:
    """Give API clients the JSON error shape for errors that never reach DRF's handler: unknown
    /api/ addresses, requests Django refuses on its own, 500s. Pages keep Django's pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path_info.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        code = CODE_FOR_STATUS.get(response.status_code, ErrorCode.SERVER_ERROR)
        error = DomainError(code, method=request.method, thing="resource")
        answer = error_json(error)
        answer.status_code = response.status_code
        if "Allow" in response:  # a 405 says what the address does take
            answer["Allow"] = response["Allow"]
        return answer


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time that must say its offset: a bare local time is ambiguous."""

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            raise serializers.ValidationError(
                "Give the time zone offset, e.g. 2026-12-01T10:00:00+01:00 or ...Z."
            )
        return super().enforce_timezone(value)  # to UTC; refuses times beyond year 9999


def validated(serializer_class, request) -> dict:
    """The request body, checked by `serializer_class`; invalid input answers 400 `invalid`."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# The catalogue as the schema's ErrorCode enum, each code with its usual status and message.
ERROR_CODES = [(code.value, f"{code.status}: {code.message}") for code in ErrorCode]


class ErrorOutput(serializers.Serializer):
    error = inline_serializer(
        "ErrorDetail",
        {
            "code": serializers.ChoiceField(
                choices=ERROR_CODES,
                help_text="Stable: one of ErrorCode (whose message names a value in braces).",
            ),
            "message": serializers.CharField(help_text="For people: the code's message."),
            "fields": serializers.DictField(required=False, help_text="Per-field problems."),
            "alternatives": serializers.ListField(
                child=serializers.DictField(),
                required=False,
                help_text="Nearest open slots, when the asked-for one was taken.",
            ),
            "rejected": serializers.ListField(
                child=serializers.DictField(),
                required=False,
                help_text="Uploaded files refused, each with its file name, code and message.",
            ),
        },
    )


# What any endpoint may answer besides its own success: a refusal from the catalogue, a request
# too large (413), or too many of them (429).
ERRORS = {code: ErrorOutput for code in (400, 402, 403, 404, 409, 413, 429)}
# A client's gallery that expired or was closed answers 410.
GALLERY_ERRORS = {**ERRORS, 410: ErrorOutput}
# Starting a payment asks the payment provider, which can be down for a moment.
PAYMENT_ERRORS = {**ERRORS, 503: ErrorOutput}


IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ApiDocsPermission(permissions.BasePermission):
    """The API's schema and docs pages: anyone's when `API_DOCS_PUBLIC`, else a studio's
    photographers' and staff's (the schema maps every operation and error an attacker could try;
    clients use the pages, not the API's map)."""

    def has_permission(self, request, view) -> bool:
        return settings.API_DOCS_PUBLIC or employer_of(request.user) is not None


def idempotency_key(request) -> str:
    """The request's `Idempotency-Key`, or a fresh one. A malformed key is refused rather than
    cut, so two different keys never become one (and it always fits the columns that keep it)."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        return str(uuid.uuid4())
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise DomainError("bad_idempotency_key")
    return key
