"""HL7 v2 core of the trust RIS feeds: framing, cleaning, parsing, acknowledging, building SRMs.

Pure Python (no Django): the listener, ingest, handlers and outbox in `wmin.feeds` build on it.

    bytes ─ mllp.MllpDecoder ─▶ payload ─ envelope.clean ─▶ CleanMessage(s) ─ parse.parse_message ─▶
    ParsedMessage(header, body) ─ handlers ─▶ ack.build_ack (AA / AE + ERR) or ack.build_reject (AR)

- `errors`: UnparseableMessage (→ AR) and ContentError with a table 0357 code (→ AE).
- `mllp`: framing and an incremental, resynchronising decoder. No sockets.
- `envelope`: BOMs, stray MLLP bytes, line ends, batches, MSH-18 decoding; notes every repair.
- `model`: frozen dataclasses for what the hub reads (times aware, in UTC).
- `parse`: a fast hand-rolled ER7 reader for the few fields the hub needs (timings in its docstring).
- `ack`: original-mode ACKs as plain strings; `outbound`: SRM^S01/S04 built with hl7apy, replies read.
"""

from .ack import AckError, build_ack, build_reject
from .envelope import CleanMessage, clean
from .errors import ContentError, UnparseableMessage
from .mllp import END_BLOCK, START_BLOCK, FrameTooLarge, MllpDecoder, frame
from .model import (
    AckInfo,
    Code,
    Location,
    MessageHeader,
    OrderEvent,
    ParsedMessage,
    PatientDetails,
    PatientUpdate,
    SlotEvent,
    SlotQuery,
    SlotQueryResponse,
)
from .outbound import BookingRequest, build_srm, parse_reply, parse_srm
from .parse import parse_message, peek_header

__all__ = [
    "END_BLOCK",
    "START_BLOCK",
    "AckError",
    "AckInfo",
    "BookingRequest",
    "CleanMessage",
    "Code",
    "ContentError",
    "FrameTooLarge",
    "Location",
    "MessageHeader",
    "MllpDecoder",
    "OrderEvent",
    "ParsedMessage",
    "PatientDetails",
    "PatientUpdate",
    "SlotEvent",
    "SlotQuery",
    "SlotQueryResponse",
    "UnparseableMessage",
    "build_ack",
    "build_reject",
    "build_srm",
    "clean",
    "frame",
    "parse_message",
    "parse_reply",
    "parse_srm",
    "peek_header",
]
