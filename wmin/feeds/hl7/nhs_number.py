"""NHS numbers: ten digits, the last a modulus 11 check digit (NHS Data Dictionary)."""

from __future__ import annotations

_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def normalise_nhs_number(value: str) -> str:
    """The digits of an NHS number as sent with spaces or dashes (``943 476 5919`` → ``9434765919``)."""
    return "".join(char for char in value if char not in " -")


def is_valid_nhs_number(value: str) -> bool:
    """True for ten digits whose mod-11 check digit matches (check value 10 is never valid)."""
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value, _WEIGHTS, strict=False))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(value[9])
