"""Checks every FHIR test uses: the media type, and that a body parses with fhir.resources."""

from __future__ import annotations

import json
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

FHIR_JSON = "application/fhir+json"


def fhir(response, status: int = 200) -> dict[str, Any]:
    """The response's resource, after checking status, content type and that it is valid FHIR."""
    body = json.loads(response.content)
    assert response.status_code == status, body
    assert response["Content-Type"].startswith(FHIR_JSON)
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    return body


def outcome(response, status: int, code: str) -> dict[str, Any]:
    body = fhir(response, status)
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code, body
    return body


def matches(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def ids(bundle: dict[str, Any]) -> list[str]:
    return [resource["id"] for resource in matches(bundle)]
