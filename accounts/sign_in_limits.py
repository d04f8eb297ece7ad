"""How often a booking reference, a staff username or a client address may fail to sign in.

Each is a *key* with a failure count in the shared cache (Redis when `REDIS_URL` is set, so every
web process and server counts together). A few failures are free; after them each further failure
makes the key wait before the next try, doubling each time up to a cap, and the count is forgotten
a while after the last failure. So:

- a booking reference is limited across every address (the reference and date of birth are the
  whole secret, so guessing from many addresses must not multiply the tries);
- an address is limited across every reference (one address trying 40 references is stopped);
- nobody can lock a patient out for good: the longest wait is the cap, and the patient can still
  sign in once it has passed (with the postcode too, as `second_factor_needed` asks).

A reference's key is a hash: the cache never holds the references people typed. Messages never say
whether a reference exists: keys are counted the same whether or not it does.

If the shared cache cannot be reached (Redis down), each process counts in its own memory until it
can: sign-in stays open to patients and staff, and guesses are still limited, per process, rather
than the page failing or the limits lifting.

Why not django-axes (which this replaced): axes locks a key for a fixed cool-off once it reaches
its limit, so anyone can lock a patient out again every 30 minutes with five tries; it counts in the
database, one row per address and username, rather than in the shared cache; and it has no notion of
"tries left" to warn with or of a second factor after failures.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.utils import timezone

log = logging.getLogger(__name__)
Result = TypeVar("Result")
process_counts = LocMemCache("sign-in-limits-while-the-shared-cache-is-down", {"MAX_ENTRIES": 100_000})
OUTAGE_LOG_SECONDS = 60.0
_last_outage_logged = [0.0]


def on_shared_cache(operation: Callable[[BaseCache], Result]) -> Result:
    """`operation` on the shared cache, or on this process's own counts if that cannot be reached."""
    try:
        return operation(cache)
    except Exception as exc:  # any backend's connection error: the cache is not the record of anything
        now = time.monotonic()
        if now - _last_outage_logged[0] >= OUTAGE_LOG_SECONDS:
            _last_outage_logged[0] = now
            log.warning("sign_in_limits.shared_cache_unreachable", extra={"error": f"{type(exc).__name__}: {exc}"})
        return operation(process_counts)


@dataclass(frozen=True)
class Policy:
    name: str
    free_failures: int  # failures before the first wait
    first_wait: timedelta
    longest_wait: timedelta
    memory: timedelta  # a count is forgotten this long after its last failure

    def wait_after(self, failures: int) -> timedelta:
        if failures < self.free_failures:
            return timedelta(0)
        doublings = min(failures - self.free_failures, 20)
        return min(self.first_wait * (2**doublings), self.longest_wait)


REFERENCE = Policy("reference", 3, timedelta(minutes=1), timedelta(hours=1), timedelta(hours=24))
USERNAME = Policy("username", 5, timedelta(minutes=1), timedelta(hours=1), timedelta(hours=24))
ADDRESS = Policy("address", 10, timedelta(minutes=1), timedelta(hours=1), timedelta(hours=6))
WARN_WHEN_LEFT = 2  # tell the person when this few tries are left before a wait


@dataclass(frozen=True)
class Standing:
    """Where a key stands: its failures, and until when it must wait (if it must)."""

    policy: Policy
    failures: int
    wait_until: datetime | None

    def waiting(self, now: datetime) -> bool:
        return self.wait_until is not None and now < self.wait_until

    def wait_left(self, now: datetime) -> timedelta:
        return max(self.wait_until - now, timedelta(0)) if self.wait_until else timedelta(0)

    @property
    def tries_before_wait(self) -> int:
        """Tries left before a failure makes the key wait (the last of them would)."""
        return max(self.policy.free_failures - self.failures, 0)

    @property
    def second_factor_needed(self) -> bool:
        return self.failures > 0


def reference_key(reference: str) -> str:
    return "ref:" + hashlib.sha256(reference.encode()).hexdigest()[:32]


def username_key(username: str) -> str:
    return "user:" + hashlib.sha256(username.casefold().encode()).hexdigest()[:32]


def address_key(address: str | None) -> str:
    return f"addr:{address or 'unknown'}"


def _cache_keys(policy: Policy, key: str) -> tuple[str, str]:
    base = f"sign-in:{policy.name}:{key}"
    return f"{base}:failures", f"{base}:last"


def standing(policy: Policy, key: str) -> Standing:
    count_key, last_key = _cache_keys(policy, key)
    found: dict[str, Any] = on_shared_cache(lambda store: store.get_many([count_key, last_key]))
    failures = int(found.get(count_key) or 0)
    last = found.get(last_key)
    wait = policy.wait_after(failures)
    wait_until = datetime.fromtimestamp(last, tz=timezone.get_current_timezone()) + wait if last and wait else None
    return Standing(policy, failures, wait_until)


def record_failure(policy: Policy, key: str, *, now: datetime) -> Standing:
    count_key, last_key = _cache_keys(policy, key)
    memory = int(policy.memory.total_seconds())

    def count(store: BaseCache) -> int:
        store.add(count_key, 0, memory)
        try:
            failures = store.incr(count_key)  # atomic in Redis: failures from many servers all count
        except ValueError:  # expired between add and incr
            store.set(count_key, 1, memory)
            failures = 1
        store.touch(count_key, memory)
        store.set(last_key, now.timestamp(), memory)
        return failures

    failures = on_shared_cache(count)
    wait = policy.wait_after(failures)
    return Standing(policy, failures, now + wait if wait else None)


def clear(policy: Policy, key: str) -> None:
    on_shared_cache(lambda store: store.delete_many(list(_cache_keys(policy, key))))


def describe_wait(wait: timedelta) -> str:
    """'1 minute', '8 minutes', '1 hour': how long, in words."""
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    if minutes >= 60 and minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
