"""JSON bodies, read with limits: a body over the size limit is a 413 and one nested deeper than any
resource we accept is a 400, before either can cost memory or blow the parser's stack."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

MAX_DEPTH = 64  # a FHIR Appointment nests about 8 deep; nothing we accept comes near this


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The body is too large."
    default_code = "too_large"


def max_body_bytes() -> int:
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440)


def too_large() -> BodyTooLarge:
    return BodyTooLarge(f"The body is larger than {max_body_bytes():,} bytes, the most this API accepts.")


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _nesting_exceeds(text: str, limit: int) -> bool:
    """Brackets outside strings, counted without parsing: refuse a hostile body before json sees it."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def as_api_exception(exc: BaseException) -> exceptions.APIException | None:
    """What DRF's handler would not recognise, as the client error it is."""
    if isinstance(exc, RequestDataTooBig):
        return too_large()
    if isinstance(exc, RecursionError):
        return exceptions.ParseError("The body is nested too deeply to read.")
    if isinstance(exc, SuspiciousOperation):
        return exceptions.ParseError("The request could not be read.")
    return None


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser with a size and a nesting limit (DRF reads the stream with neither)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = max_body_bytes()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise too_large()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise exceptions.ParseError(f"The body is not {encoding} text.") from exc
        if _nesting_exceeds(text, MAX_DEPTH):
            raise exceptions.ParseError(f"The JSON is nested more than {MAX_DEPTH} levels deep.")
        try:
            data = json.loads(text, parse_constant=_no_constants)
        except ValueError as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}") from exc
        if _depth(data) > MAX_DEPTH:  # belt and braces: the scan above should have caught it
            raise exceptions.ParseError(f"The JSON is nested more than {MAX_DEPTH} levels deep.")
        return data


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
