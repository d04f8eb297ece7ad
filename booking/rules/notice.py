"""How much notice a patient needs before a slot, for every path that proposes or books one.

- Hospital transport has to be arranged: 48 hours, whatever else applies.
- A patient who opted in to short-notice offers may be offered a freed slot 4 hours ahead; the
  opt-in counts only for offers of freed slots (backfill, chains, a clerk filling a gap), not for
  the patient's own choice or the network allocation, which plan days ahead.
- Everyone else: 24 hours.
- Preparation (fasting, a bowel prep, a medication change) needs its lead days, if longer.
"""

from __future__ import annotations

import math

SHORT_NOTICE_HOURS = 4.0
STANDARD_NOTICE_HOURS = 24.0
HOSPITAL_TRANSPORT_NOTICE_HOURS = 48.0
HOSPITAL_TRANSPORT = "hospital_transport"


def minimum_notice_hours(*, travel_mode: str, preparation_lead_days: int, short_notice_opt_in: bool = False) -> float:
    if str(travel_mode) == HOSPITAL_TRANSPORT:
        base = HOSPITAL_TRANSPORT_NOTICE_HOURS
    elif short_notice_opt_in:
        base = SHORT_NOTICE_HOURS
    else:
        base = STANDARD_NOTICE_HOURS
    return max(base, preparation_lead_days * 24.0)


def minimum_notice_days(*, travel_mode: str, preparation_lead_days: int) -> int:
    """Whole days ahead that a slot planned in days (the network allocation) must be."""
    return math.ceil(minimum_notice_hours(travel_mode=travel_mode, preparation_lead_days=preparation_lead_days) / 24.0)
