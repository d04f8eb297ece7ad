"""The what-if simulator: a seeded discrete-event simulation of the network's waiting lists under
different booking policies, side by side.

    from wmin.simulation.whatif import Policy, load_reference, simulate, synthetic_state
    state = synthetic_state(load_reference(fixtures_dir), seed=1, start=date.today(), scale=0.1)
    outcome = simulate(state, weeks=12, seed=1)

The core (every module but `from_database`) is plain Python and numpy: no Django, and nothing of
the product but its pure parts (booking/rules, booking/optimiser/allocate.py).
- `reference`    the network's fixtures read as plain records;
- `synthetic`    a starting state calibrated to network_facts.md;
- `assumptions`  every behavioural rate, with its reason;
- `population`   the patients (the starting list and each day's referrals), shared by all policies;
- `engine`       the day-by-day event simulation of one policy;
- `runner`       every policy in turn; `results` what comes out, with who waits 6 weeks or more at
                 the last census and why;
- `bound`        how few any policy could leave waiting 6 weeks or more at today's capacity, by
                 the wait since referral and by the DM01 clock (booking/rules/dm01.py);
- `advice`       the extra lists a week that bring that bound below 1 %, from its max flow.
- `from_database` (Django) a starting state from today's database.
"""

from .assumptions import Assumptions
from .policies import Policy
from .reference import load_reference
from .results import SimulationOutcome, csv_rows
from .runner import simulate
from .state import NetworkState
from .synthetic import synthetic_state

__all__ = [
    "Assumptions",
    "NetworkState",
    "Policy",
    "SimulationOutcome",
    "csv_rows",
    "load_reference",
    "simulate",
    "synthetic_state",
]
