"""Validation of EPCIS 2.0 JSON(-LD) documents: the GS1 JSON schema plus what it leaves out.

The schema is checked in two parts so that large documents stay fast: the document without its
events against the whole schema (with ``jsonschema``), then every event against the event
sub-schema, compiled once with ``fastjsonschema`` when it is installed. Only an event that fails
the compiled check is validated again with ``jsonschema`` to report every problem with its
JSON pointer. Without ``fastjsonschema`` the same result comes, more slowly, from ``jsonschema``.

The schema does not check ``format`` (``uri``, ``date-time``) unless told how, and accepts
unknown bizStep/disposition words, un-namespaced ILMD keys and more; :func:`validate_document`
adds those checks (see :func:`_event_problems`).
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from trace.epcis import cbv
from trace.epcis.hashing import document_ignore_fields, namespace_map

__all__ = ["EpcisProblem", "EventList", "parse_document", "validate_document"]

_DATA = Path(__file__).with_name("data")

EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)
_COMMON_FIELDS = frozenset(
    {
        "@context",
        "type",
        "eventTime",
        "recordTime",
        "eventTimeZoneOffset",
        "eventID",
        "certificationInfo",
        "errorDeclaration",
    }
)
_WHY_WHERE = frozenset(
    {
        "bizStep",
        "disposition",
        "persistentDisposition",
        "readPoint",
        "bizLocation",
        "bizTransactionList",
        "sourceList",
        "destinationList",
        "sensorElementList",
    }
)
_EVENT_FIELDS: dict[str, frozenset[str]] = {
    "ObjectEvent": _COMMON_FIELDS | _WHY_WHERE | {"epcList", "quantityList", "action", "ilmd"},
    "AggregationEvent": _COMMON_FIELDS
    | _WHY_WHERE
    | {"parentID", "childEPCs", "childQuantityList", "action"},
    "AssociationEvent": _COMMON_FIELDS
    | _WHY_WHERE
    | {"parentID", "childEPCs", "childQuantityList", "action"},
    "TransactionEvent": _COMMON_FIELDS
    | _WHY_WHERE
    | {"parentID", "epcList", "quantityList", "action"},
    "TransformationEvent": _COMMON_FIELDS
    | _WHY_WHERE
    | {
        "inputEPCList",
        "inputQuantityList",
        "outputEPCList",
        "outputQuantityList",
        "transformationID",
        "ilmd",
    },
}
#: Quantities below what the stage form and a batch's quantity allow (18 digits, 3 of them
#: decimals), so pages and exports show them alike (a stored 1e308 broke the public page).
QUANTITY_LIMIT = 10**15
_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]*$")
_DATE_TIME = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$"
)
_OFFSET = re.compile(r"^[+-](\d\d):(\d\d)$")
_STANDARD_PREFIXES = frozenset({"epcis", "cbv", "cbvmda", "gs1", "rdfs", "owl", "xsd", "dcterms"})


@dataclass(frozen=True, slots=True)
class EpcisProblem:
    """One problem found in a document.

    ``event_index`` is the position of the event in the event list (``None`` for the document
    itself); ``pointer`` is a JSON pointer (RFC 6901) into the document.
    """

    event_index: int | None
    pointer: str
    message: str


class EventList(list[dict[str, Any]]):
    """The events of a document, with what hashing them needs from the document.

    ``context`` is the document ``@context``, ``namespaces`` its ``prefix -> IRI`` map and
    ``ignore_fields`` the fields it declares with ``…:ignoreFields``; pass them on as
    ``event_hash_id(event, events.context, ignore_fields=events.ignore_fields)``.
    """

    context: Any
    namespaces: dict[str, str]
    ignore_fields: list[str]
    pointer: str


# --------------------------------------------------------------------------- formats


def is_uri(value: object) -> bool:
    """An absolute URI (``scheme:rest``, no spaces), the check behind ``format: uri``.

    JSON-LD blank node identifiers (``_:document1``, used as document ``id`` by the GS1
    examples) are accepted too: they are valid ``@id`` values in JSON-LD.
    """
    if not isinstance(value, str):
        return False
    return _URI.match(value) is not None or (value.startswith("_:") and len(value) > 2)


def is_date_time(value: object) -> bool:
    """An RFC 3339 date-time with an explicit offset (``Z`` or ``±hh:mm``)."""
    if not isinstance(value, str):
        return False
    return _is_date_time_cached(value) if len(value) <= 64 else _is_date_time_text(value)


def _is_date_time_text(value: str) -> bool:
    m = _DATE_TIME.match(value)
    if not m:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    try:
        datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError:
        return False
    tz = m.group(8)
    if tz not in "Zz":
        off = _OFFSET.match(tz)
        if not off or int(off.group(1)) > 23 or int(off.group(2)) > 59:
            return False
    return True


#: Cached (short strings only, so the cache stays small): the schema's format check and the
#: rules beyond it both ask, and the events of a document (an import's rows) share their times.
_is_date_time_cached = lru_cache(maxsize=8192)(_is_date_time_text)


def _is_uri_for_schema(value: object) -> bool:
    return not isinstance(value, str) or is_uri(value)


def _is_date_time_for_schema(value: object) -> bool:
    return not isinstance(value, str) or is_date_time(value)


# --------------------------------------------------------------------------- schema


@cache
def _schema() -> dict[str, Any]:
    with (_DATA / "EPCIS-JSON-Schema.json").open(encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
        return schema


@cache
def _format_checker() -> Any:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checks("uri")(_is_uri_for_schema)
    checker.checks("date-time")(_is_date_time_for_schema)
    return checker


@cache
def _header_validator() -> Any:
    """The whole schema with event lists reduced to arrays of objects."""
    from jsonschema import Draft7Validator

    schema = copy.deepcopy(_schema())
    schema["definitions"]["eventList"] = {"type": "array", "items": {"type": "object"}}
    return Draft7Validator(schema, format_checker=_format_checker())


def _event_schema() -> dict[str, Any]:
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$ref": "#/definitions/EPCIS-Document-Event",
        "definitions": _schema()["definitions"],
    }


@cache
def _event_validator() -> Any:
    from jsonschema import Draft7Validator

    return Draft7Validator(_event_schema(), format_checker=_format_checker())


def _name_alternatives(node: Any, defs: Mapping[str, Any]) -> tuple[set[str], bool] | None:
    """(names, any URI allowed) when a ``propertyNames`` schema is only enums and URI refs."""
    if isinstance(node, Mapping) and "$ref" in node and len(node) == 1:
        name = node["$ref"].rsplit("/", 1)[-1]
        target = defs.get(name)
        if name in ("vocab-uri", "uri", "id") and target == {"type": "string", "format": "uri"}:
            return set(), True
        return _name_alternatives(target, defs)
    if isinstance(node, Mapping) and "anyOf" in node and set(node) <= {"anyOf", "type"}:
        names: set[str] = set()
        uri = False
        for branch in node["anyOf"]:
            alt = _name_alternatives(branch, defs)
            if alt is None:
                return None
            names |= alt[0]
            uri = uri or alt[1]
        return names, uri
    if isinstance(node, Mapping) and "enum" in node and set(node) <= {"enum", "type"}:
        return {str(v) for v in node["enum"]}, False
    return None


def _fast_schema() -> dict[str, Any]:
    """The event schema with ``propertyNames: anyOf[enum, uri]`` folded into one regex.

    Same meaning (with this module's ``uri`` format), but a single regex test instead of an
    exception per alternative: it makes the compiled check several times faster.
    """
    schema = copy.deepcopy(_event_schema())
    defs = schema["definitions"]

    def fold(node: Any) -> None:
        if isinstance(node, dict):
            names = node.get("propertyNames")
            alt = _name_alternatives(names, defs) if names is not None else None
            if alt is not None:
                parts = [re.escape(n) for n in sorted(alt[0])]
                if alt[1]:
                    parts += [_URI.pattern[1:-1], "_:.+"]
                node["propertyNames"] = {"type": "string", "pattern": f"^(?:{'|'.join(parts)})$"}
            for value in node.values():
                fold(value)
        elif isinstance(node, list):
            for value in node:
                fold(value)

    fold(defs)
    for event_type in EVENT_TYPES:
        _drop_repeated_checks(defs[event_type]["allOf"], defs)
    return schema


#: Keywords whose subschemas apply to the same instance as their parent.
_SAME_INSTANCE = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else")


def _drop_repeated_checks(parts: list[Any], defs: Mapping[str, Any]) -> None:
    """Drop from the other parts of an event's ``allOf`` the property checks its main part
    (``type: object`` with ``properties``) makes anyway.

    The schema's "what" rule repeats them (``anyOf`` epcList with its items, quantityList with
    its items…). Every part applies to the same event, which the main part must pass too, so a
    repeated check can only agree with it: the verdict stays, with less work per event.
    """

    def resolved(node: Any) -> Any:
        while isinstance(node, Mapping) and set(node) == {"$ref"}:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        return node

    main = next(p["properties"] for p in parts if p.get("type") == "object" and "properties" in p)

    def lighten(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                lighten(item)
            return
        if not isinstance(node, dict):
            return
        properties = node.get("properties")
        if not isinstance(properties, dict):
            properties = {}
        for key, check in properties.items():
            if key not in main:
                continue
            here, done = resolved(check), resolved(main[key])
            if here == done:
                properties[key] = {}
            elif (
                isinstance(here, Mapping)
                and isinstance(done, Mapping)
                and here.get("type") == done.get("type") == "array"
                and "items" in here
                and resolved(here["items"]) == resolved(done.get("items"))
            ):
                properties[key] = {k: v for k, v in here.items() if k != "items"}
        for keyword in _SAME_INSTANCE:
            if keyword in node:
                lighten(node[keyword])

    for part in parts:
        if part.get("properties") is not main:
            lighten(part)


@cache
def _fast_event_check() -> Any:
    """A compiled event check (``fastjsonschema``) or ``None`` when that is not installed."""
    try:
        import fastjsonschema
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return fastjsonschema.compile(
        _fast_schema(),
        formats={"uri": _is_uri_for_schema, "date-time": _is_date_time_for_schema},
    )


@cache
def _fast_check_of(event_type: str) -> Any:
    """The compiled check of an event of one of :data:`EVENT_TYPES`, or ``None`` without
    ``fastjsonschema``. The same meaning as :func:`_fast_event_check` for such an event: the
    schema's ``EPCIS-Document-Event`` is a chain of ``if type is X then X`` whose only ``then``
    that applies is the event type's own, so the other ``if``s need not be tried (each failed
    ``if`` costs the compiled code an exception)."""
    try:
        import fastjsonschema
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    schema = _fast_schema()
    typed = {
        "$schema": schema["$schema"],
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"type": "string"}},
        "allOf": [{"$ref": f"#/definitions/{event_type}"}],
        "definitions": schema["definitions"],
    }
    return fastjsonschema.compile(
        typed,
        formats={"uri": _is_uri_for_schema, "date-time": _is_date_time_for_schema},
        detailed_exceptions=False,
    )


def _fast_check(event: Any) -> Any:
    """The compiled check for this event (by its type when it is a known one)."""
    if isinstance(event, dict) and event.get("type") in EVENT_TYPES:
        return _fast_check_of(event["type"])
    return _fast_event_check()


def _pointer(base: str, path: Iterator[Any] | Any) -> str:
    return base + "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _schema_message(error: Any) -> str:
    message: str = error.message
    instance = repr(error.instance)
    if len(instance) > 60 and message.startswith(instance):
        message = "the value" + message[len(instance) :]
    if error.context:
        from jsonschema.exceptions import best_match

        best = best_match(error.context)
        if best is not None and best.message != message:
            detail = best.message
            if best.relative_path:
                detail = "/".join(map(str, best.relative_path)) + ": " + detail
            message += f" ({detail})"
    if len(message) > 300:
        message = message[:297] + "..."
    return "schema: " + message


def _schema_problems(
    validator: Any, instance: Any, index: int | None, base: str
) -> list[EpcisProblem]:
    return [
        EpcisProblem(index, _pointer(base, e.absolute_path), _schema_message(e))
        for e in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    ]


# --------------------------------------------------------------------------- document access


def _locate_events(doc: Mapping[str, Any]) -> tuple[str, Any]:
    body = doc.get("epcisBody")
    if not isinstance(body, Mapping):
        return "", None
    if doc.get("type") == "EPCISQueryDocument" or "queryResults" in body:
        results = body.get("queryResults")
        rb = results.get("resultsBody") if isinstance(results, Mapping) else None
        if isinstance(rb, Mapping):
            return "/epcisBody/queryResults/resultsBody/eventList", rb.get("eventList")
        return "", None
    if "eventList" in body:
        return "/epcisBody/eventList", body.get("eventList")
    if "event" in body:  # a single-event body, as some capture clients send
        return "/epcisBody/event", [body["event"]]
    return "", None


def parse_document(doc: Mapping[str, Any]) -> EventList:
    """The events of an EPCISDocument (``epcisBody.eventList``) or an EPCISQueryDocument
    (``epcisBody.queryResults.resultsBody.eventList``), in document order.

    Raises ``ValueError`` when *doc* has no event list. The result carries the document's
    ``@context``, namespace map and ``ignoreFields`` for hashing (see :class:`EventList`).
    """
    if not isinstance(doc, Mapping):
        raise ValueError("an EPCIS document must be a JSON object")
    pointer, events = _locate_events(doc)
    if not isinstance(events, list):
        raise ValueError("the document has no epcisBody.eventList (nor queryResults eventList)")
    out = EventList(e for e in events if isinstance(e, dict))
    out.context = doc.get("@context")
    out.namespaces = namespace_map(out.context)
    out.ignore_fields = document_ignore_fields(doc)
    out.pointer = pointer
    return out


# --------------------------------------------------------------------------- extra checks


def _declared_prefixes(context: object) -> set[str]:
    return set(namespace_map(context)) | _STANDARD_PREFIXES


def _is_namespaced(key: str, prefixes: set[str]) -> bool:
    """A key that is a full URI, or a CURIE whose prefix the context declares."""
    head, sep, tail = key.partition(":")
    if not sep or not head or not tail:
        return False
    return head in prefixes or tail.startswith("//") or head in ("urn", "http", "https")


def _vocab(
    problems: list[EpcisProblem], kind: str, value: object, index: int, pointer: str
) -> None:
    if value is None or not isinstance(value, str):
        return  # the schema reports wrong types
    try:
        cbv.canonical_term(kind, value)
    except cbv.VocabularyError:
        problems.append(
            EpcisProblem(index, pointer, f"unknown CBV {kind} {value!r} (not a CBV 2.0 term)")
        )


_COLUMN_LIMITS = (
    ("eventID", None, 200),
    ("bizStep", None, 200),
    ("disposition", None, 200),
    ("readPoint", "id", 300),
    ("bizLocation", "id", 300),
)
YEAR_MIN, YEAR_MAX = 1900, 2999
"""Times outside these years are refused: moving one to UTC or to a page's +07:00 stays far
from the limits of Python's calendar (``9999-12-31T23:59:59-12:00`` would overflow)."""


def _time(
    problems: list[EpcisProblem], value: object, index: int | None, pointer: str, name: str
) -> None:
    if isinstance(value, str) and not is_date_time(value):
        problems.append(
            EpcisProblem(
                index,
                pointer,
                f"{name} {value!r} is not an ISO 8601 date-time with a time zone offset "
                "(e.g. 2024-05-01T08:30:00+07:00)",
            )
        )
    elif isinstance(value, str) and not YEAR_MIN <= int(value[:4]) <= YEAR_MAX:
        problems.append(
            EpcisProblem(
                index, pointer, f"{name} {value!r} lies outside the years {YEAR_MIN} to {YEAR_MAX}"
            )
        )


def _event_problems(
    event: Mapping[str, Any], index: int, base: str, prefixes: set[str]
) -> list[EpcisProblem]:
    """Checks the JSON schema does not make: vocabularies, extension keys, times, quantities,
    the identifiers an event must name and the error declaration."""
    problems: list[EpcisProblem] = []
    etype = event.get("type")
    fields = _EVENT_FIELDS.get(etype) if isinstance(etype, str) else None
    here = base + "/" + str(index)

    # fields: known for the type, or namespaced extensions
    if fields is not None:
        for key in event:
            if key not in fields and not _is_namespaced(key, prefixes):
                problems.append(
                    EpcisProblem(
                        index,
                        _pointer(here, [key]),
                        f"unknown field {key!r} in {etype}: not an EPCIS 2.0 field and not a "
                        "namespaced extension (use prefix:name with the prefix in @context)",
                    )
                )

    # vocabularies
    _vocab(problems, "bizStep", event.get("bizStep"), index, here + "/bizStep")
    _vocab(problems, "disposition", event.get("disposition"), index, here + "/disposition")
    pd = event.get("persistentDisposition")
    if isinstance(pd, Mapping):
        for part in ("set", "unset"):
            values = pd.get(part)
            for i, v in enumerate(values if isinstance(values, list) else []):
                p = f"{here}/persistentDisposition/{part}/{i}"
                _vocab(problems, "disposition", v, index, p)
    for list_name, kind in (
        ("bizTransactionList", "bizTransactionType"),
        ("sourceList", "sourceDestType"),
        ("destinationList", "sourceDestType"),
    ):
        items = event.get(list_name)
        for i, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, Mapping):
                p = f"{here}/{list_name}/{i}/type"
                _vocab(problems, kind, item.get("type"), index, p)
    sensors = event.get("sensorElementList")
    for i, element in enumerate(sensors if isinstance(sensors, list) else []):
        if not isinstance(element, Mapping):
            continue
        meta = element.get("sensorMetadata")
        if isinstance(meta, Mapping):
            for name in ("time", "startTime", "endTime"):
                p = f"{here}/sensorElementList/{i}/sensorMetadata/{name}"
                _time(problems, meta.get(name), index, p, name)
        reports = element.get("sensorReport")
        for j, report in enumerate(reports if isinstance(reports, list) else []):
            if not isinstance(report, Mapping):
                continue
            p = f"{here}/sensorElementList/{i}/sensorReport/{j}"
            _vocab(problems, "measurementType", report.get("type"), index, p + "/type")
            _vocab(problems, "sensorAlertType", report.get("exception"), index, p + "/exception")
            _vocab(problems, "component", report.get("component"), index, p + "/component")
            _time(problems, report.get("time"), index, p + "/time", "time")

    # ILMD keys must be namespaced
    ilmd = event.get("ilmd")
    if ilmd is not None and etype == "ObjectEvent" and event.get("action") != "ADD":
        problems.append(
            EpcisProblem(
                index,
                here + "/ilmd",
                "ilmd (instance/lot master data) is only allowed in an ObjectEvent with "
                "action ADD, when the objects are created",
            )
        )
    if isinstance(ilmd, Mapping):
        for key in ilmd:
            if not _is_namespaced(key, prefixes):
                problems.append(
                    EpcisProblem(
                        index,
                        _pointer(here + "/ilmd", [key]),
                        f"ILMD field {key!r} has no namespace: ILMD fields must be "
                        "namespaced (prefix:name, e.g. cbvmda:lotNumber)",
                    )
                )

    # identifiers kept in their own columns: no longer than those (PostgreSQL would refuse)
    for name, place_key, limit in _COLUMN_LIMITS:
        value = event.get(name)
        if place_key and isinstance(value, Mapping):
            value, pointer = value.get(place_key), f"{here}/{name}/{place_key}"
        else:
            pointer = f"{here}/{name}"
        if isinstance(value, str) and len(value) > limit:
            problems.append(
                EpcisProblem(index, pointer, f"{name} is longer than {limit} characters")
            )

    # times and offsets
    _time(problems, event.get("eventTime"), index, here + "/eventTime", "eventTime")
    _time(problems, event.get("recordTime"), index, here + "/recordTime", "recordTime")
    offset = event.get("eventTimeZoneOffset")
    if isinstance(offset, str):
        m = _OFFSET.match(offset)
        minutes = (int(m.group(1)) * 60 + int(m.group(2))) if m else None
        if (
            m is None
            or int(m.group(2)) > 59
            or minutes is None
            or (offset[0] == "+" and minutes > 14 * 60)
            or (offset[0] == "-" and minutes > 12 * 60)
        ):
            problems.append(
                EpcisProblem(
                    index,
                    here + "/eventTimeZoneOffset",
                    f"eventTimeZoneOffset {offset!r} is not an offset between -12:00 and "
                    "+14:00 in the form ±hh:mm",
                )
            )

    # quantities
    for list_name in _QUANTITY_LISTS:
        items = event.get(list_name)
        for i, q in enumerate(items if isinstance(items, list) else []):
            if not isinstance(q, Mapping):
                continue
            p = f"{here}/{list_name}/{i}"
            quantity = q.get("quantity")
            if "uom" in q and "quantity" not in q:
                problems.append(EpcisProblem(index, p + "/uom", "uom given without a quantity"))
            if isinstance(quantity, bool) or not isinstance(quantity, int | float):
                continue  # absent, or a wrong type the schema reports
            if not math.isfinite(quantity) or quantity < 0:
                problems.append(
                    EpcisProblem(
                        index, p + "/quantity", f"quantity {quantity!r} must be a number >= 0"
                    )
                )
            elif quantity >= QUANTITY_LIMIT:
                problems.append(
                    EpcisProblem(index, p + "/quantity", (
                        f"quantity {quantity!r} must be less than 10^15 (what a batch's "
                        "quantity holds)"
                    ))
                )  # fmt: skip
            elif "uom" not in q and quantity != int(quantity):
                problems.append(
                    EpcisProblem(
                        index,
                        p + "/quantity",
                        f"quantity {quantity!r} without uom is a count and must be an integer",
                    )
                )

    # what the event is about
    if etype == "ObjectEvent" and not (
        event.get("epcList") or event.get("quantityList") or event.get("sensorElementList")
    ):
        problems.append(
            EpcisProblem(
                index,
                here,
                "ObjectEvent names no objects: epcList and quantityList are both missing or "
                "empty (and there is no sensor data)",
            )
        )
    if etype == "TransformationEvent" and not any(
        event.get(k)
        for k in ("inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList")
    ):
        problems.append(
            EpcisProblem(index, here, "TransformationEvent has neither inputs nor outputs")
        )
    if (
        etype in ("AggregationEvent", "AssociationEvent")
        and event.get("action") in ("ADD", "DELETE")
        and not event.get("parentID")
    ):
        problems.append(
            EpcisProblem(index, here, f"{etype} with action {event.get('action')} needs a parentID")
        )

    # error declaration
    declaration = event.get("errorDeclaration")
    if declaration is not None:
        p = here + "/errorDeclaration"
        if not isinstance(declaration, Mapping):
            problems.append(EpcisProblem(index, p, "errorDeclaration must be an object"))
        else:
            if "declarationTime" not in declaration:
                problems.append(EpcisProblem(index, p, "errorDeclaration needs a declarationTime"))
            _time(
                problems,
                declaration.get("declarationTime"),
                index,
                p + "/declarationTime",
                "declarationTime",
            )
            _vocab(problems, "errorReason", declaration.get("reason"), index, p + "/reason")
            ids = declaration.get("correctiveEventIDs")
            if ids is not None and not (isinstance(ids, list) and all(map(is_uri, ids))):
                problems.append(
                    EpcisProblem(
                        index,
                        p + "/correctiveEventIDs",
                        "correctiveEventIDs must be a list of event ID URIs",
                    )
                )
            for key in declaration:
                if key not in ("declarationTime", "reason", "correctiveEventIDs") and (
                    not _is_namespaced(key, prefixes)
                ):
                    problems.append(
                        EpcisProblem(
                            index,
                            _pointer(p, [key]),
                            f"unknown field {key!r} in errorDeclaration (extensions must be "
                            "namespaced)",
                        )
                    )
    return problems


def _with_events(doc: Mapping[str, Any], pointer: str, events: list[Any]) -> dict[str, Any]:
    """A shallow copy of *doc* whose event list (at *pointer*, ``/a/b/eventList``) is *events*."""
    head, _, rest = pointer[1:].partition("/")
    inner = _with_events(doc[head], "/" + rest, events) if rest else events
    return {**doc, head: inner}


def _header_problems(doc: Mapping[str, Any], base: str, events: Any) -> list[EpcisProblem]:
    """The schema problems of the document without its events' own.

    The header schema asks no more of an event than to be an object, yet ``jsonschema`` walks
    every one of them (~7 µs an event). When every event is an object the document is checked
    with an empty event list instead: the same verdict. Only when that finds a problem is the
    document checked as sent, so that messages quoting the list stay what they were.
    """
    validator = _header_validator()
    if (
        base.endswith("/eventList")
        and isinstance(events, list)
        and all(isinstance(event, dict) for event in events)
        and not _schema_problems(validator, _with_events(doc, base, []), None, "")
    ):
        return []
    return _schema_problems(validator, doc, None, "")


# --------------------------------------------------------------------------- entry point


def validate_document(doc: dict[str, Any]) -> list[EpcisProblem]:
    """All problems of an EPCIS 2.0 JSON(-LD) document; an empty list means it is valid.

    Checks the GS1 EPCIS 2.0 JSON schema (with ``uri`` and ``date-time`` formats enforced)
    and, per event, the rules of :func:`_event_problems`.
    """
    if not isinstance(doc, Mapping):
        return [EpcisProblem(None, "", "an EPCIS document must be a JSON object")]
    base, events = _locate_events(doc)
    problems = _header_problems(doc, base, events)
    _time(problems, doc.get("creationDate"), None, "/creationDate", "creationDate")
    if not isinstance(events, list):
        if not problems:
            problems.append(EpcisProblem(None, "/epcisBody", "the document has no event list"))
        return problems
    prefixes = _declared_prefixes(doc.get("@context"))
    for index, event in enumerate(events):
        schema_ok = False
        fast = _fast_check(event)
        if fast is not None:
            try:
                fast(event)
                schema_ok = True
            except Exception:
                schema_ok = False
        if not schema_ok:
            problems.extend(_schema_problems(_event_validator(), event, index, f"{base}/{index}"))
        if isinstance(event, Mapping):
            if "@context" in event:
                event_prefixes = prefixes | _declared_prefixes(event["@context"])
            else:
                event_prefixes = prefixes
            problems.extend(_event_problems(event, index, base, event_prefixes))
    return _dedupe(problems)


def _dedupe(problems: list[EpcisProblem]) -> list[EpcisProblem]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        key = (p.pointer, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
