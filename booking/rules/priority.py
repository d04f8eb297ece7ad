"""How strongly each clinical priority pulls a patient to the front of every queue the hub keeps:
the network allocation, backfill, the clerks' candidates and the simulator."""

from __future__ import annotations

PRIORITY_WEIGHT: dict[str, float] = {"urgent": 8.0, "cancer": 6.0, "soon": 2.0, "routine": 1.0}


def priority_weight(priority: str) -> float:
    return PRIORITY_WEIGHT[str(priority)]
