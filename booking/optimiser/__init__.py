"""The optimiser: turns released slots and the waiting list into choices, offers and moves.

Pure core (no Django, numpy in, dataclasses out), one module per question the hub asks:

- `travel`    how far and how long from a patient's postcode district to a site, by travel mode.
- `shortlist` for one referral, the best few slots per site, ranked by travel and days to the slot.
- `allocate`  for the whole network, which waiting patient to offer which site-day (min-cost flow),
              with the LP bound, a greedy baseline and the wait figures the dashboards show.
- `backfill`  for one freed slot, whom to offer it to first.
- `chains`    for one freed slot, the best chain of booked patients moving earlier (CP-SAT).

`services` loads rows into the core for allocation and backfill and records what the core proposes
(offers, never bookings). The shortlist's database side is `booking.services.choices`, the one path
that the patient's choice page and the clerk's shortlist share.
"""
