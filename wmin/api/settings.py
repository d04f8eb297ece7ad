"""The API's own settings. Rates are read on every request, so tests may change them in place."""

from __future__ import annotations

# DRF throttle rates ("<requests>/<second|minute|hour|day>"): per signed-in user or system token,
# and per client address for anonymous callers.
THROTTLE_RATES: dict[str, str] = {
    "api-user": "600/minute",
    "api-anon": "60/minute",
}

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

# How far ahead an availability search may look, and how far from a postcode.
MAX_SEARCH_DAYS = 180
DEFAULT_MAX_KM = 25.0
MAX_KM = 250.0
