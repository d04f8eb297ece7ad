"""SQM^S25 / SQR^S25: polling a RIS that cannot push its released slots.

A periodic task (`wmin.feeds.tasks.poll_ris_slots`) sends each SQM_POLL trust's RIS an SQM^S25 for
the next POLL_WEEKS weeks; the SQR^S25 it answers goes through ingest like any inbound message
(stored raw first, keyed, acknowledged into the row) and here each SCH block becomes an open pool
slot, by the same version rule as SIU (a mapped SCH-25 of booked/blocked/cancelled is honoured).
An SQR may also arrive unsolicited on the listener; it is applied the same way.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from wmin.feeds.models import FeedProfile, SlotReleaseMode

from . import FeedContext, Outcome, bodies
from .slots import OPENED, apply_event, mapped_status

if TYPE_CHECKING:
    from wmin.feeds.hl7.model import ParsedMessage

log = logging.getLogger(__name__)

POLL_WEEKS = 6


def handle(parsed: ParsedMessage, ctx: FeedContext) -> Outcome:
    applied = 0
    notes = []
    for response in bodies(parsed):
        status = (getattr(response, "query_status", "") or "").upper()
        if status in ("AE", "AR"):
            notes.append(f"the RIS could not answer the query ({status})")
            continue
        for event in response.slots:
            action = mapped_status(ctx.profile.status_map, event.status_code, event.status_text) or OPENED
            outcome = apply_event(event, ctx, action=action)
            applied += int(outcome.applied)
            if outcome.note:
                notes.append(outcome.note)
    if not applied and not notes:
        notes.append("no slots in the response")
    return Outcome(applied > 0, "; ".join(notes))


def build_sqm(profile: FeedProfile, *, control_id: str, now: datetime, weeks: int = POLL_WEEKS) -> str:
    """An original-mode SQM^S25 asking the trust's RIS for its open slots from now for `weeks` weeks."""
    stamp = _hl7_time(now)
    until = _hl7_time(now + timedelta(weeks=weeks))
    facilities = list(profile.sending_facilities or []) or [profile.trust.ods_code]
    applications = list(profile.sending_applications or []) or ["RIS"]
    version = profile.hl7_version or "2.5.1"
    segments = [
        f"MSH|^~\\&|{settings.HUB_APPLICATION}|{settings.HUB_FACILITY}|{applications[0]}|{facilities[0]}|{stamp}||"
        f"SQM^S25^SQM_S25|{control_id}|P|{version}",
        f"QRD|{stamp}|R|I|{control_id}|||500^RD|{facilities[0]}|APT^Open slots|{facilities[0]}",
        f"QRF|{facilities[0]}|{stamp}|{until}",
        f"ARQ|{control_id}||||||Open",
    ]
    return "\r".join(segments) + "\r"


def poll(profile_id: int, *, now: datetime | None = None) -> str:
    """Ask one trust's RIS for its open slots and ingest the answer; what happened, in words."""
    from wmin.feeds.ingest import receive_frame
    from wmin.feeds.outbox import exchange, new_control_id

    profile = FeedProfile.objects.select_related("trust").get(pk=profile_id)
    if not profile.active or profile.slot_release_mode != SlotReleaseMode.SQM_POLL:
        return "not polled"
    if not profile.ris_host or not profile.ris_port:
        return "no RIS address"
    now = now or timezone.now()
    query = build_sqm(profile, control_id=new_control_id(), now=now)
    try:
        reply = exchange(profile.ris_host, int(profile.ris_port), query.encode("utf-8"))
    except Exception as exc:
        log.warning("hl7.poll_failed", extra={"trust": profile.trust.ods_code, "error": str(exc)})
        return f"failed: {exc}"
    acks = receive_frame(reply, peer=f"{profile.ris_host}:{profile.ris_port}")
    return ", ".join(a.code for a in acks)


def _hl7_time(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y%m%d%H%M%S")
