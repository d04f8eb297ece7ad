"""Errors in the API's own formats: JSON (`{"detail": ...}`) under /api/, OperationOutcome under /fhir/.

Three layers, so nothing a client sends can produce an HTML page or a 500 there:
- `rest_exception_handler` (DRF's EXCEPTION_HANDLER) maps what DRF does not: an over-size body, a
  body nested too deep to parse;
- the FHIR views map the same in `fhir.outcome.from_exception`;
- `ApiErrorMiddleware` refuses an over-size body before anything reads it and turns any HTML error
  page that still escapes (CSRF, Django's 400 for a bad host or header) into the API's format.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .fhir.outcome import FHIR_ISSUE_CODES, issue, operation_outcome
from .parsers import as_api_exception, max_body_bytes, too_large

log = logging.getLogger(__name__)

REST_PREFIX = "/api/"
FHIR_PREFIX = "/fhir/"


def rest_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    return exception_handler(as_api_exception(exc) or exc, context)


@csrf_exempt
def no_such_endpoint(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """Anything under /api/ that matches no endpoint: a JSON 404, never the HTML page."""
    return JsonResponse({"detail": "No such API endpoint. See /api/docs/."}, status=404)


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _message(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ApiErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fhir = request.path.startswith(FHIR_PREFIX)
        if not (fhir or request.path.startswith(REST_PREFIX)):
            return self.get_response(request)
        if _content_length(request) > max_body_bytes():
            return self._error(fhir, 413, str(too_large().detail))
        response = self.get_response(request)
        if response.status_code >= 400 and "html" in response.get("Content-Type", ""):
            return self._error(fhir, response.status_code, _message(response.status_code))
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        fhir = request.path.startswith(FHIR_PREFIX)
        if not (fhir or request.path.startswith(REST_PREFIX)):
            return None
        mapped = as_api_exception(exc)
        if mapped is not None:
            return self._error(fhir, mapped.status_code, str(mapped.detail))
        log.exception("Unhandled error in the API", exc_info=exc)
        return self._error(fhir, 500, "Something went wrong on our side; it has been logged.")

    @staticmethod
    def _error(fhir: bool, status: int, detail: str) -> HttpResponse:
        if not fhir:
            return JsonResponse({"detail": detail}, status=status)
        outcome = operation_outcome([issue(FHIR_ISSUE_CODES.get(status, "processing"), detail, http_status=status)])
        return HttpResponse(
            json.dumps(outcome, separators=(",", ":")),
            status=status,
            content_type="application/fhir+json; charset=utf-8",
        )
