"""How likely a booked patient is not to attend (DNA): the gap backfill can fill if found in time.

Pure functions, no Django. A patient's probability is the posterior mean of a beta prior centred
on the network's recent DNA rate for the modality (worth PRIOR_APPOINTMENTS appointments), updated
by their own record: a first-time patient gets the modality's rate; three DNAs in four
appointments gets far more. Deliberately simple and explainable: the hub uses it only to ask a
patient to confirm or release their slot, never to cancel or double-book on its own.
"""

from __future__ import annotations

PRIOR_APPOINTMENTS = 4.0
DEFAULT_RATE = 0.06  # when a modality has no recent history: about the network's DM01 DNA rate


def dna_probability(prior_dnas: int, prior_attended: int, modality_rate: float | None) -> float:
    rate = DEFAULT_RATE if modality_rate is None else min(max(modality_rate, 0.0), 1.0)
    alpha = rate * PRIOR_APPOINTMENTS
    beta = (1.0 - rate) * PRIOR_APPOINTMENTS
    return (prior_dnas + alpha) / (prior_dnas + prior_attended + alpha + beta)


def modality_rate(did_not_attend: int, attended: int) -> float | None:
    seen = did_not_attend + attended
    return did_not_attend / seen if seen else None
