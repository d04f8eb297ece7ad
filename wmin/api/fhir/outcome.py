"""Errors as OperationOutcome: the FHIR issue code, the BaRS http-error-code, and plain diagnostics."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from django.http import Http404
from fhir.resources.R4B.operationoutcome import OperationOutcome
from rest_framework import exceptions, status

from ..parsers import BodyTooLarge, as_api_exception
from .systems import HTTP_ERROR_CODES

log = logging.getLogger(__name__)

# HTTP status -> BaRS http-error-code (we are the receiver, hence REC_).
HTTP_ERROR_CODE = {
    400: "REC_BAD_REQUEST",
    401: "REC_UNAUTHORIZED",
    403: "REC_FORBIDDEN",
    404: "REC_NOT_FOUND",
    405: "REC_METHOD_NOT_ALLOWED",
    406: "REC_NOT_ACCEPTABLE",
    409: "REC_CONFLICT",
    412: "REC_PRECONDITION_FAILED",
    415: "REC_UNSUPPORTED_MEDIA_TYPE",
    422: "REC_UNPROCESSABLE_ENTITY",
    429: "REC_TOO_MANY_REQUESTS",
    500: "REC_SERVER_ERROR",
    501: "REC_NOT_IMPLEMENTED",
}


# The FHIR issue code for an error status when nothing more specific is known.
FHIR_ISSUE_CODES = {
    400: "structure",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    413: "too-long",
    415: "not-supported",
    429: "throttled",
    500: "exception",
}


class FhirError(Exception):
    """Raise from a FHIR view to answer with an OperationOutcome."""

    def __init__(
        self,
        http_status: int,
        code: str,
        diagnostics: str,
        *,
        expression: list[str] | None = None,
        severity: str = "error",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.http_status = http_status
        self.issues = [
            issue(code, diagnostics, http_status=http_status, expression=expression, severity=severity)
        ]
        self.headers = headers or {}

    @classmethod
    def with_issues(cls, http_status: int, issues: list[dict[str, Any]]) -> FhirError:
        error = cls(http_status, issues[0]["code"], issues[0]["diagnostics"])
        error.issues = issues
        return error


def issue(
    code: str,
    diagnostics: str,
    *,
    http_status: int | None = None,
    expression: list[str] | None = None,
    severity: str = "error",
) -> dict[str, Any]:
    entry: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if http_status in HTTP_ERROR_CODE:
        error = HTTP_ERROR_CODE[http_status]
        coding = {"system": HTTP_ERROR_CODES, "code": error, "display": HTTPStatus(http_status).phrase}
        entry["details"] = {"coding": [coding]}
    if expression:
        entry["expression"] = expression
    return entry


def operation_outcome(issues: list[dict[str, Any]]) -> dict[str, Any]:
    """A validated OperationOutcome, as JSON-ready data."""
    outcome = OperationOutcome.model_validate({"resourceType": "OperationOutcome", "issue": issues})
    return outcome.model_dump(mode="json", exclude_none=True)


def from_exception(exc: Exception) -> FhirError:
    """Map DRF's and Django's exceptions to FHIR issue codes and statuses."""
    if isinstance(exc, FhirError):
        return exc
    exc = as_api_exception(exc) or exc
    if isinstance(exc, BodyTooLarge):
        return FhirError(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "too-long", str(exc.detail))
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return FhirError(
            status.HTTP_401_UNAUTHORIZED, "login", str(exc.detail), headers={"WWW-Authenticate": "Token"}
        )
    if isinstance(exc, exceptions.PermissionDenied):
        return FhirError(status.HTTP_403_FORBIDDEN, "forbidden", str(exc.detail))
    if isinstance(exc, exceptions.NotFound | Http404):
        return FhirError(
            status.HTTP_404_NOT_FOUND, "not-found", str(getattr(exc, "detail", exc) or "Not found")
        )
    if isinstance(exc, exceptions.MethodNotAllowed):
        return FhirError(status.HTTP_405_METHOD_NOT_ALLOWED, "not-supported", str(exc.detail))
    if isinstance(exc, exceptions.NotAcceptable):
        return FhirError(status.HTTP_406_NOT_ACCEPTABLE, "not-supported", str(exc.detail))
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return FhirError(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "not-supported",
            f"{exc.detail} Send application/fhir+json.",
        )
    if isinstance(exc, exceptions.ParseError):
        return FhirError(status.HTTP_400_BAD_REQUEST, "structure", str(exc.detail))
    if isinstance(exc, exceptions.Throttled):
        wait = exc.wait or 1
        return FhirError(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "throttled",
            str(exc.detail),
            headers={"Retry-After": str(int(wait + 0.999))},
        )
    if isinstance(exc, exceptions.ValidationError):
        return FhirError(status.HTTP_400_BAD_REQUEST, "invalid", str(exc.detail))
    if isinstance(exc, exceptions.APIException):
        return FhirError(exc.status_code, "processing", str(exc.detail))
    log.exception("Unhandled error in a FHIR endpoint", exc_info=exc)
    return FhirError(
        status.HTTP_500_INTERNAL_SERVER_ERROR,
        "exception",
        "Something went wrong on our side; it has been logged.",
    )
