"""validate_document's shortcuts (the compiled event check, the header checked without its
events) give exactly the problems of the straightforward check: the whole document and every
event through ``jsonschema``, plus the rules beyond the schema."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trace.epcis import validation
from trace.epcis.validation import EpcisProblem, validate_document

DATA = Path(__file__).parent / "data"
DOCUMENTS = sorted((DATA / "epcis-valid").glob("*.jsonld")) + sorted(
    (DATA / "openepcis-invalid").glob("*.json")
)


def _straightforward(doc: dict[str, Any]) -> list[EpcisProblem]:
    """What validate_document means, without any shortcut."""
    problems = validation._schema_problems(validation._header_validator(), doc, None, "")
    validation._time(problems, doc.get("creationDate"), None, "/creationDate", "creationDate")
    base, events = validation._locate_events(doc)
    if not isinstance(events, list):
        if not problems:
            problems.append(EpcisProblem(None, "/epcisBody", "the document has no event list"))
        return problems
    prefixes = validation._declared_prefixes(doc.get("@context"))
    for index, event in enumerate(events):
        problems += validation._schema_problems(
            validation._event_validator(), event, index, f"{base}/{index}"
        )
        if isinstance(event, dict):
            own = prefixes | validation._declared_prefixes(event.get("@context"))
            problems += validation._event_problems(event, index, base, own)
    return validation._dedupe(problems)


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _mutations(event: dict[str, Any]) -> Iterator[Any]:
    """The event with one field removed, retyped or made invalid, and non-object events."""
    for key in event:
        yield {k: v for k, v in event.items() if k != key}
        for wrong in (42, "not a uri", None, [], {"x": 1}, [{"x": 1}], ["no uri"], [[]]):
            yield {**event, key: wrong}
    yield {**event, "unknownField": 1}
    yield {**event, "ex:extension": {"ex:nested": "é 漢字"}}
    yield {**event, "type": "NoSuchEvent"}
    yield {**event, "eventTime": "2024-13-01T00:00:00Z"}
    yield {**event, "readPoint": {"id": "no uri here"}}
    yield {**event, "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877",
                                      "quantity": "5"}]}  # fmt: skip
    yield "not an event"
    yield ["a", "list"]


def _variants(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield doc
    base, events = validation._locate_events(doc)
    if not isinstance(events, list) or not events or not base.endswith("/eventList"):
        return
    first = events[0]
    for mutated in _mutations(first if isinstance(first, dict) else {}):
        changed = copy.deepcopy(doc)
        _, changed_events = validation._locate_events(changed)
        changed_events[0] = mutated
        yield changed
    changed = copy.deepcopy(doc)
    changed.pop("schemaVersion", None)  # a header problem with events that are all objects
    yield changed
    changed = copy.deepcopy(doc)
    changed["schemaVersion"] = 2.0
    changed["epcisBody"]["unknown"] = 1
    yield changed


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_the_shortcuts_give_the_straightforward_problems(path: Path) -> None:
    checked = 0
    for doc in _variants(_load(path)):
        assert validate_document(doc) == _straightforward(doc)
        checked += 1
    assert checked >= 1


def test_a_header_problem_is_reported_when_every_event_is_an_object() -> None:
    doc = _load(sorted((DATA / "epcis-valid").glob("*.jsonld"))[0])
    doc["schemaVersion"] = 3
    problems = validate_document(doc)
    assert problems == _straightforward(doc)
    assert "/schemaVersion" in {p.pointer for p in problems if p.event_index is None}


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2026-06-01T08:30:00+07:00", True),
        ("2026-02-30T08:30:00+07:00", False),
        ("2026-06-01T08:30:00.1234Z", True),
        ("2026-06-01T08:30:00." + "1" * 60 + "Z", True),
        ("2026-06-01T08:30:00." + "1" * 60, False),
        ("2026-06-01T24:30:00+07:00", False),
        ("2026-06-01 08:30:00+07:00", False),
    ],
)
def test_the_cached_date_time_check_answers_as_the_uncached_one(value: str, valid: bool) -> None:
    assert validation._is_date_time_text(value) is valid
    assert validation.is_date_time(value) is valid
    assert validation.is_date_time(value) is valid  # again: from the cache when short
