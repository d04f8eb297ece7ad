"""The FHIR view: application/fhir+json in and out, OperationOutcome for every error, same auth,
rate limits and audit actor as the REST API."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..audit import CallerIsActor
from ..parsers import LimitedJSONParser
from ..permissions import SeesPatientData, TokenScopes
from ..throttling import THROTTLES
from .outcome import FhirError, from_exception, operation_outcome

FHIR_JSON = "application/fhir+json"
JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir"}


class FhirJSONRenderer(BaseRenderer):
    media_type = FHIR_JSON
    format = "json"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class FhirJSONParser(LimitedJSONParser):
    media_type = FHIR_JSON


class LegacyFhirJSONParser(LimitedJSONParser):
    media_type = "application/json+fhir"


class JSONPatchParser(LimitedJSONParser):
    media_type = "application/json-patch+json"


class FhirNegotiation(DefaultContentNegotiation):
    """We speak JSON only. Asking for XML alone, or a `_format` other than JSON, is 406."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ):
        wanted = request.query_params.get("_format")
        if wanted is not None and wanted.replace(" ", "+") not in JSON_FORMATS:
            raise exceptions.NotAcceptable(
                f"_format={wanted} is not supported; this server speaks JSON only."
            )
        accept = request.META.get("HTTP_ACCEPT", "")
        if "xml" in accept and "json" not in accept and "*/*" not in accept:
            raise exceptions.NotAcceptable("This server speaks application/fhir+json only.")
        return renderers[0], renderers[0].media_type


class FhirView(CallerIsActor, APIView):
    schema = None  # not in the OpenAPI schema; FHIR describes itself at /fhir/metadata
    renderer_classes = [FhirJSONRenderer]
    parser_classes = [FhirJSONParser, LegacyFhirJSONParser, LimitedJSONParser]
    content_negotiation_class = FhirNegotiation
    throttle_classes = THROTTLES
    permission_classes = [SeesPatientData, TokenScopes]

    def handle_exception(self, exc: Exception) -> Response:
        unauthenticated = isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed)
        if unauthenticated and not self.get_authenticate_header(self.request):
            exc = exceptions.PermissionDenied(str(exc.detail))
        if isinstance(exc, exceptions.NotAcceptable):
            # Negotiation failed, so no renderer was chosen yet: use ours anyway.
            self.request.accepted_renderer, self.request.accepted_media_type = FhirJSONRenderer(), FHIR_JSON
        error = from_exception(exc)
        response = Response(operation_outcome(error.issues), status=error.http_status, headers=error.headers)
        response.exception = True
        return response


def fhir_response(
    resource: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(resource, status=status, headers=headers, content_type=f"{FHIR_JSON}; charset=utf-8")


__all__ = ["FHIR_JSON", "FhirError", "FhirView", "JSONPatchParser", "fhir_response"]
