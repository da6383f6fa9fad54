"""EPCIS document validation: schema, vocabularies and the checks the schema misses."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from trace.epcis.hashing import event_hash_id
from trace.epcis.validation import EpcisProblem, parse_document, validate_document

DATA = Path(__file__).parent / "data"
VALID = sorted((DATA / "epcis-valid").glob("*.jsonld"))
INVALID = sorted((DATA / "openepcis-invalid").glob("*.json"))
CONTEXT = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"example": "https://ns.example.com/epcis/"},
]

# What each invalid document must be reported for: (pointer fragment, words in the message).
EXPECTED = {
    "Combination_of_events_with_missing_mandatory_fields": ("/eventList/1", "required"),
    "Combination_of_multiple_invalid_fields": ("/eventList/0/bizStep", "transforming"),
    "Combination_of_non_standard_bizStep_and_disposition": ("/disposition", "in_transport"),
    "EPCISDocument_without_context": ("", "@context"),
    "ObjectEvent_with_ilmd_field_without_namespace": ("/ilmd/materialType", "namespace"),
    "ObjectEvent_with_invalid_action": ("/action", "CREATE"),
    "ObjectEvent_with_invalid_certificationInfo": ("/certificationInfo", ""),
    "ObjectEvent_with_invalid_eventTime_format": ("/eventTime", "22-07-2026"),
    "ObjectEvent_with_non_standard_bizStep": ("/eventList/0/bizStep", "unknown CBV bizStep"),
    "ObjectEvent_with_non_standard_bizStep_in_second_event": (
        "/eventList/1/bizStep",
        "transforming",
    ),
    "ObjectEvent_with_non_standard_disposition": ("/disposition", "unknown CBV disposition"),
    "ObjectEvent_with_quantity_as_text": ("/quantityList/0/quantity", "number"),
    "ObjectEvent_with_unknown_field_in_quantityList": ("/quantityList/0", "weight"),
    "ObjectEvent_without_action_and_eventTime": ("/eventList/0", "eventTime"),
    "ObjectEvent_without_identifier_list": ("/eventList/0", "names no objects"),
    "QueryDocument_with_invalid_action": ("/resultsBody/eventList/0/action", "INVALIDACTION"),
    "QueryDocument_with_invalid_eventType": ("/eventList/0/type", "ObjectEventInvalid"),
}


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _doc(*events: dict) -> dict:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-01T09:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def _event(**changes: object) -> dict:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2024-05-01T08:30:00+07:00",
        "eventTimeZoneOffset": "+07:00",
        "epcList": ["https://id.gs1.org/01/08934567123457/21/1001"],
        "action": "OBSERVE",
        "bizStep": "shipping",
    }
    event.update(changes)
    return {k: v for k, v in event.items() if v is not None}


def test_data_sets_are_present() -> None:
    assert len(VALID) == 14
    assert {p.stem for p in INVALID} == set(EXPECTED)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_gs1_examples_are_valid(path: Path) -> None:
    assert validate_document(_load(path)) == []


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_documents_are_rejected_with_a_message_naming_the_issue(path: Path) -> None:
    problems = validate_document(_load(path))
    assert problems
    assert all(isinstance(p, EpcisProblem) and p.message for p in problems)
    fragment, words = EXPECTED[path.stem]
    assert any(fragment in p.pointer and words in p.message for p in problems), problems


def test_a_valid_minimal_document() -> None:
    assert validate_document(_doc(_event())) == []


@pytest.mark.parametrize(
    ("changes", "pointer", "words"),
    [
        ({"bizStep": "harvesting"}, "/bizStep", "unknown CBV bizStep"),
        ({"bizStep": "urn:epcglobal:cbv:bizstep:foo"}, "/bizStep", "foo"),
        ({"disposition": "fresh"}, "/disposition", "unknown CBV disposition"),
        (
            {"bizTransactionList": [{"type": "order", "bizTransaction": "urn:x:1"}]},
            "/bizTransactionList/0/type",
            "bizTransactionType",
        ),
        (
            {"sourceList": [{"type": "farm", "source": "urn:epc:id:pgln:8934567.00000"}]},
            "/sourceList/0/type",
            "sourceDestType",
        ),
        (
            {"action": "ADD", "ilmd": {"harvestDate": "2024-05-01"}},
            "/ilmd/harvestDate",
            "namespace",
        ),
        ({"ilmd": {"example:grade": "A"}}, "/ilmd", "action ADD"),
        ({"farmName": "Lục Ngạn"}, "/farmName", "unknown field"),
        ({"eventTime": "2024-05-01T08:30:00"}, "/eventTime", "time zone"),
        ({"eventTime": "2024-13-01T08:30:00Z"}, "/eventTime", "date-time"),
        ({"eventTimeZoneOffset": "+7:00"}, "/eventTimeZoneOffset", "eventTimeZoneOffset"),
        ({"eventTimeZoneOffset": "-13:00"}, "/eventTimeZoneOffset", "-12:00"),
        ({"readPoint": {"id": "not a uri"}}, "/readPoint/id", "uri"),
        (
            {"epcList": None, "quantityList": [{"epcClass": "urn:x:1", "quantity": -5}]},
            "/quantityList/0/quantity",
            ">= 0",
        ),
        (
            {"epcList": None, "quantityList": [{"epcClass": "urn:x:1", "quantity": 2.5}]},
            "/quantityList/0/quantity",
            "integer",
        ),
        (
            {"errorDeclaration": {"reason": "incorrect_data"}},
            "/errorDeclaration",
            "declarationTime",
        ),
        (
            {"errorDeclaration": {"declarationTime": "2024-05-02T00:00:00Z", "reason": "oops"}},
            "/errorDeclaration/reason",
            "errorReason",
        ),
        (
            {"errorDeclaration": {"declarationTime": "2024-05-02T00:00:00Z", "note": "x"}},
            "/errorDeclaration/note",
            "unknown field",
        ),
        ({"epcList": []}, "", "names no objects"),
    ],
)
def test_checks_beyond_the_schema(changes: dict, pointer: str, words: str) -> None:
    problems = validate_document(_doc(_event(), _event(**changes)))
    full = "/epcisBody/eventList/1" + pointer
    matching = [p for p in problems if p.pointer == full and words in p.message]
    assert matching, problems
    assert all(p.event_index == 1 for p in matching)


def test_extensions_are_allowed() -> None:
    event = _event(
        bizStep="https://example.com/voc/BizStep-smoking",
        action="ADD",
        ilmd={"example:harvestDate": "2024-05-01", "cbvmda:lotNumber": "L1"},
        **{"example:farmName": "Lục Ngạn"},
    )
    assert validate_document(_doc(event)) == []


def test_query_document_and_parse_document() -> None:
    doc = {
        "@context": CONTEXT,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-01T09:00:00Z",
        "epcisBody": {
            "queryResults": {
                "queryName": "SimpleEventQuery",
                "resultsBody": {"eventList": [_event(), _event(bizStep="receiving")]},
            }
        },
    }
    assert validate_document(doc) == []
    events = parse_document(doc)
    assert [e["bizStep"] for e in events] == ["shipping", "receiving"]
    assert events.namespaces == {"example": "https://ns.example.com/epcis/"}
    assert events.pointer == "/epcisBody/queryResults/resultsBody/eventList"
    assert event_hash_id(events[0], events.context) == event_hash_id(_event(), CONTEXT)
    with pytest.raises(ValueError, match="eventList"):
        parse_document({"type": "EPCISDocument", "epcisBody": {}})


def test_problem_pointers_escape_json_pointer_characters() -> None:
    event = _event(ilmd={"https://ns.example.com/a": 1, "plain/key": 2})
    problems = validate_document(_doc(event))
    assert any(p.pointer.endswith("/ilmd/plain~1key") for p in problems)
    assert not any("ns.example.com" in p.pointer for p in problems)


def test_ten_thousand_events_validate() -> None:
    """Correctness only: the wall-clock target is ``tests/bench/bench_validation.py``."""
    events = [
        copy.deepcopy(_event(epcList=[f"urn:epc:id:sgtin:8934567.012345.{i}"]))
        for i in range(10_000)
    ]
    events[7_777]["action"] = "CREATE"  # one bad event among many is still found and named
    problems = validate_document(_doc(*events))
    assert {p.event_index for p in problems} == {7_777}
    assert "/epcisBody/eventList/7777/action" in {p.pointer for p in problems}
    events[7_777]["action"] = "OBSERVE"
    assert validate_document(_doc(*events)) == []


@pytest.mark.parametrize("path", INVALID[:6] + VALID[:3], ids=lambda p: p.name)
def test_without_the_compiled_check_the_result_is_the_same(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trace.epcis import validation

    doc = _load(path)
    fast = validate_document(doc)
    slow_checks: list[int] = []
    real = validation._event_validator

    def counted() -> object:
        slow_checks.append(1)
        return real()

    # Both compiled checks: events of a known type go through ``_fast_check_of``.
    monkeypatch.setattr(validation, "_fast_event_check", lambda: None)
    monkeypatch.setattr(validation, "_fast_check_of", lambda _event_type: None)
    monkeypatch.setattr(validation, "_event_validator", counted)
    assert validate_document(doc) == fast
    events = validation._locate_events(doc)[1]
    assert len(slow_checks) == (len(events) if isinstance(events, list) else 0)


@pytest.mark.parametrize("path", INVALID[:6], ids=lambda p: p.name)
def test_the_comparison_notices_a_broken_uncompiled_check(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test above would fail if the uncompiled check missed what the compiled one finds."""
    import jsonschema

    from trace.epcis import validation

    doc = _load(path)
    fast = validate_document(doc)
    monkeypatch.setattr(validation, "_fast_event_check", lambda: None)
    monkeypatch.setattr(validation, "_fast_check_of", lambda _event_type: None)
    monkeypatch.setattr(validation, "_event_validator", lambda: jsonschema.Draft7Validator({}))
    broken = validate_document(doc)
    event_schema_problems = [
        p for p in fast if p.event_index is not None and p.message.startswith("schema: ")
    ]
    assert (broken != fast) == bool(event_schema_problems)
