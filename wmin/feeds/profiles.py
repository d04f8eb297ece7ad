"""The demo's feed profiles: each trust's RIS as the hub first knows it, on this machine.

Every trust's RIS is the simulated one `make demo` runs (`simulate_ris --listen-srm`): it sends from
this machine, so the profiles admit loopback only, and it listens on DEMO_RIS_PORT_BASE + n.
"""

from __future__ import annotations

from django.conf import settings

from slots.models import Trust

from .models import FeedProfile, SlotReleaseMode

DEMO_RIS_HOST = "127.0.0.1"
DEMO_RIS_SENDERS = ["127.0.0.1", "::1"]
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
        "allowed_hosts": list(DEMO_RIS_SENDERS),
        "status_map": _STATUS_MAPS["confirmed" if index % 2 else "scheduled"],
        "exam_code_system": "NICIP",
        "slot_release_mode": mode,
        "ris_host": DEMO_RIS_HOST,
        "ris_port": settings.DEMO_RIS_PORT_BASE + index,
        "hl7_version": "2.5.1" if index % 4 else "2.3",
    }


def ensure_default_profiles() -> int:
    """A profile for every trust without one. Profiles whose RIS is the simulated one on this machine
    follow DEMO_RIS_PORT_BASE, and admit this machine if they list no sender yet (profiles are closed
    by default). Returns how many were created."""
    created = 0
    for index, trust in enumerate(Trust.objects.order_by("ods_code")):
        values = default_profile_values(trust, index)
        profile, made = FeedProfile.objects.get_or_create(trust=trust, defaults=values)
        created += int(made)
        if made or profile.ris_host != DEMO_RIS_HOST:
            continue
        changes = {"ris_port": values["ris_port"]}
        if not profile.allowed_hosts:
            changes["allowed_hosts"] = values["allowed_hosts"]
        FeedProfile.objects.filter(pk=profile.pk).update(**changes)
    return created
