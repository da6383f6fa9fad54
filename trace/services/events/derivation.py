"""What a stored event document says about the event's columns and index rows.

An event row keeps its EPCIS document (covered by the ledger) next to columns and rows derived
from it, which the queries and the public page read: ``event_type``, ``event_time``,
``biz_step``, … and the ``event_epc`` / ``batch_link`` rows that say which batches an event
belongs to. Capture writes them from :func:`derive`, and verification recomputes them with the
same function from the stored document, so the two can never disagree about what "derived"
means.

Which batch an identifier names is the one thing a document does not say by itself: capture
resolves it against the registry. Registry keys are never reused (a lot code is unique per
product, unit codes are never reissued), so what an identifier named when the event was
recorded is what it names now, with two exceptions that verification must accept
(:func:`batch_explained`):

- a batch registered *after* the event was recorded: the row keeps no batch (capture could not
  know it), though the identifier resolves now;
- a product whose GTIN was changed: its old Digital Link lot URIs resolve to nothing now, while
  the row keeps the batch with that lot code.

The first exception trusts ``batch.created_at`` and ``event.record_time``, which the ledger does
not cover: someone who can rewrite the database could empty a row's batch *and* move the
batch's registration time past the event. Covering those would need them in the chain.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from trace.services.events.identifiers import GS1_BASE, canonical_uri

#: Where identifiers stand in an event, and the role they get in the index.
INSTANCE_FIELDS = {
    "epcList": "epc",
    "childEPCs": "child",
    "inputEPCList": "input",
    "outputEPCList": "output",
}
CLASS_FIELDS = {
    "quantityList": "epc_class",
    "childQuantityList": "child_class",
    "inputQuantityList": "input_class",
    "outputQuantityList": "output_class",
}
INPUT_ROLES = frozenset({"input", "input_class"})
OUTPUT_ROLES = frozenset({"output", "output_class"})
URI_LENGTH = 400  # event_epc.uri

#: The event columns derived from the document, in the order findings name them.
COLUMNS = (
    "event_id",
    "event_type",
    "action",
    "event_time",
    "event_time_zone_offset",
    "biz_step",
    "disposition",
    "read_point",
    "biz_location",
    "declares_error",
)

EpcRow = tuple[str, str, "int | None"]  # (role, uri, batch id)
Link = tuple[int, int]  # (input batch, output batch)


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))


def offset_of(moment: dt.datetime) -> str:
    offset = moment.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def identifiers(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every identifier the event names, as (role, canonical URI), first mention kept."""
    found: list[tuple[str, str]] = []
    if isinstance(doc.get("parentID"), str):
        found.append(("parent", canonical_uri(doc["parentID"])))
    for key, role in INSTANCE_FIELDS.items():
        for epc in doc.get(key) or ():
            if isinstance(epc, str):
                found.append((role, canonical_uri(epc)))
    for key, role in CLASS_FIELDS.items():
        for item in doc.get(key) or ():
            if isinstance(item, dict) and isinstance(item.get("epcClass"), str):
                found.append((role, canonical_uri(item["epcClass"])))
    return list(dict.fromkeys(found))


def place(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return canonical_uri(value["id"])
    return None


def columns(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The event row's derived columns (see :data:`COLUMNS`)."""
    event_time = parse_time(doc["eventTime"])
    return {
        "event_id": str(doc["eventID"]),
        "event_type": doc["type"],
        "action": doc.get("action"),
        "event_time": event_time,
        "event_time_zone_offset": doc.get("eventTimeZoneOffset") or offset_of(event_time),
        "biz_step": doc.get("bizStep"),
        "disposition": doc.get("disposition"),
        "read_point": place(doc, "readPoint"),
        "biz_location": place(doc, "bizLocation"),
        "declares_error": "errorDeclaration" in doc,
    }


@dataclass(frozen=True)
class Derived:
    """An event's columns, ``event_epc`` rows and ``batch_link`` edges, from its document."""

    columns: dict[str, Any]
    epcs: list[EpcRow]
    links: set[Link]


def links(event_type: str, action: str | None, epcs: Iterable[EpcRow]) -> set[Link]:
    """The genealogy edges an event makes between the batches its identifiers name."""
    if event_type == "AggregationEvent" and action != "ADD":
        return set()
    inputs: set[int] = set()
    outputs: set[int] = set()
    for role, _, batch_id in epcs:
        if batch_id is None:
            continue
        if role in INPUT_ROLES:
            inputs.add(batch_id)
        elif role in OUTPUT_ROLES or (role == "parent" and event_type == "AggregationEvent"):
            outputs.add(batch_id)
        elif role in {"child", "child_class"} and event_type == "AggregationEvent":
            inputs.add(batch_id)
    return {(i, o) for i in inputs for o in outputs if i != o}


def derive(
    doc: Mapping[str, Any],
    batch_of: Mapping[str, int | None],
    named: list[tuple[str, str]] | None = None,
) -> Derived:
    """What the stored document ``doc`` says the event's columns and index rows are, given
    ``batch_of``: the batch each canonical URI resolves to (URIs naming none left out).
    ``named``: the document's :func:`identifiers`, when the caller has them already."""
    cols = columns(doc)
    if named is None:
        named = identifiers(doc)
    epcs = [(role, uri[:URI_LENGTH], batch_of.get(uri)) for role, uri in named]
    return Derived(cols, epcs, links(cols["event_type"], cols["action"], epcs))


# Comparing what is stored with what the document says ------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    """One stored column or index row that is not what the event's document says.

    ``kind`` is ``derived`` (a column of the event row) or ``index`` (its ``event_epc`` or
    ``batch_link`` rows); ``what`` names the column or the table."""

    kind: str
    what: str
    message: str


@dataclass(frozen=True)
class BatchFacts:
    """What :func:`batch_explained` needs of a batch: when it was registered, its lot code."""

    created_at: dt.datetime
    lot_code: str


def _gs1_lot(uri: str) -> str | None:
    if not uri.startswith(GS1_BASE + "/01/"):
        return None
    parts = uri[len(GS1_BASE) + 1 :].split("/")
    return unquote(parts[3]) if len(parts) == 4 and parts[2] == "10" else None


def batch_explained(
    uri: str,
    stored: int | None,
    resolved: int | None,
    record_time: dt.datetime,
    facts: Mapping[int, BatchFacts],
) -> bool:
    """Whether an index row's batch ``stored`` fits its identifier, which resolves now to
    ``resolved`` (see the module docstring for the rule)."""
    if stored == resolved:
        return True
    if stored is None and resolved is not None:
        registered = facts.get(resolved)
        return registered is not None and registered.created_at > record_time
    if stored is not None and resolved is None:
        lot = _gs1_lot(uri)
        known = facts.get(stored)
        return lot is not None and known is not None and known.lot_code == lot
    return False


def _value(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return repr(value)


def _same(stored: Any, expected: Any) -> bool:
    if isinstance(stored, dt.datetime) and isinstance(expected, dt.datetime):
        return stored == expected
    return bool(stored == expected) and type(stored) is type(expected)


StoredEpc = tuple[str, str, "int | None", dt.datetime]  # (role, uri, batch id, event_time)


def compare(
    row: Mapping[str, Any],
    doc: Mapping[str, Any],
    record_time: dt.datetime,
    stored_epcs: list[StoredEpc],
    stored_links: list[Link],
    batch_of: Mapping[str, int],
    facts: Mapping[int, BatchFacts],
    named: list[tuple[str, str]] | None = None,
) -> list[Mismatch]:
    """What of the stored event differs from what its document ``doc`` derives: the derived
    columns of ``row`` (column name → value), and its ``event_epc`` rows and ``batch_link``
    edges compared as multisets. ``batch_of`` is the current resolution of the identifiers; a
    stored batch that :func:`batch_explained` accepts counts as derived. ``named``: the
    document's :func:`identifiers`, when the caller has them already."""
    try:
        derived = derive(doc, batch_of, named)
        named = named if named is not None else identifiers(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        return [Mismatch("derived", "document", f"its document cannot be read ({error!r})")]
    cols = derived.columns
    found = [
        Mismatch(
            "derived",
            name,
            f"column {name} is {_value(row[name])} but its document says {_value(cols[name])}",
        )
        for name in COLUMNS
        if not _same(row[name], cols[name])
    ]
    stored_batch = {(role, uri): batch for role, uri, batch, _ in stored_epcs}
    explained: dict[str, int | None] = {}
    for (role, full_uri), (_, uri, batch) in zip(named, derived.epcs, strict=True):
        stored = stored_batch.get((role, uri), batch)
        if stored != batch and batch_explained(uri, stored, batch, record_time, facts):
            explained[full_uri] = stored
    if explained:  # rows that keep what capture knew: derived again with it
        derived = derive(doc, {**batch_of, **explained}, named)
    event_time = cols["event_time"]
    want_rows = [(role, uri, batch, event_time) for role, uri, batch in derived.epcs]
    if want_rows != stored_epcs:  # the same rows, in capture's order: the common case
        found += _row_differences(Counter(want_rows), Counter(stored_epcs))
    if derived.links or stored_links:
        want, have = Counter(derived.links), Counter(stored_links)
        for i, o in sorted((want - have).elements()):
            found.append(Mismatch("index", "batch_link", f"batch_link {i} → {o} that its "
                                  "document makes is missing"))  # fmt: skip
        for i, o in sorted((have - want).elements()):
            found.append(Mismatch("index", "batch_link", f"batch_link {i} → {o} is not in its "
                                  "document"))  # fmt: skip
    return found


def _row_differences(want: Counter[StoredEpc], have: Counter[StoredEpc]) -> list[Mismatch]:
    found = []
    for role, uri, batch, moment in sorted((want - have).elements(), key=str):
        found.append(Mismatch("index", "event_epc", f"event_epc row ({role}, {uri}, batch "
                              f"{batch}, {_value(moment)}) that its document names is "
                              "missing"))  # fmt: skip
    for role, uri, batch, moment in sorted((have - want).elements(), key=str):
        found.append(Mismatch("index", "event_epc", f"event_epc row ({role}, {uri}, batch "
                              f"{batch}, {_value(moment)}) is not what its document "
                              "says"))  # fmt: skip
    return found
