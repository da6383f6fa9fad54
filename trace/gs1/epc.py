"""EPC URNs to canonical GS1 Digital Link URIs, for EPCIS 2.0 event hashing.

The EPCIS event hash algorithm compares identifiers in one form: the canonical Digital Link on
``https://id.gs1.org`` with only the primary key and the finest key qualifier (a serial beats a
lot; a CPV is dropped) and no query. This module converts EPC pure identity URNs
(``urn:epc:id:...``), EPC class URNs (``urn:epc:class:lgtin:...``), EPC ID patterns that name a
whole class (``urn:epc:idpat:sgtin:<gcp>.<item>.*``) and any Digital Link to that form, in
agreement with the reference implementation (epcis-event-hash-generator).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from trace.gs1.ai import validate_ai_value
from trace.gs1.digital_link import (
    CANONICAL_BASE,
    DigitalLinkError,
    _parse,
    _split_uri,
    uri_escape,
    uri_unescape,
)
from trace.gs1.keys import CSET82, GS1KeyError, check_digit

__all__ = ["canonical_epc", "epc_urn_to_digital_link", "normalise_to_digital_link"]

#: Primary keys the event hash algorithm canonicalises (as the reference implementation does).
HASH_KEYS = frozenset(
    {"00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010"}
    | {"8017", "8018"}
)
_DIGITS = re.compile(r"\d+")
_GCP = re.compile(r"\d{6,12}")
_CPI_REF = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-#/")

Pairs = list[tuple[str, str]]


class _NotConvertible(ValueError):
    pass


def _digits(value: str, length: int | None = None) -> str:
    if not _DIGITS.fullmatch(value) or (length is not None and len(value) != length):
        raise _NotConvertible
    return value


def _gcp(value: str) -> str:
    if not _GCP.fullmatch(value):
        raise _NotConvertible
    return value


def _text(value: str, max_length: int, allowed: frozenset[str] = CSET82) -> str:
    decoded = uri_unescape(value)
    if not 1 <= len(decoded) <= max_length or any(c not in allowed for c in decoded):
        raise _NotConvertible
    return decoded


def _with_check(body: str) -> str:
    return body + check_digit(body)


def _split(body: str, count: int) -> list[str]:
    parts = body.split(".", count - 1)
    if len(parts) != count:
        raise _NotConvertible
    return parts


def _gtin(gcp: str, item_ref: str) -> str:
    _gcp(gcp)
    _digits(item_ref, 13 - len(gcp))
    return _with_check(item_ref[0] + gcp + item_ref[1:])


def _key12(gcp: str, ref: str) -> str:
    _gcp(gcp)
    if ref:
        _digits(ref)
    if len(gcp) + len(ref) != 12:
        raise _NotConvertible
    return _with_check(gcp + ref)


def _sgtin(body: str) -> Pairs:
    gcp, item, serial = _split(body, 3)
    return [("01", _gtin(gcp, item)), ("21", _text(serial, 20))]


def _lgtin(body: str) -> Pairs:
    gcp, item, lot = _split(body, 3)
    return [("01", _gtin(gcp, item)), ("10", _text(lot, 20))]


def _sscc(body: str) -> Pairs:
    gcp, ref = _split(body, 2)
    _gcp(gcp)
    _digits(ref, 17 - len(gcp))
    return [("00", _with_check(ref[0] + gcp + ref[1:]))]


def _sgln(body: str) -> Pairs:
    gcp, ref, ext = _split(body, 3)
    gln = _key12(gcp, ref)
    extension = _text(ext, 20)
    return [("414", gln)] if extension == "0" else [("414", gln), ("254", extension)]


def _grai(body: str) -> Pairs:
    gcp, ref, serial = _split(body, 3)
    return [("8003", "0" + _key12(gcp, ref) + _text(serial, 16))]


def _giai(body: str) -> Pairs:
    gcp, ref = _split(body, 2)
    return [("8004", _gcp(gcp) + _text(ref, 30 - len(gcp)))]


def _gsrn(ai: str) -> Callable[[str], Pairs]:
    def convert(body: str) -> Pairs:
        gcp, ref = _split(body, 2)
        _gcp(gcp)
        _digits(ref, 17 - len(gcp))
        return [(ai, _with_check(gcp + ref))]

    return convert


def _gdti(body: str) -> Pairs:
    gcp, ref, serial = _split(body, 3)
    return [("253", _key12(gcp, ref) + _text(serial, 17))]


def _cpi(body: str) -> Pairs:
    gcp, ref, serial = _split(body, 3)
    _gcp(gcp)
    return [("8010", gcp + _text(ref, 30 - len(gcp), _CPI_REF)), ("8011", _digits(serial))]


def _sgcn(body: str) -> Pairs:
    gcp, ref, serial = _split(body, 3)
    if len(serial) > 12:
        raise _NotConvertible
    return [("255", _key12(gcp, ref) + _digits(serial))]


def _ginc(body: str) -> Pairs:
    gcp, ref = _split(body, 2)
    return [("401", _gcp(gcp) + _text(ref, 30 - len(gcp)))]


def _gsin(body: str) -> Pairs:
    gcp, ref = _split(body, 2)
    _gcp(gcp)
    _digits(ref, 16 - len(gcp))
    return [("402", _with_check(gcp + ref))]


def _itip(body: str) -> Pairs:
    gcp, item, piece, total, serial = _split(body, 5)
    itip = _gtin(gcp, item) + _digits(piece, 2) + _digits(total, 2)
    return [("8006", itip), ("21", _text(serial, 20))]


def _upui(body: str) -> Pairs:
    gcp, item, tpx = _split(body, 3)
    return [("01", _gtin(gcp, item)), ("235", _text(tpx, 28))]


def _pgln(body: str) -> Pairs:
    gcp, ref = _split(body, 2)
    return [("417", _key12(gcp, ref))]


def _pattern(convert: Callable[[list[str]], Pairs], parts: int) -> Callable[[str], Pairs]:
    """An ID pattern whose last component is ``*`` and the others are all given."""

    def match(body: str) -> Pairs:
        split = _split(body, parts)
        if split[-1] != "*" or "*" in "".join(split[:-1]):
            raise _NotConvertible
        return convert(split[:-1])

    return match


_CONVERTERS: dict[str, Callable[[str], Pairs]] = {
    "urn:epc:id:sgtin:": _sgtin,
    "urn:epc:id:sscc:": _sscc,
    "urn:epc:id:sgln:": _sgln,
    "urn:epc:id:grai:": _grai,
    "urn:epc:id:giai:": _giai,
    "urn:epc:id:gsrn:": _gsrn("8018"),
    "urn:epc:id:gsrnp:": _gsrn("8017"),
    "urn:epc:id:gdti:": _gdti,
    "urn:epc:id:cpi:": _cpi,
    "urn:epc:id:sgcn:": _sgcn,
    "urn:epc:id:ginc:": _ginc,
    "urn:epc:id:gsin:": _gsin,
    "urn:epc:id:itip:": _itip,
    "urn:epc:id:upui:": _upui,
    "urn:epc:id:pgln:": _pgln,
    "urn:epc:class:lgtin:": _lgtin,
    "urn:epc:idpat:sgtin:": _pattern(lambda p: [("01", _gtin(*p))], 3),
    "urn:epc:idpat:upui:": _pattern(lambda p: [("01", _gtin(*p))], 3),
    "urn:epc:idpat:grai:": _pattern(lambda p: [("8003", "0" + _key12(*p))], 3),
    "urn:epc:idpat:gdti:": _pattern(lambda p: [("253", _key12(*p))], 3),
    "urn:epc:idpat:sgcn:": _pattern(lambda p: [("255", _key12(*p))], 3),
    "urn:epc:idpat:cpi:": _pattern(
        lambda p: [("8010", _gcp(p[0]) + _text(p[1], 30 - len(p[0]), _CPI_REF))], 3
    ),
    "urn:epc:idpat:itip:": _pattern(
        lambda p: [("8006", _gtin(p[0], p[1]) + _digits(p[2], 2) + _digits(p[3], 2))], 5
    ),
}


def _canonical(pairs: Pairs) -> str:
    for ai, value in pairs:
        validate_ai_value(ai, value, check_linters=False)
    # The reference implementation escapes every reserved character but the apostrophe.
    return CANONICAL_BASE + "".join(
        f"/{ai}/{uri_escape(value).replace('%27', chr(39))}" for ai, value in pairs
    )


def epc_urn_to_digital_link(urn: str) -> str | None:
    """The canonical Digital Link of an EPC URN, or None if it is not a convertible EPC URN.

    ``urn:epc:id:sgtin:0614141.107346.2017`` -> ``https://id.gs1.org/01/10614141073464/21/2017``.
    """
    for prefix, convert in _CONVERTERS.items():
        if urn.startswith(prefix):
            try:
                return _canonical(convert(urn[len(prefix) :]))
            except (_NotConvertible, GS1KeyError):
                return None
    return None


def _digital_link_to_canonical(uri: str) -> str | None:
    """Canonical form of any Digital Link; lenient on legacy forms and check digits, which the
    reference implementation does not check either."""
    try:
        _, path, _ = _split_uri(uri)
        _, path_ais, _ = _parse(
            path,
            None,
            permit_convenience_alphas=True,
            permit_zero_suppressed_gtin=True,
            check_linters=False,
        )
    except DigitalLinkError:
        return None
    if path_ais[0][0] not in HASH_KEYS:
        return None
    qualifiers = dict(path_ais[1:])
    qualifiers.pop("22", None)
    if "21" in qualifiers:
        qualifiers.pop("10", None)
    if "7040" in qualifiers:
        return None  # not canonicalised by the reference implementation
    return _canonical([path_ais[0], *qualifiers.items()])


def normalise_to_digital_link(value: str) -> str | None:
    """The canonical Digital Link for an EPC URN or a Digital Link, else None."""
    if not isinstance(value, str):
        return None
    if value.startswith("urn:epc:"):
        return epc_urn_to_digital_link(value)
    if value[:8].lower().startswith(("http://", "https://")):
        return _digital_link_to_canonical(value)
    return None


@functools.lru_cache(maxsize=65536)
def canonical_epc(value: str) -> str:
    """The canonical Digital Link for an EPC URN or Digital Link; any other value unchanged.

    Cached: a capture canonicalises each identifier for the hash and again for the index, and
    documents repeat their classes and locations."""
    return normalise_to_digital_link(value) or value
