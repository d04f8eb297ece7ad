"""One-time sign-in codes: the second factor for a patient who cannot give the postcode we hold.

After failures on a booking reference, sign-in asks for the postcode too (`sign_in_limits`). A
patient with no postcode on their record, or who has moved, asks for a code instead: booking sends
it by email or text message (`booking.patient_sign_in.send_sign_in_code`) and it is checked here.

A code is six digits, lives `CODE_MINUTES`, may be tried `CODE_TRIES` times, and only the newest code
for a reference works. The shared cache holds a salted hash of it under the reference's hash, never
the code or the reference. At most `SENDS_PER_HOUR` codes go to one reference an hour, so nobody can
flood a patient's phone. Wrong codes also count as failed sign-ins (`accounts.sign_in`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.conf import settings
from django.utils import timezone

from .sign_in_limits import on_shared_cache, reference_key

CODE_MINUTES = 10
CODE_TRIES = 5
SENDS_PER_HOUR = 3


def _code_key(reference: str) -> str:
    return f"sign-in-code:{reference_key(reference)}"


def _sends_key(reference: str) -> str:
    return f"sign-in-code-sends:{reference_key(reference)}"


def _digest(reference: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{reference}:{code}".encode(), hashlib.sha256).hexdigest()


def may_send(reference: str) -> bool:
    """Whether another code may go to this reference this hour."""
    return int(on_shared_cache(lambda c: c.get(_sends_key(reference), 0))) < SENDS_PER_HOUR


def issue_code(reference: str) -> str | None:
    """A new code for this reference (the old one stops working), or None past the hourly limit."""
    if not may_send(reference):
        return None
    sends_key = _sends_key(reference)
    on_shared_cache(lambda c: c.add(sends_key, 0, timeout=3600))
    on_shared_cache(lambda c: c.incr(sends_key))
    code = f"{secrets.randbelow(10**6):06d}"
    expires = timezone.now().timestamp() + CODE_MINUTES * 60  # checked too: the cache's own expiry is a clean-up
    stored = {"digest": _digest(reference, code), "tries": 0, "expires": expires}
    on_shared_cache(lambda c: c.set(_code_key(reference), stored, timeout=CODE_MINUTES * 60))
    return code


def check_code(reference: str, code: str) -> bool:
    """True once for the right code within its time and tries; the code is then used up."""
    key = _code_key(reference)
    stored: dict[str, Any] | None = on_shared_cache(lambda c: c.get(key))
    if not stored or stored["tries"] >= CODE_TRIES or timezone.now().timestamp() > stored["expires"]:
        return False
    if hmac.compare_digest(stored["digest"], _digest(reference, code.strip())):
        on_shared_cache(lambda c: c.delete(key))
        return True
    stored["tries"] += 1
    on_shared_cache(lambda c: c.set(key, stored, timeout=CODE_MINUTES * 60))
    return False
