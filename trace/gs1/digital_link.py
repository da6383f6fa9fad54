"""GS1 Digital Link URIs: build and parse, following GS1 Digital Link 1.x and gs1-syntax-engine.

A Digital Link is ``<base>/<primary AI>/<value>[/<qualifier AI>/<value>...][?<attributes>]``.
Path values are percent-encoded except for the RFC 3986 unreserved characters; query values are
encoded the same way except that a space becomes ``+``.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from urllib.parse import quote, unquote_plus

from trace.gs1.ai import (
    AIEntry,
    lookup_ai,
    to_barcode_string,
    to_element_string,
    valid_key_qualifier_sequences,
    validate_ai_value,
)
from trace.gs1.keys import GS1KeyError

__all__ = [
    "CANONICAL_BASE",
    "CONVENIENCE_ALPHAS",
    "DigitalLink",
    "DigitalLinkError",
    "build_digital_link",
    "digital_link_from_ais",
    "parse_digital_link",
    "parse_digital_link_path",
    "uri_escape",
    "uri_unescape",
]

CANONICAL_BASE = "https://id.gs1.org"

#: Deprecated short names for AIs in Digital Link paths (``/gtin/...``), accepted on request.
CONVENIENCE_ALPHAS: dict[str, str] = {
    "cpid": "8010",
    "cpsn": "8011",
    "cpv": "22",
    "gcn": "255",
    "gdti": "253",
    "giai": "8004",
    "ginc": "401",
    "gln": "414",
    "glnx": "254",
    "gmn": "8013",
    "grai": "8003",
    "gsin": "402",
    "gsrn": "8018",
    "gsrnp": "8017",
    "gtin": "01",
    "itip": "8006",
    "lot": "10",
    "party": "417",
    "refno": "8020",
    "ser": "21",
    "srin": "8019",
    "sscc": "00",
}

_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_URI_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")
_BAD_DOMAIN_CHARACTERS = frozenset("_~?#@!$&'()*+,;=%")
_HEX = frozenset(string.hexdigits)


class DigitalLinkError(ValueError):
    """A GS1 Digital Link URI that is malformed or breaks the GS1 rules."""


@dataclass(frozen=True)
class DigitalLink:
    """A parsed GS1 Digital Link.

    ``attributes`` holds the query string in order: AI data attributes (keys are AIs, values
    decoded and validated) and any other parameter such as ``linkType`` (value decoded, ``""``
    for a parameter without ``=``).
    """

    base: str
    primary_ai: str
    primary_value: str
    qualifiers: tuple[tuple[str, str], ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def ais(self) -> dict[str, str]:
        """Every AI of the link, in order: primary key, qualifiers, data attributes."""
        result = {self.primary_ai: self.primary_value, **dict(self.qualifiers)}
        result.update((k, v) for k, v in self.attributes.items() if k.isdigit())
        return result

    @property
    def element_string(self) -> str:
        """The AIs as a bracketed element string, e.g. ``(01)09520123456788(10)ABC``."""
        return to_element_string(self.ais.items())

    @property
    def barcode_string(self) -> str:
        """The AIs as barcode data with ``^`` for FNC1."""
        return to_barcode_string(self.ais.items())

    def to_uri(self, base: str | None = None, *, with_attributes: bool = True) -> str:
        """The link as a URI on ``base`` (default: its own base, or id.gs1.org if it has none)."""
        attributes = self.attributes if with_attributes else None
        return build_digital_link(
            base or self.base or CANONICAL_BASE,
            (self.primary_ai, self.primary_value),
            self.qualifiers,
            attributes,
        )


def uri_escape(value: str, *, query: bool = False) -> str:
    """Percent-encode everything but unreserved characters; in a query a space becomes ``+``."""
    out = []
    for char in value:
        if char in _UNRESERVED:
            out.append(char)
        elif char == " " and query:
            out.append("+")
        else:
            out.append(quote(char, safe=""))
    return "".join(out)


def uri_unescape(value: str, *, query: bool = False) -> str:
    """Reverse percent-encoding byte by byte, as gs1-syntax-engine does.

    Each valid ``%XX`` becomes the character U+00XX (so non-ASCII input never passes the AI
    character sets); an incomplete or non-hex ``%`` stays as it is; ``+`` is a space in a query.
    """
    out = []
    i = 0
    while i < len(value):
        hex_pair = value[i + 1 : i + 3]
        if value[i] == "%" and len(hex_pair) == 2 and set(hex_pair) <= _HEX:
            out.append(chr(int(hex_pair, 16)))
            i += 3
        else:
            out.append(" " if value[i] == "+" and query else value[i])
            i += 1
    return "".join(out)


def _known_ai(ai: str) -> AIEntry:
    """The table entry of an AI the caller has already found in the table."""
    entry = lookup_ai(ai)
    if entry is None:
        raise DigitalLinkError(f"({ai}) is not a known AI")
    return entry


def _alpha_ai(segment: str, permit_alphas: bool) -> str | None:
    if lookup_ai(segment) is not None:
        return segment
    if permit_alphas and not segment[:1].isdigit():
        return CONVENIENCE_ALPHAS.get(segment)
    return None


def _expand_gtin(ai: str, value: str, permit_zero_suppressed_gtin: bool) -> str:
    if ai == "01" and permit_zero_suppressed_gtin and len(value) in (8, 12, 13):
        return value.rjust(14, "0")
    return value


def _check_value(ai: str, value: str, check_linters: bool) -> None:
    if not value.isascii():
        raise DigitalLinkError(
            f"({ai}) value has a non-ASCII character; GS1 allows only its character set 82"
        )
    try:
        validate_ai_value(ai, value, check_linters=check_linters)
    except GS1KeyError as exc:
        raise DigitalLinkError(str(exc)) from exc


def _is_valid_sequence(sequence: Iterable[str]) -> bool:
    return tuple(sequence) in valid_key_qualifier_sequences()


def _order_message(primary_ai: str, sequence: list[str]) -> str:
    entry = _known_ai(primary_ai)
    allowed = " or ".join(
        "[" + ", ".join(f"({q})" for q in alternative) + "]"
        for alternative in (entry.dl_qualifiers or ())
    )
    got = ", ".join(f"({ai})" for ai in sequence[1:])
    if not allowed:
        return f"({primary_ai}) takes no key qualifiers in the path, got {got}"
    return (
        f"key qualifiers of ({primary_ai}) must be taken from {allowed}, in that order; got {got}"
    )


def _parse(
    path: str,
    query: str | None,
    *,
    permit_convenience_alphas: bool,
    permit_zero_suppressed_gtin: bool,
    check_linters: bool = True,
) -> tuple[str, list[tuple[str, str]], dict[str, str]]:
    """Split a Digital Link path and query into (stem, path AIs, attributes) and validate them."""
    segments = path.split("/")
    if segments[0] != "":
        raise DigitalLinkError("the path must start with /")
    # Walk back from the end one /AI/value pair at a time to the rightmost primary key, so a
    # path prefix (a "stem") before the key is allowed.
    start = None
    i = len(segments) - 2
    while i >= 1:
        ai = _alpha_ai(segments[i], permit_convenience_alphas)
        if ai is None:
            break
        if _known_ai(ai).is_primary_key:
            start = i
            break
        i -= 2
    if start is None:
        raise DigitalLinkError("no GS1 primary key (such as /01/<GTIN>) found in the URI path")

    path_ais: list[tuple[str, str]] = []
    for j in range(start, len(segments), 2):
        ai = _alpha_ai(segments[j], permit_convenience_alphas) or segments[j]
        raw = segments[j + 1]
        if not raw:
            raise DigitalLinkError(f"({ai}) has an empty value in the path")
        value = _expand_gtin(ai, uri_unescape(raw), permit_zero_suppressed_gtin)
        if "\0" in value:
            raise DigitalLinkError(f"({ai}) value contains a NUL character")
        _check_value(ai, value, check_linters)
        path_ais.append((ai, value))

    sequence = [ai for ai, _ in path_ais]
    if not _is_valid_sequence(sequence):
        raise DigitalLinkError(_order_message(sequence[0], sequence))

    attributes: dict[str, str] = {}
    seen = set(sequence)
    for param in (query or "").split("&"):
        if not param:
            continue
        name, has_value, raw = param.partition("=")
        if not (name.isascii() and name.isdigit()):
            attributes[unquote_plus(name)] = unquote_plus(raw) if has_value else ""
            continue
        entry = lookup_ai(name)
        if entry is None:
            raise DigitalLinkError(f"query parameter {name} is not a known GS1 AI")
        if not raw:
            raise DigitalLinkError(f"({name}) has an empty value in the query")
        value = _expand_gtin(name, uri_unescape(raw, query=True), permit_zero_suppressed_gtin)
        if "\0" in value:
            raise DigitalLinkError(f"({name}) value contains a NUL character")
        _check_value(name, value, check_linters)
        if name in seen:
            raise DigitalLinkError(f"({name}) appears more than once")
        if not entry.dl_attribute:
            raise DigitalLinkError(f"({name}) is not allowed as a Digital Link data attribute")
        for k in range(1, len(sequence) + 1):
            if _is_valid_sequence([*sequence[:k], name, *sequence[k:]]):
                raise DigitalLinkError(
                    f"({name}) is a key qualifier of ({sequence[0]}) and belongs in the path"
                )
        seen.add(name)
        attributes[name] = value
    return "/".join(segments[:start]), path_ais, attributes


def _split_uri(uri: str) -> tuple[str, str, str]:
    """Split a Digital Link URI into (scheme://host, path, query), dropping any fragment."""
    if not isinstance(uri, str) or not uri:
        raise DigitalLinkError("empty URI")
    for char in uri:
        if char not in _URI_CHARACTERS:
            raise DigitalLinkError(f"URI has a character that must be escaped: {char!r}")
    for scheme in ("https://", "HTTPS://", "http://", "HTTP://"):
        if uri.startswith(scheme):
            break
    else:
        raise DigitalLinkError("URI must start with http:// or https://")
    host, slash, after = uri[len(scheme) :].partition("/")
    if not host or not slash:
        raise DigitalLinkError("URI needs a host and a path")
    if any(c in _BAD_DOMAIN_CHARACTERS for c in host):
        raise DigitalLinkError(f"host has a character that is not allowed: {host!r}")
    path, _, query = after.split("#", 1)[0].partition("?")
    return scheme + host, "/" + path, query


def parse_digital_link(
    uri: str,
    *,
    permit_convenience_alphas: bool = False,
    permit_zero_suppressed_gtin: bool = False,
) -> DigitalLink:
    """Parse and validate a GS1 Digital Link URI; raise DigitalLinkError saying what is wrong.

    Checks: http(s) scheme, a host, a known primary key, qualifiers in the allowed order, every
    AI value's format and check digits, and query AIs that are valid data attributes and not
    qualifiers that belong in the path. The fragment is ignored. Short names such as ``/gtin/``
    and GTIN-8/12/13 in place of GTIN-14 are legacy forms, refused unless permitted.
    """
    scheme_host, path, query = _split_uri(uri)
    stem, path_ais, attributes = _parse(
        path,
        query,
        permit_convenience_alphas=permit_convenience_alphas,
        permit_zero_suppressed_gtin=permit_zero_suppressed_gtin,
    )
    (primary_ai, primary_value), *qualifiers = path_ais
    return DigitalLink(
        base=scheme_host + stem,
        primary_ai=primary_ai,
        primary_value=primary_value,
        qualifiers=tuple(qualifiers),
        attributes=attributes,
    )


def parse_digital_link_path(
    path: str,
    query: str = "",
    *,
    permit_convenience_alphas: bool = False,
    permit_zero_suppressed_gtin: bool = False,
) -> DigitalLink:
    """Parse the path (and raw query string) of a Digital Link request, e.g. ``/01/.../10/...``.

    Give the path still percent-encoded (WSGI ``RAW_URI``/``REQUEST_URI``, not Flask's decoded
    ``request.path``): a ``%2F`` inside a value must not split it. ``base`` is the path prefix
    before the primary key (``""`` usually).
    """
    if "?" in path and not query:
        path, _, query = path.partition("?")
    for char in path + query:
        if char not in _URI_CHARACTERS:
            raise DigitalLinkError(f"URI has a character that must be escaped: {char!r}")
    stem, path_ais, attributes = _parse(
        path,
        query,
        permit_convenience_alphas=permit_convenience_alphas,
        permit_zero_suppressed_gtin=permit_zero_suppressed_gtin,
    )
    (primary_ai, primary_value), *qualifiers = path_ais
    return DigitalLink(stem, primary_ai, primary_value, tuple(qualifiers), attributes)


def _check_base(base_url: str) -> str:
    scheme, sep, rest = base_url.partition("://")
    if scheme.lower() not in ("http", "https") or not sep or not rest.split("/")[0]:
        raise DigitalLinkError(f"base URL must be http(s)://host[/prefix], not {base_url!r}")
    return base_url.rstrip("/")


def _query(attributes: Iterable[tuple[str, str]]) -> str:
    return "&".join(
        f"{uri_escape(k, query=True)}={uri_escape(v, query=True)}" for k, v in attributes
    )


def _attribute_order(attributes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # gs1-syntax-engine's order: predefined-length AIs first, then the others, then non-AI
    # parameters, each group in the order given.
    def group(item: tuple[str, str]) -> int:
        entry = lookup_ai(item[0]) if item[0].isdigit() else None
        return 2 if entry is None else (0 if entry.fixed_length else 1)

    return sorted(attributes, key=group)


def _check_attribute(ai: str, sequence: list[str]) -> None:
    entry = lookup_ai(ai)
    if entry is None:
        raise DigitalLinkError(f"({ai}) is not a known GS1 Application Identifier")
    if not entry.dl_attribute:
        raise DigitalLinkError(f"({ai}) is not allowed as a Digital Link data attribute")
    if ai in sequence:
        raise DigitalLinkError(f"({ai}) appears more than once")


def build_digital_link(
    base_url: str,
    primary: tuple[str, str],
    qualifiers: Iterable[tuple[str, str]] = (),
    data_attributes: Mapping[str, str] | None = None,
) -> str:
    """Build a GS1 Digital Link URI, validating every AI and the qualifier order.

    ``build_digital_link("https://trace.example.vn", ("01", "08934567890120"), [("10", "A/1")])``
    gives ``https://trace.example.vn/01/08934567890120/10/A%2F1``. A GTIN-8/12/13 primary key is
    written as GTIN-14. ``data_attributes`` may hold AIs (e.g. ``{"17": "261231"}``) and other
    parameters such as ``linkType``.
    """
    base = _check_base(base_url)
    primary_ai, primary_value = primary
    if primary_ai == "01" and len(primary_value) in (8, 12, 13):
        primary_value = primary_value.rjust(14, "0")
    entry = lookup_ai(primary_ai)
    if entry is None or not entry.is_primary_key:
        raise DigitalLinkError(f"({primary_ai}) is not a GS1 Digital Link primary key")
    path_ais = [(primary_ai, primary_value), *qualifiers]
    sequence = [ai for ai, _ in path_ais]
    for ai, value in path_ais:
        _check_value(ai, value, True)
    if not _is_valid_sequence(sequence):
        raise DigitalLinkError(_order_message(primary_ai, sequence))
    attributes = list((data_attributes or {}).items())
    for ai, value in attributes:
        if ai.isdigit():
            _check_value(ai, value, True)
            _check_attribute(ai, sequence)
            for k in range(1, len(sequence) + 1):
                if _is_valid_sequence([*sequence[:k], ai, *sequence[k:]]):
                    raise DigitalLinkError(
                        f"({ai}) is a key qualifier of ({primary_ai}) and belongs in the path"
                    )
    path = "".join(f"/{ai}/{uri_escape(value)}" for ai, value in path_ais)
    query = _query(_attribute_order(attributes))
    return base + path + (f"?{query}" if query else "")


def digital_link_from_ais(ais: Iterable[tuple[str, str]], base_url: str = CANONICAL_BASE) -> str:
    """Build a Digital Link from AI data in any order, choosing the path as gs1-syntax-engine does.

    The first AI that is a primary key leads; the key-qualifier sequence matching the most AIs
    forms the path; the remaining AIs become query attributes. Repeated identical AIs are
    dropped; repeated AIs with different values are an error.
    """
    unique: dict[str, str] = {}
    for ai, value in ais:
        if unique.setdefault(ai, value) != value:
            raise DigitalLinkError(f"({ai}) appears twice with different values")
        _check_value(ai, value, True)
    key = next((ai for ai in unique if _known_ai(ai).is_primary_key), None)
    if key is None:
        raise DigitalLinkError("the AI data has no GS1 Digital Link primary key")
    candidates = sorted(
        " ".join((key, *picked))
        for alternative in _known_ai(key).dl_qualifiers or ()
        for n in range(len(alternative) + 1)
        for picked in combinations(alternative, n)
    )
    best = max(candidates, key=lambda c: sum(ai in unique for ai in c.split()[1:]))
    path_ais = [ai for ai in best.split() if ai in unique]
    base = _check_base(base_url)
    path = "".join(f"/{ai}/{uri_escape(unique[ai])}" for ai in path_ais)
    attributes = [(ai, v) for ai, v in unique.items() if ai not in path_ais]
    for ai, _ in attributes:
        _check_attribute(ai, [])
    query = _query(_attribute_order(attributes))
    return base + path + (f"?{query}" if query else "")
