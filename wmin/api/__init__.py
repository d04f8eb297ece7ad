"""The open API for trusts and partners: REST (with OpenAPI) under /api/, FHIR R4 under /fhir/."""
