"""Default feed profiles: each trust's RIS as the hub first knows it. Admins edit them after."""

from __future__ import annotations

from slots.models import Trust

from .models import FeedProfile, SlotReleaseMode

# The quirks real feeds show (DESIGN.md): some trusts say `Confirmed`, others `Scheduled^^CSI`;
# some cannot send SIU^S23/S24 and are polled with SQM^S25 instead.
_STATUS_MAPS = {
    "confirmed": {"Confirmed": "booked", "Booked": "booked", "Cancelled": "cancelled", "Open": "open", "Blocked": "blocked"},
    "scheduled": {"Scheduled": "booked", "Booked": "booked", "Cancelled": "cancelled", "Open": "open", "Blocked": "blocked"},
}


def default_profile_values(trust: Trust, index: int) -> dict[str, object]:
    mode = [SlotReleaseMode.SIU_S23_S24, SlotReleaseMode.SIU_STATUS, SlotReleaseMode.SQM_POLL][index % 3]
    return {
        "sending_facilities": [trust.ods_code, f"{trust.ods_code}-RIS"],
        "sending_applications": ["RIS"],
        "status_map": _STATUS_MAPS["confirmed" if index % 2 else "scheduled"],
        "exam_code_system": "NICIP",
        "slot_release_mode": mode,
        "ris_host": "127.0.0.1",
        "ris_port": 2600 + index,
        "hl7_version": "2.5.1" if index % 4 else "2.3",
    }


def ensure_default_profiles() -> int:
    created = 0
    for index, trust in enumerate(Trust.objects.order_by("ods_code")):
        _, made = FeedProfile.objects.get_or_create(trust=trust, defaults=default_profile_values(trust, index))
        created += int(made)
    return created
