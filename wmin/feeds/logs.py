"""Structured log lines a hostile or broken client cannot turn into a flood.

`RateLimitedLog.warning("hl7.connection_refused", key=host, reason="host_cap")` writes at most one
line per event and key each `interval` seconds; the next line written says how many were held back
in between (`suppressed`), so nothing is silently lost from the count. The fields go in `extra`, which
the JSON formatter writes out as keys.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable

DEFAULT_INTERVAL_SECONDS = 60.0
MAX_KEYS = 10_000  # past this many distinct keys in one interval, they share one line

_every: weakref.WeakSet[RateLimitedLog] = weakref.WeakSet()


def forget_rate_limits() -> None:
    """Every limiter starts afresh (tests: one test's lines do not hold back the next one's)."""
    for limited in list(_every):
        with limited._lock:
            limited._last.clear()


class RateLimitedLog:
    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval: float = DEFAULT_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.clock = clock
        self._last: dict[tuple[str, str], tuple[float, int]] = {}  # (event, key) → (written at, held back)
        self._lock = threading.Lock()
        _every.add(self)

    def warning(self, event: str, *, key: str = "", exc_info: bool = False, **fields: object) -> bool:
        return self.log(logging.WARNING, event, key=key, exc_info=exc_info, **fields)

    def info(self, event: str, *, key: str = "", **fields: object) -> bool:
        return self.log(logging.INFO, event, key=key, **fields)

    def log(self, level: int, event: str, *, key: str = "", exc_info: bool = False, **fields: object) -> bool:
        """Write the line unless one for this event and key went out less than `interval` ago."""
        now = self.clock()
        with self._lock:
            if len(self._last) >= MAX_KEYS and (event, key) not in self._last:
                self._forget_older_than(now - self.interval)
                if len(self._last) >= MAX_KEYS:
                    key = "*"  # too many distinct keys at once: one line stands for them all
            written_at, held_back = self._last.get((event, key), (float("-inf"), 0))
            if now - written_at < self.interval:
                self._last[(event, key)] = (written_at, held_back + 1)
                return False
            self._last[(event, key)] = (now, 0)
        self.logger.log(level, event, extra={**fields, "suppressed": held_back}, exc_info=exc_info)
        return True

    def _forget_older_than(self, moment: float) -> None:
        for entry, (written_at, held_back) in list(self._last.items()):
            if written_at < moment and not held_back:
                del self._last[entry]
