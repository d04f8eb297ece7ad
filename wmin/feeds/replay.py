"""Replaying a stored inbound message once its trust's feed profile (or the hub's data) is fixed.

The raw bytes are checked, parsed and applied again exactly as on arrival; the earlier outcome
(status, error, ACK, when) is appended to the row's `history`, and the new ACK is stored. Nothing is
sent back to the RIS: it had its ACK at the time. A message already applied is not replayed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .handlers.slots import forget_places
from .ingest import Ack, forget_profiles, process_stored
from .models import InboundMessage, InboundStatus

REPLAYABLE = (
    InboundStatus.RECEIVED,
    InboundStatus.REJECTED,
    InboundStatus.CONTENT_ERROR,
    InboundStatus.IGNORED,
)


@dataclass(frozen=True)
class ReplayResult:
    message_id: int
    replayed: bool
    code: str
    status: str
    error: str


def replay(message_id: int, *, by: str = "") -> ReplayResult:
    """Apply a stored message again; the row keeps what happened before in `history`."""
    with transaction.atomic():
        row = InboundMessage.objects.select_for_update().get(pk=message_id)
        if row.status not in REPLAYABLE:
            return ReplayResult(row.pk, False, "", row.status, "Already applied: not replayed")
        if row.message_type == "BATCH":
            return ReplayResult(row.pk, False, "", row.status, "A batch frame: replay its messages, not the frame")
        entry = {
            "replayed_at": timezone.now().isoformat(),
            "by": by[:120],
            "status": row.status,
            "error_code": row.error_code,
            "error": row.error,
            "ack": row.ack,
            "applied_at": row.applied_at.isoformat() if row.applied_at else None,
        }
        InboundMessage.objects.filter(pk=row.pk).update(
            history=[*(row.history or []), entry],
            status=InboundStatus.RECEIVED,
            ack="",
            error="",
            error_code="",
            applied_at=None,
        )
    row.refresh_from_db()
    forget_profiles()  # read the profile as it is now, just fixed
    forget_places()
    ack: Ack = process_stored(row)
    row.refresh_from_db()
    return ReplayResult(row.pk, True, ack.code, row.status, row.error)


def replay_many(message_ids: list[int], *, by: str = "") -> list[ReplayResult]:
    return [replay(message_id, by=by) for message_id in message_ids]
