"""Building EPCIS 2.0 JSON-LD documents (capture documents and query results) from events."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = ["EPCIS_CONTEXT_URL", "epcis_document", "used_prefixes"]

#: The standard EPCIS 2.0 JSON-LD context.
EPCIS_CONTEXT_URL = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

# Prefixes the standard context defines; they need no declaration of their own.
_STANDARD_PREFIXES = frozenset({"epcis", "cbv", "cbvmda", "gs1", "rdfs", "owl", "xsd", "dcterms"})
_URI_SCHEMES = frozenset({"http", "https", "urn", "ni", "geo", "tag", "mailto", "_"})
_CURIE = re.compile(r"^([A-Za-z_][\w.\-]*):(?!//)")


def used_prefixes(events: Iterable[Mapping[str, Any]]) -> set[str]:
    """CURIE prefixes used as keys anywhere in *events* (``example:field`` -> ``example``),
    URI schemes excluded."""
    found: set[str] = set()

    def walk(obj: object) -> None:
        if isinstance(obj, Mapping):
            for key, value in obj.items():
                if isinstance(key, str) and key != "@context":
                    m = _CURIE.match(key)
                    if m and m.group(1) not in _URI_SCHEMES:
                        found.add(m.group(1))
                walk(value)
        elif isinstance(obj, list):
            for item in obj:
                walk(item)

    for event in events:
        walk(event)
    return found


def _context(
    events: Sequence[Mapping[str, Any]], namespaces: Mapping[str, str] | None
) -> list[Any]:
    """``@context``: the standard URL plus one object with the prefixes the events use."""
    known: dict[str, str] = dict(namespaces or {})
    for event in events:  # events may carry their own @context (as stored from a capture)
        ctx = event.get("@context")
        for item in ctx if isinstance(ctx, list) else [ctx]:
            if isinstance(item, Mapping):
                for k, v in item.items():
                    if isinstance(v, str):
                        known.setdefault(k, v)
    # A standard prefix is declared only when the source redefines it (some documents map
    # cbvmda to their own IRI); dropping that would change the meaning and the event hash.
    used = used_prefixes(events)
    declared = {p: known[p] for p in sorted(used) if p in known}
    missing = sorted(used - declared.keys() - _STANDARD_PREFIXES)
    if missing:
        raise ValueError("events use namespace prefixes with no known IRI: " + ", ".join(missing))
    return [EPCIS_CONTEXT_URL, declared] if declared else [EPCIS_CONTEXT_URL]


def epcis_document(
    events: list[dict[str, Any]],
    *,
    query: bool = False,
    query_name: str | None = None,
    subscription_id: str | None = None,
    namespaces: Mapping[str, str] | None = None,
    creation_date: datetime | None = None,
    document_id: str | None = None,
) -> dict[str, Any]:
    """A schema-valid ``EPCISDocument`` (or, with ``query=True``, ``EPCISQueryDocument``).

    *events* are EPCIS 2.0 JSON event objects; an ``@context`` they carry is folded into the
    document's. *namespaces* maps the extension prefixes the events use (``example``) to their
    IRIs; a prefix used but not declared anywhere raises ``ValueError``, since the document
    would not be valid JSON-LD. *query_name* defaults to ``SimpleEventQuery``.
    """
    context = _context(events, namespaces)
    body_events = [{k: v for k, v in e.items() if k != "@context"} for e in events]
    created = (creation_date or datetime.now(UTC)).astimezone(UTC)
    doc: dict[str, Any] = {"@context": context}
    if document_id:
        doc["id"] = document_id
    doc["type"] = "EPCISQueryDocument" if query else "EPCISDocument"
    doc["schemaVersion"] = "2.0"
    doc["creationDate"] = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if query:
        results: dict[str, Any] = {"queryName": query_name or "SimpleEventQuery"}
        if subscription_id is not None:
            results["subscriptionID"] = subscription_id
        results["resultsBody"] = {"eventList": body_events}
        doc["epcisBody"] = {"queryResults": results}
    else:
        doc["epcisBody"] = {"eventList": body_events}
    return doc
