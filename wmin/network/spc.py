"""Statistical process control in the NHS "Making Data Count" style (an XmR chart).

- The centre line is the mean of the points.
- The process limits are mean +/- 2.66 x the mean moving range (the mean absolute difference between
  consecutive points).
- A point is special cause when any of these rules holds:
  1. it lies outside a process limit (`outside_limits`);
  2. it is one of a run of 7 or more consecutive points on the same side of the mean (`shift`);
     a point exactly on the mean breaks a run;
  3. it is one of 6 or more consecutive points each higher (or each lower) than the one before
     (`trend`); two equal consecutive points break a trend.
- Special cause is an improvement or a concern depending on which way is better for the measure
  (for waits, lower is better); everything else is common cause.

Pure Python: no Django, no numpy, so it is easy to test on crafted series.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

LIMIT_FACTOR = 2.66
SHIFT_LENGTH = 7
TREND_LENGTH = 6


class Better(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"
    NEITHER = "neither"


class Variation(StrEnum):
    COMMON = "common"
    IMPROVEMENT = "improvement"
    CONCERN = "concern"
    NEITHER = "neither"  # special cause where no direction is better


@dataclass(frozen=True)
class SpcPoint:
    index: int
    value: float
    outside_limits: bool
    shift: bool
    trend: bool
    variation: Variation

    @property
    def special_cause(self) -> bool:
        return self.outside_limits or self.shift or self.trend

    @property
    def rules(self) -> list[str]:
        names = {
            "outside_limits": "outside the process limits",
            "shift": "a run of 7 on one side",
            "trend": "a trend of 6",
        }
        return [text for rule, text in names.items() if getattr(self, rule)]


@dataclass(frozen=True)
class SpcResult:
    points: list[SpcPoint]
    mean: float
    mean_moving_range: float
    upper_limit: float
    lower_limit: float

    @property
    def special_cause_count(self) -> int:
        return sum(1 for p in self.points if p.special_cause)

    @property
    def latest_variation(self) -> Variation:
        return self.points[-1].variation if self.points else Variation.COMMON


def analyse(values: Sequence[float], better: Better = Better.LOWER) -> SpcResult:
    """Mean, limits and special-cause flags for a series, in the order given (oldest first)."""
    values = [float(v) for v in values]
    if not values:
        return SpcResult([], 0.0, 0.0, 0.0, 0.0)
    mean = sum(values) / len(values)
    moving_ranges = [abs(b - a) for a, b in itertools.pairwise(values)]
    mean_moving_range = sum(moving_ranges) / len(moving_ranges) if moving_ranges else 0.0
    upper, lower = mean + LIMIT_FACTOR * mean_moving_range, mean - LIMIT_FACTOR * mean_moving_range

    outside = [v > upper or v < lower for v in values] if moving_ranges else [False] * len(values)
    shift = _runs(_sides(values, mean), SHIFT_LENGTH)
    trend = _trend_directions(values)
    points = []
    for i, value in enumerate(values):
        variation = Variation.COMMON
        if outside[i] or shift[i] or trend[i]:
            variation = _direction(value, mean, outside[i] or shift[i], trend[i], better)
        points.append(SpcPoint(i, value, outside[i], shift[i], bool(trend[i]), variation))
    return SpcResult(points, mean, mean_moving_range, upper, lower)


def _sides(values: Sequence[float], mean: float) -> list[int]:
    return [1 if v > mean else -1 if v < mean else 0 for v in values]


def _runs(signs: Sequence[int], length: int) -> list[bool]:
    """Flag every member of a run of at least `length` equal non-zero signs."""
    flags = [False] * len(signs)
    start = 0
    for i in range(1, len(signs) + 1):
        if i == len(signs) or signs[i] != signs[start]:
            if signs[start] != 0 and i - start >= length:
                for j in range(start, i):
                    flags[j] = True
            start = i
    return flags


def _trend_directions(values: Sequence[float]) -> list[int]:
    """+1 or -1 for every point of TREND_LENGTH or more points each rising (or each falling), else 0."""
    steps = [1 if b > a else -1 if b < a else 0 for a, b in itertools.pairwise(values)]
    # TREND_LENGTH points make TREND_LENGTH - 1 steps in the same direction.
    step_flags = _runs(steps, TREND_LENGTH - 1)
    directions = [0] * len(values)
    for i, flagged in enumerate(step_flags):
        if flagged:
            directions[i] = directions[i + 1] = steps[i]
    return directions


def _direction(
    value: float, mean: float, outside_or_shift: bool, trend_direction: int, better: Better
) -> Variation:
    if better == Better.NEITHER:
        return Variation.NEITHER
    high = value > mean if outside_or_shift else trend_direction > 0
    good = high if better == Better.HIGHER else not high
    return Variation.IMPROVEMENT if good else Variation.CONCERN
