"""Path converters: ids the database can hold, so an absurd id is a 404, not an overflow."""

from __future__ import annotations


class ObjectId:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class FhirId:
    """FHIR's id type: 1-64 of A-Z a-z 0-9 - ."""

    regex = "[A-Za-z0-9.-]{1,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
