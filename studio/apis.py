"""API plumbing shared by every app: one JSON shape for every error, one Idempotency-Key rule."""

import re
import uuid

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .errors import DomainError


def error_body(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


def api_exception_handler(exc, context):
    """Render every API error as {"error": {"code", "message", ...}} with a stable code."""
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, **exc.extra()), status=exc.status)
    if isinstance(exc, Http404):
        return Response(error_body("not_found", str(exc) or "Not found."), status=404)
    response = exception_handler(exc, context)
    if response is None:
        return None  # unexpected: let Django report a 500
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(
            "invalid", "Some fields are missing or invalid.", fields=exc.detail
        )
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:
        response.data = error_body(exc.default_code, str(exc.detail))
    return response


IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def idempotency_key(request) -> str:
    """The request's `Idempotency-Key`, or a fresh one. A malformed key is refused rather than
    cut, so two different keys never become one (and it always fits the columns that keep it)."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        return str(uuid.uuid4())
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise DomainError(
            "bad_idempotency_key",
            "The Idempotency-Key header must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -.",
        )
    return key
