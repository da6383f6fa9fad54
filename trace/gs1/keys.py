"""GS1 identification keys: mod-10 check digits, GTIN, GLN, lot and serial numbers."""

from __future__ import annotations

import string

__all__ = [
    "CSET82",
    "GS1KeyError",
    "check_digit",
    "has_valid_check_digit",
    "normalize_gtin",
    "validate_gln",
    "validate_lot",
    "validate_serial",
]

#: GS1 AI encodable character set 82 (GS1 General Specifications, figure 7.11-1).
CSET82: frozenset[str] = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)

GTIN_LENGTHS = (8, 12, 13, 14)


class GS1KeyError(ValueError):
    """A GS1 key or attribute value that does not meet the GS1 rules."""


def _is_digits(value: str) -> bool:
    # str.isdigit() accepts non-ASCII digits such as "٣"; GS1 keys are ASCII only.
    return bool(value) and all(c in string.digits for c in value)


def check_digit(body: str) -> str:
    """Return the GS1 mod-10 check digit for ``body`` (the digits before the check digit).

    Weights 3, 1, 3, 1, ... apply from the rightmost digit leftwards, so the same function
    serves GTIN-8/12/13/14, GLN, SSCC, GSRN and the keys whose first digits carry a check digit.
    """
    if not _is_digits(body):
        raise GS1KeyError("check digit needs a non-empty string of digits")
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def has_valid_check_digit(digits: str) -> bool:
    """True when ``digits`` (at least 2 digits) ends in its correct mod-10 check digit."""
    if len(digits) < 2 or not _is_digits(digits):
        return False
    return check_digit(digits[:-1]) == digits[-1]


def _check(kind: str, digits: str) -> None:
    expected = check_digit(digits[:-1])
    if digits[-1] != expected:
        raise GS1KeyError(f"{kind} check digit is wrong: expected {expected}")


def normalize_gtin(value: str) -> str:
    """Validate a GTIN-8, -12, -13 or -14 and return it as GTIN-14 (left-padded with zeros)."""
    if not isinstance(value, str) or not _is_digits(value):
        raise GS1KeyError("GTIN must contain digits only")
    if len(value) not in GTIN_LENGTHS:
        raise GS1KeyError("GTIN must have 8, 12, 13 or 14 digits")
    _check("GTIN", value)
    return value.rjust(14, "0")


def validate_gln(value: str) -> str:
    """Validate a GLN (13 digits with a correct check digit) and return it."""
    if not isinstance(value, str) or not _is_digits(value):
        raise GS1KeyError("GLN must contain digits only")
    if len(value) != 13:
        raise GS1KeyError("GLN must have 13 digits")
    _check("GLN", value)
    return value


def validate_cset82(value: str, label: str, max_length: int, min_length: int = 1) -> str:
    """Check that ``value`` is ``min_length..max_length`` characters of CSET82, naming any fault."""
    if not isinstance(value, str):
        raise GS1KeyError(f"{label} must be a string")
    if not min_length <= len(value) <= max_length:
        raise GS1KeyError(
            f"{label} must have {min_length} to {max_length} characters, not {len(value)}"
        )
    for position, char in enumerate(value, start=1):
        if char not in CSET82:
            raise GS1KeyError(
                f"{label} has a character GS1 does not allow at position {position}: {char!r}"
                " (allowed: A-Z a-z 0-9 and ! \" % & ' ( ) * + , - . / : ; < = > ? _)"
            )
    return value


def validate_lot(value: str) -> str:
    """Validate a batch/lot number (AI 10): 1 to 20 characters of CSET82."""
    return validate_cset82(value, "Lot number", 20)


def validate_serial(value: str) -> str:
    """Validate a serial number (AI 21): 1 to 20 characters of CSET82."""
    return validate_cset82(value, "Serial number", 20)
