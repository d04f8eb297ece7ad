"""The two ways an inbound message fails, and the HL7 table 0357 codes that describe them.

- `UnparseableMessage`: the bytes are not an HL7 message we can read at all (no MSH, no separators).
  The listener answers AR.
- `ContentError`: the message is HL7, but its content is wrong or not for us. The listener answers
  AE with an ERR segment carrying `.code` (table 0357) and `.location` (e.g. ``PID^1^3``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import MessageHeader

# HL7 table 0357 (message error condition codes) used by the hub.
SEGMENT_SEQUENCE_ERROR = "100"
REQUIRED_FIELD_MISSING = "101"
DATA_TYPE_ERROR = "102"
TABLE_VALUE_NOT_FOUND = "103"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNSUPPORTED_EVENT_CODE = "201"
UNSUPPORTED_PROCESSING_ID = "202"
UNSUPPORTED_VERSION_ID = "203"
UNKNOWN_KEY_IDENTIFIER = "204"
APPLICATION_INTERNAL_ERROR = "207"

ERROR_CODE_TEXT: dict[str, str] = {
    "0": "Message accepted",
    SEGMENT_SEQUENCE_ERROR: "Segment sequence error",
    REQUIRED_FIELD_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    TABLE_VALUE_NOT_FOUND: "Table value not found",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    UNSUPPORTED_EVENT_CODE: "Unsupported event code",
    UNSUPPORTED_PROCESSING_ID: "Unsupported processing id",
    UNSUPPORTED_VERSION_ID: "Unsupported version id",
    UNKNOWN_KEY_IDENTIFIER: "Unknown key identifier",
    "205": "Duplicate key identifier",
    "206": "Application record locked",
    APPLICATION_INTERNAL_ERROR: "Application internal error",
}


class UnparseableMessage(Exception):
    """The payload cannot be read as HL7 (→ AR). `header` is set when the MSH could still be read."""

    def __init__(self, reason: str, header: MessageHeader | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.header = header


class ContentError(Exception):
    """The message is readable but its content is wrong (→ AE with ERR `code`^`reason` at `location`)."""

    def __init__(self, code: str, reason: str, location: str = "") -> None:
        super().__init__(f"{code} {reason}" + (f" at {location}" if location else ""))
        self.code = code
        self.reason = reason
        self.location = location
