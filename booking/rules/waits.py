"""Wait standards. A wait is counted in whole days since its clock started; "over 6 weeks" means
6 weeks or more (42 days or more), as the national diagnostics return (DM01) counts it.
"""

from __future__ import annotations

SIX_WEEKS_DAYS = 42
THIRTEEN_WEEKS_DAYS = 91
# The clerks' worklist warns this many days before a patient reaches 6 weeks.
BREACH_WARNING_DAYS = 7


def over_six_weeks(days_waited: int) -> bool:
    return days_waited >= SIX_WEEKS_DAYS


def over_thirteen_weeks(days_waited: int) -> bool:
    return days_waited >= THIRTEEN_WEEKS_DAYS
