"""drf-spectacular settings for our schema, applied per view (the project settings stay generic)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularAPIView

SCHEMA_SETTINGS = {
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",
    "SCHEMA_PATH_PREFIX_TRIM": False,
    "SERVERS": [],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "wmin.api.schema.add_error_responses",
    ],
    "TAGS": [
        {"name": "sites", "description": "The network's imaging sites (public)"},
        {"name": "availability", "description": "Open slots in the network pool"},
        {"name": "referrals", "description": "The waiting list, as your role may see it"},
        {"name": "offers", "description": "Slots offered to patients"},
        {"name": "bookings", "description": "Book a pool slot for a referral; cancel"},
    ],
    "DESCRIPTION": (
        "Sites, availability, referrals, offers and bookings across the West Midlands Imaging Network.\n\n"
        "Authenticate with `Authorization: Token <key>`. An administrator issues each token with a name, "
        "scopes (`read` for every GET; `book` to book and answer offers; `cancel` to cancel), the trust it "
        "acts for and an expiry, and can rotate or revoke it; the key is shown once. Within its scopes a "
        "token sees what its user's role sees: a patient their own referrals; a clerk "
        "or integration system their own trust's patients and the network's pool slots; a network manager "
        "no patient data (403); an administrator everything. Rate limits answer 429 with Retry-After.\n\n"
        "FHIR R4 (UK Core, BaRS-shaped) Slot, Schedule, HealthcareService, Location and Appointment "
        "endpoints are at /fhir/; their CapabilityStatement is at /fhir/metadata."
    ),
}


ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Each invalid parameter or field with its messages",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}


REQUEST_ID = {
    "name": "X-Request-ID",
    "in": "header",
    "required": False,
    "description": (
        "Your id for the request, echoed back and kept in the audit trail. Up to 36 letters, digits and "
        ". _ : -; anything else is replaced with a fresh UUID."
    ),
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,36}$"},
}


def _error(description: str, ref: str = "Error") -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Document the errors every endpoint can answer with, in DRF's shapes."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR
    schemas["FieldErrors"] = FIELD_ERRORS
    schemas["BadRequest"] = {
        "anyOf": [{"$ref": "#/components/schemas/Error"}, {"$ref": "#/components/schemas/FieldErrors"}]
    }
    for item in result.get("paths", {}).values():
        for operation in item.values():
            operation.setdefault("parameters", []).append(REQUEST_ID)
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                responses.setdefault("413", _error("The body is larger than the API accepts"))
                responses.setdefault("415", _error("The body is not application/json"))
            responses.setdefault(
                "400", _error("A parameter or the body is invalid; each message names it", "BadRequest")
            )
            if operation.get("security"):
                responses.setdefault("401", _error("No token, or an unknown one"))
                responses.setdefault("403", _error("Your role may not use this endpoint"))
            responses.setdefault("404", _error("No such object in your scope, or no such page"))
            responses.setdefault(
                "429", _error("Rate limit reached; retry after the Retry-After header's seconds")
            )
    return result


@extend_schema_view(get=extend_schema(exclude=True))
class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema (YAML, or JSON with ?format=json); public, not listed in itself."""

    custom_settings = SCHEMA_SETTINGS
