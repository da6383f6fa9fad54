"""Unit and batch codes: Crockford base32 with a mod-37 check character.

A code is 13 data characters (65 random bits from :mod:`secrets`) followed by one check
character, e.g. ``7K3M9Q2W8H4XTJ``. The check is Crockford's: the data value modulo 37, written
with the alphabet ``0-9 A-Z`` (no I, L, O, U) followed by the check-only symbols ``* ~ $ = U``.
Because 37 is prime, every single-character substitution and every adjacent transposition
changes the remainder, so such typos are always caught.

The symbols ``* ~ $ =`` are awkward in a printed URL and outside GS1 Digital Link's character
set 82 (``~`` and ``$``) and the QR alphanumeric set (``~`` and ``=``). :func:`new_unit_code`
therefore only *issues* codes whose check value is 0-31 or 36 (``U``): a draw that lands on
32-35 is simply redrawn. That costs log2(37/33) ≈ 0.17 bit of the 65, leaving more than 64 bits,
and every issued code stays a standard Crockford code that any mod-37 validator accepts. Issued
codes are upper case and use only ``0-9 A-Z``, so they are URL-safe and fit QR alphanumeric
mode, which keeps the QR symbol small.
"""

from __future__ import annotations

import secrets

__all__ = [
    "CHECK_ALPHABET",
    "CODE_DATA_LENGTH",
    "CROCKFORD_ALPHABET",
    "CodeError",
    "check_char",
    "is_valid_code",
    "new_unit_code",
    "normalize_code",
    "split_code",
]

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_ALPHABET = CROCKFORD_ALPHABET + "*~$=U"
CODE_DATA_LENGTH = 13
_DATA_BITS = 5 * CODE_DATA_LENGTH  # 65 bits
_VALUES = {ch: i for i, ch in enumerate(CROCKFORD_ALPHABET)}
_CHECK_VALUES = {ch: i for i, ch in enumerate(CHECK_ALPHABET)}
# Crockford decoding aliases: O reads as 0, I and L read as 1.
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_STRIP = str.maketrans("", "", "- \t\r\n")
# Check values we never issue (``* ~ $ =``), see the module docstring.
_AVOIDED_CHECK_VALUES = frozenset({32, 33, 34, 35})


class CodeError(ValueError):
    """A code is malformed or fails its check character."""


def _value(data: str) -> int:
    value = 0
    for ch in data:
        try:
            value = (value << 5) | _VALUES[ch]
        except KeyError:
            raise CodeError(f"invalid character {ch!r} in code") from None
    return value


def check_char(data: str) -> str:
    """Return the Crockford mod-37 check character for normalised ``data`` characters."""
    return CHECK_ALPHABET[_value(data) % 37]


def new_unit_code() -> str:
    """Return a fresh, unguessable code: 13 Crockford base32 characters plus a check character."""
    while True:
        value = secrets.randbits(_DATA_BITS)
        check = value % 37
        if check not in _AVOIDED_CHECK_VALUES:
            break
    chars = []
    for _ in range(CODE_DATA_LENGTH):
        chars.append(CROCKFORD_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars)) + CHECK_ALPHABET[check]


def normalize_code(text: str) -> str:
    """Normalise a typed or scanned code: upper case, no hyphens or spaces, O→0, I/L→1.

    Raises :class:`CodeError` for characters outside Crockford base32 (the check-only symbols
    are accepted in the last position).
    """
    if not isinstance(text, str):
        raise CodeError("code must be a string")
    code = text.translate(_STRIP).upper()
    if not code:
        raise CodeError("empty code")
    data, check = code[:-1].translate(_ALIASES), code[-1]
    if check not in _CHECK_VALUES:
        check = check.translate(_ALIASES)
    for ch in data:
        if ch not in _VALUES:
            raise CodeError(f"invalid character {ch!r} in code")
    if check not in _CHECK_VALUES:
        raise CodeError(f"invalid check character {check!r} in code")
    return data + check


def split_code(text: str) -> tuple[str, str]:
    """Normalise ``text`` and return its ``(data, check)`` parts."""
    code = normalize_code(text)
    return code[:-1], code[-1]


def is_valid_code(text: str) -> bool:
    """True when ``text`` normalises to a code of the issued length whose check matches."""
    try:
        data, check = split_code(text)
    except CodeError:
        return False
    if len(data) != CODE_DATA_LENGTH:
        return False
    return _value(data) % 37 == _CHECK_VALUES[check]
