"""GS1 Application Identifiers, from the GS1 Barcode Syntax Dictionary.

The dictionary (``data/gs1-syntax-dictionary.txt``, vendored from gs1-syntax-engine) is parsed
once, on first use. Each AI carries its format components (``N``/``X``/``Y``/``Z`` with lengths
and linters), whether it has a predefined length (no FNC1 separator needed), whether it may be a
Digital Link data attribute, its ``req``/``ex`` associations and, for primary keys, the allowed
key-qualifier sequences (``dlpkey``).
"""

from __future__ import annotations

import calendar
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from pathlib import Path

from trace.gs1.keys import CSET82, GS1KeyError, check_digit

__all__ = [
    "AIEntry",
    "Component",
    "ai_table",
    "lookup_ai",
    "match_ai",
    "parse_barcode_string",
    "parse_element_string",
    "primary_keys",
    "to_barcode_string",
    "to_element_string",
    "valid_key_qualifier_sequences",
    "validate_ai_value",
]

DICTIONARY_PATH = Path(__file__).parent / "data" / "gs1-syntax-dictionary.txt"

CSET39 = frozenset(string.ascii_uppercase + string.digits + "#-/")
CSET64 = frozenset(string.ascii_letters + string.digits + "-_=")
_CHARSETS: dict[str, tuple[frozenset[str], str]] = {
    "N": (frozenset(string.digits), "digits only"),
    "X": (CSET82, "GS1 character set 82"),
    "Y": (CSET39, "GS1 character set 39: A-Z 0-9 # - /"),
    "Z": (CSET64, "base64url characters"),
}
# The 32 characters of the GMN check character pair (GS1 General Specifications 7.9.5).
_CSET32 = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_CSET82_ORDER = (
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
# Prime weights of the GMN check pair; the smallest weights the rightmost character.
_GMN_PRIMES = (
    2,
    3,
    5,
    7,
    11,
    13,
    17,
    19,
    23,
    29,
    31,
    37,
    41,
    43,
    47,
    53,
    59,
    61,
    67,
    71,
    73,
    79,
    83,
)

_BRACKETED_AI = re.compile(r"\((\d{2,4})\)")
_COMPONENT_RE = re.compile(r"^(\[)?([NXYZ])(\d+)?(?:\.\.(\d+))?(\])?((?:,\w+)*)$")


@dataclass(frozen=True)
class Component:
    """One part of an AI's data field, e.g. ``N13,csum`` or the optional ``[X..17]``."""

    kind: str
    min_length: int
    max_length: int
    optional: bool
    linters: tuple[str, ...]


@dataclass(frozen=True)
class AIEntry:
    """One Application Identifier from the syntax dictionary."""

    ai: str
    title: str
    fixed_length: bool
    dl_attribute: bool
    components: tuple[Component, ...]
    requires: tuple[str, ...]
    excludes: tuple[str, ...]
    dl_qualifiers: tuple[tuple[str, ...], ...] | None

    @property
    def is_primary_key(self) -> bool:
        return self.dl_qualifiers is not None

    @property
    def max_length(self) -> int:
        return sum(c.max_length for c in self.components)


def _parse_component(token: str) -> Component:
    m = _COMPONENT_RE.match(token)
    if not m:
        raise ValueError(f"bad component in syntax dictionary: {token!r}")
    opt_open, kind, fixed, upto, opt_close, linters = m.groups()
    if bool(opt_open) != bool(opt_close) or (fixed is None) == (upto is None):
        raise ValueError(f"bad component in syntax dictionary: {token!r}")
    low, high = (int(fixed), int(fixed)) if fixed else (1, int(upto))
    return Component(kind, low, high, bool(opt_open), tuple(filter(None, linters.split(","))))


def _expand(ais: str) -> list[str]:
    if "-" not in ais:
        return [ais]
    first, last = ais.split("-")
    width = len(first)
    return [str(n).zfill(width) for n in range(int(first), int(last) + 1)]


def _parse_line(line: str) -> list[AIEntry]:
    body, _, title = line.partition("#")
    tokens = body.split()
    ais, rest = tokens[0], tokens[1:]
    flags = ""
    if rest and set(rest[0]) <= set("*?!\"$%&'()+,-./:;<=>@[\\]^_`{|}~"):
        flags, rest = rest[0], rest[1:]
    components: list[Component] = []
    requires: list[str] = []
    excludes: list[str] = []
    qualifiers: list[tuple[str, ...]] | None = None
    for token in rest:
        if token == "dlpkey":
            qualifiers = [()] if qualifiers is None else qualifiers
        elif token.startswith("dlpkey="):
            qualifiers = (qualifiers or []) + [
                tuple(alt.split(",")) for alt in token[len("dlpkey=") :].split("|")
            ]
        elif token.startswith("req="):
            requires.append(token[len("req=") :])
        elif token.startswith("ex="):
            excludes.extend(token[len("ex=") :].split(","))
        elif "=" in token:
            continue
        else:
            components.append(_parse_component(token))
    return [
        AIEntry(
            ai=ai,
            title=title.strip(),
            fixed_length="*" in flags,
            dl_attribute="?" in flags,
            components=tuple(components),
            requires=tuple(requires),
            excludes=tuple(excludes),
            dl_qualifiers=None if qualifiers is None else tuple(qualifiers),
        )
        for ai in _expand(ais)
    ]


@cache
def ai_table() -> dict[str, AIEntry]:
    """All AIs of the syntax dictionary, keyed by AI (ranges such as 3100-3105 expanded)."""
    table: dict[str, AIEntry] = {}
    for line in DICTIONARY_PATH.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            for entry in _parse_line(line):
                table[entry.ai] = entry
    return table


def lookup_ai(ai: str) -> AIEntry | None:
    """The entry for exactly ``ai``, or None if it is not a known AI."""
    return ai_table().get(ai)


def match_ai(data: str) -> AIEntry | None:
    """The AI that ``data`` starts with (AIs are prefix-free), or None."""
    table = ai_table()
    for length in (2, 3, 4):
        entry = table.get(data[:length])
        if entry is not None:
            return entry
    return None


@cache
def primary_keys() -> frozenset[str]:
    """AIs that may start a GS1 Digital Link path (``dlpkey`` in the dictionary)."""
    return frozenset(ai for ai, e in ai_table().items() if e.is_primary_key)


@cache
def valid_key_qualifier_sequences() -> frozenset[tuple[str, ...]]:
    """Every valid Digital Link path AI sequence: a key then qualifiers in the allowed order."""
    sequences: set[tuple[str, ...]] = set()
    for ai, entry in ai_table().items():
        for alternative in entry.dl_qualifiers or ():
            for n in range(len(alternative) + 1):
                for picked in combinations(alternative, n):
                    sequences.add((ai, *picked))
    return frozenset(sequences)


# --- linters -----------------------------------------------------------------------------------


def _lint_csum(value: str) -> str | None:
    expected = check_digit(value[:-1])
    return None if value[-1] == expected else f"check digit is wrong: expected {expected}"


def _lint_csumalpha(value: str) -> str | None:
    body, pair = value[:-2], value[-2:]
    if len(pair) < 2 or len(body) > len(_GMN_PRIMES) or any(c not in _CSET82_ORDER for c in body):
        return "has no room for, or characters unfit for, a check character pair"
    weights = _GMN_PRIMES[: len(body)]
    pairs = zip(reversed(body), weights, strict=True)
    checksum = sum(_CSET82_ORDER.index(c) * w for c, w in pairs) % 1021
    expected = _CSET32[checksum >> 5] + _CSET32[checksum & 31]
    return None if pair == expected else f"check characters are wrong: expected {expected}"


def _date_error(yy: int, mm: int, dd: int, allow_zero_day: bool) -> str | None:
    if not 1 <= mm <= 12:
        return "has an invalid month"
    if dd == 0 and allow_zero_day:
        return None
    # A two-digit year's leap status does not depend on its century except for 00; GS1 treats
    # 00 as a leap year (2000), so yy % 4 suffices here.
    days = calendar.monthrange(2000 + yy if yy < 100 else yy, mm)[1]
    return None if 1 <= dd <= days else "has an invalid day"


def _lint_yymmd0(value: str) -> str | None:
    return _date_error(int(value[:2]), int(value[2:4]), int(value[4:6]), True)


def _lint_yymmdd(value: str) -> str | None:
    return _date_error(int(value[:2]), int(value[2:4]), int(value[4:6]), False)


def _lint_yyyymmdd(value: str) -> str | None:
    return _date_error(int(value[:4]), int(value[4:6]), int(value[6:8]), False)


def _lint_range(low: int, high: int, what: str) -> Callable[[str], str | None]:
    def lint(value: str) -> str | None:
        return None if low <= int(value) <= high else f"has an invalid {what}"

    return lint


def _lint_hhmi(value: str) -> str | None:
    return _lint_range(0, 23, "hour")(value[:2]) or _lint_range(0, 59, "minute")(value[2:4])


def _lint_pieceoftotal(value: str) -> str | None:
    half = len(value) // 2
    piece, total = int(value[:half]), int(value[half:])
    return None if 1 <= piece <= total else "piece number must be between 1 and the total"


def _lint_pcenc(value: str) -> str | None:
    for m in re.finditer("%", value):
        if not re.fullmatch(r"%[0-9A-Fa-f]{2}", value[m.start() : m.start() + 3]):
            return "has an invalid percent-encoding"
    return None


def _lint_posinseqslash(value: str) -> str | None:
    pos, slash, seq = value.partition("/")
    if not (slash and pos.isdigit() and seq.isdigit() and 1 <= int(pos) <= int(seq)):
        return "must be a position and a count such as 1/2"
    return None


def _lint_iban(value: str) -> str | None:
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[0-9A-Z]+", value):
        return "is not a well-formed IBAN"
    digits = "".join(str(int(c, 36)) for c in value[4:] + value[:4])
    return None if int(digits) % 97 == 1 else "IBAN check digits are wrong"


_LINTERS: dict[str, Callable[[str], str | None]] = {
    "csum": _lint_csum,
    "csumalpha": _lint_csumalpha,
    "yymmd0": _lint_yymmd0,
    "yymmdd": _lint_yymmdd,
    "yyyymmdd": _lint_yyyymmdd,
    "hhmi": _lint_hhmi,
    "hh": _lint_range(0, 23, "hour"),
    "mi": _lint_range(0, 59, "minute"),
    "ss": _lint_range(0, 59, "second"),
    "nonzero": lambda v: "must not be zero" if int(v) == 0 else None,
    "zero": lambda v: None if int(v) == 0 else "must be zero",
    "winding": lambda v: None if v in ("0", "1", "9") else "winding direction must be 0, 1 or 9",
    "yesno": lambda v: None if v in ("0", "1") else "must be 0 or 1",
    "iso5218": lambda v: None if v in ("0", "1", "2", "9") else "sex code must be 0, 1, 2 or 9",
    "hyphen": lambda v: None if v == "-" else "must be a hyphen",
    "nozeroprefix": lambda v: "must not start with 0" if len(v) > 1 and v[0] == "0" else None,
    "hasnondigit": lambda v: None if not v.isdigit() else "must contain a non-digit",
    "latitude": _lint_range(0, 1_800_000_000, "latitude"),
    "longitude": _lint_range(0, 3_600_000_000, "longitude"),
    "pieceoftotal": _lint_pieceoftotal,
    "pcenc": _lint_pcenc,
    "posinseqslash": _lint_posinseqslash,
    "iban": _lint_iban,
}
#: Linters that need reference lists (country, currency, GS1 Company Prefix lengths, coupon and
#: package codes) this module does not carry: only the component's format is checked for them.
UNCHECKED_LINTERS = frozenset(
    {
        "gcppos1",
        "gcppos2",
        "iso3166",
        "iso3166999",
        "iso3166alpha2",
        "iso4217",
        "importeridx",
        "packagetype",
        "mediatype",
        "couponcode",
        "couponposoffer",
    }
)


def validate_ai_value(ai: str, value: str, *, check_linters: bool = True) -> None:
    """Check ``value`` against the format of ``ai``; raise GS1KeyError naming the fault.

    ``check_linters=False`` checks only the characters and lengths (no check digits, dates...).
    """
    entry = lookup_ai(ai)
    if entry is None:
        raise GS1KeyError(f"({ai}) is not a known GS1 Application Identifier")
    if not value:
        raise GS1KeyError(f"({ai}) value is empty")
    pos = 0
    for component in entry.components:
        remaining = len(value) - pos
        if remaining == 0 and component.optional:
            break
        if remaining < component.min_length:
            raise GS1KeyError(f"({ai}) value is too short: {value!r}")
        length = min(remaining, component.max_length)
        part = value[pos : pos + length]
        charset, described = _CHARSETS[component.kind]
        for offset, char in enumerate(part):
            if char not in charset:
                raise GS1KeyError(
                    f"({ai}) value has a character that is not allowed at position"
                    f" {pos + offset + 1}: {char!r} ({described})"
                )
        if check_linters:
            for name in component.linters:
                lint = _LINTERS.get(name)
                problem = lint(part) if lint else None
                if problem:
                    raise GS1KeyError(f"({ai}) value {problem}")
        pos += length
    if pos < len(value):
        raise GS1KeyError(
            f"({ai}) value is too long: at most {entry.max_length} characters, got {len(value)}"
        )


# --- element strings ---------------------------------------------------------------------------


def to_element_string(ais: Iterable[tuple[str, str]]) -> str:
    """Human-readable element string, e.g. ``(01)08934567890120(10)ABC``.

    A ``(`` inside a value is written ``\\(`` so the string parses back unambiguously.
    """
    return "".join(f"({ai}){value.replace('(', chr(92) + '(')}" for ai, value in ais)


def to_barcode_string(ais: Iterable[tuple[str, str]]) -> str:
    """Barcode data with ``^`` for FNC1: a leading ``^``, then ``^`` after each AI value that
    has no predefined length and is followed by another AI."""
    out = []
    need_separator = True
    for ai, value in ais:
        if need_separator:
            out.append("^")
        out.append(ai + value)
        entry = lookup_ai(ai)
        need_separator = entry is None or not entry.fixed_length
    return "".join(out)


def _validated(pairs: list[tuple[str, str]], check_linters: bool) -> list[tuple[str, str]]:
    if not pairs:
        raise GS1KeyError("no AI data")
    for ai, value in pairs:
        validate_ai_value(ai, value, check_linters=check_linters)
    return pairs


def parse_element_string(text: str, *, check_linters: bool = True) -> list[tuple[str, str]]:
    """Parse a bracketed element string such as ``(01)08934567890120(10)AB\\(C``."""
    pairs: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _BRACKETED_AI.match(text, pos)
        if not m:
            raise GS1KeyError(f"expected an AI in brackets at position {pos + 1}")
        ai, pos = m.group(1), m.end()
        if lookup_ai(ai) is None:
            raise GS1KeyError(f"({ai}) is not a known GS1 Application Identifier")
        value = []
        while pos < len(text) and text[pos] != "(":
            if text.startswith("\\(", pos):
                value.append("(")
                pos += 2
            else:
                value.append(text[pos])
                pos += 1
        pairs.append((ai, "".join(value)))
    return _validated(pairs, check_linters)


def parse_barcode_string(data: str, *, check_linters: bool = True) -> list[tuple[str, str]]:
    """Parse unbracketed barcode data that starts with ``^`` (FNC1) and uses ``^`` as separator."""
    if not data.startswith("^"):
        raise GS1KeyError("GS1 barcode data must start with FNC1 (^)")
    pairs: list[tuple[str, str]] = []
    pos = 1
    while pos < len(data):
        entry = match_ai(data[pos:])
        if entry is None:
            raise GS1KeyError(f"no known AI at position {pos + 1}: {data[pos : pos + 4]!r}")
        pos += len(entry.ai)
        if entry.fixed_length:
            end = min(pos + entry.max_length, len(data))
        else:
            end = data.find("^", pos)
            end = len(data) if end == -1 else end
        pairs.append((entry.ai, data[pos:end]))
        pos = end + 1 if data.startswith("^", end) else end
    return _validated(pairs, check_linters)
