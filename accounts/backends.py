"""What sign-in shares with the patient backend: how references and postcodes are compared.
The patient backend itself is `booking.patient_sign_in` (it reads referrals)."""

from __future__ import annotations


def normalise_reference(reference: str) -> str:
    return "".join(reference.split()).upper()


def normalise_postcode(postcode: str) -> str:
    return "".join(postcode.split()).upper()
