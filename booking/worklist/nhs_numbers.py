"""NHS numbers as people type them: with or without spaces, checked by their check digit."""

from __future__ import annotations

import re

from nhs_number import calculate_checksum

_SEPARATORS = re.compile(r"[\s-]+")


class InvalidNhsNumber(ValueError):
    """`str(error)` is a plain-English message for the person who typed it."""


def normalise_nhs_number(text: str) -> str:
    """'943 476 5919' or '943-476-5919' -> '9434765919'; raises InvalidNhsNumber if it is not one."""
    digits = _SEPARATORS.sub("", text or "")
    if not digits:
        raise InvalidNhsNumber("Enter an NHS number")
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidNhsNumber("An NHS number contains only numbers, like 943 476 5919")
    if len(digits) != 10:
        raise InvalidNhsNumber(f"An NHS number has 10 digits; you entered {len(digits)}")
    check = calculate_checksum(digits[:9])
    if check == 10 or str(check) != digits[9]:
        raise InvalidNhsNumber(
            "That is not a real NHS number: the last digit does not match the others. Check it for typing mistakes"
        )
    return digits


def format_nhs_number(digits: str) -> str:
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else digits
