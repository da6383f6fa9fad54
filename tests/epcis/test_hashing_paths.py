"""The hash's shortcut for plain string leaves builds the pre-hash string the general path
(``_convert`` then ``_rename``) builds. A ``str`` subclass takes the general path, so every
event is hashed twice: as given, and with each string wrapped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trace.epcis.hashing import pre_hash_string
from trace.epcis.validation import parse_document

EXAMPLES = Path(__file__).parent / "data" / "event-hash" / "examples"
CONTEXT = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"ex": "https://ns.example.com/epcis/", "vn": "https://id.trace.vn/voc/"},
]


class _Wrapped(str):
    """A string the shortcut does not recognise as a plain ``str``."""


def _wrapped(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _wrapped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wrapped(v) for v in value]
    if type(value) is str:
        return _Wrapped(value)
    return value


VARIED: list[dict[str, Any]] = [
    {
        "type": "ObjectEvent",
        "eventTime": "2026-06-01T08:30:00.1234+07:00",
        "eventTimeZoneOffset": "+07:00",
        "action": "ADD",
        "quantityList": [
            {"epcClass": "http://localhost:5000/lot/2/Lô-1", "quantity": 12.50, "uom": "KGM"}
        ],
        "bizStep": "commissioning",
        "disposition": "active",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
        "ilmd": {
            "ex:harvest": {"ex:orchard": "Vườn vải Lục Ngạn", "ex:rows": ["A", "B", "Ç"]},
            "cbvmda:lotNumber": "L1",
            "ex:bestBefore": "2026-07-01",
        },
    },
    {
        "type": "ObjectEvent",
        "eventTime": "2026-06-01T01:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "epcList": [
            "urn:epc:id:sgtin:4012345.011111.987",
            "https://id.gs1.org/01/04012345111118/21/9",
        ],
        "bizStep": "urn:epcglobal:cbv:bizstep:inspecting",
        "sensorElementList": [
            {
                "sensorMetadata": {
                    "time": "2026-06-01T00:59:00+07:00",
                    "deviceID": "ex:dev:1",
                    "ex:firmware": "1.2",
                },
                "sensorReport": [
                    {
                        "type": "Temperature",
                        "value": 4.50,
                        "uom": "CEL",
                        "component": "x",
                        "exception": "ALARM_CONDITION",
                    },
                    {"type": "gs1:Humidity", "stringValue": "ẩm", "ex:note": "độ ẩm cao"},
                ],
                "ex:sensorExtension": "e",
            }
        ],
        "bizTransactionList": [
            {"type": "po", "bizTransaction": "urn:trace:po:1"},
            {"bizTransaction": "ex:bt:2"},
        ],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}],
        "destinationList": [{"type": "location", "destination": "vn:place:1"}],
        "ex:userExtension": {"#text": "ex:value", "ex:inner": "漢字"},
        "ex:flag": "ex:on",
        "persistentDisposition": {"set": ["completeness_verified"], "unset": ["in_transit"]},
        "certificationInfo": "https://cert.example.com/c/1",
    },
    {
        "type": "TransformationEvent",
        "eventTime": "2026-06-02T08:00:00+07:00",
        "eventTimeZoneOffset": "+07:00",
        "inputQuantityList": [{"epcClass": "http://localhost:5000/lot/1/A", "quantity": 3}],
        "outputQuantityList": [
            {"epcClass": "http://localhost:5000/lot/1/B", "quantity": 2.0, "uom": "KGM"}
        ],
        "inputEPCList": ["urn:epc:id:sgtin:4012345.011111.1"],
        "transformationID": "urn:trace:tf:ß",
        "bizStep": "https://ref.gs1.org/cbv/BizStep-commissioning",
        "bizLocation": {"id": "urn:epc:id:sgln:4012345.00002.0", "ex:room": "2"},
        "inputQuantity": "leaf",
        "outputEPC": "urn:epc:id:sgtin:4012345.011111.2",
        "eventID": "ni:///x",
        "recordTime": "2026-06-02T09:00:00Z",
    },
    {
        "type": "AggregationEvent",
        "eventTime": "2026-06-03T08:00:00-03:30",
        "eventTimeZoneOffset": "-03:30",
        "action": "ADD",
        "parentID": "urn:epc:id:sscc:4012345.0000000001",
        "childEPCs": ["urn:epc:id:sgtin:4012345.011111.3", "urn:epc:id:sgtin:4012345.011111.4"],
        "childQuantityList": [
            {"epcClass": "urn:epc:class:lgtin:4012345.011111.L9", "quantity": 10}
        ],
        "disposition": "urn:epcglobal:cbv:disp:in_progress",
        "errorDeclaration": {"declarationTime": "2026-06-04T00:00:00Z", "reason": "incorrect_data"},
        "rdfs:comment": "not hashed",
    },
]


def _example_events() -> list[tuple[dict[str, Any], Any]]:
    out = []
    for path in sorted(EXAMPLES.glob("*.jsonld")):
        events = parse_document(json.loads(path.read_text(encoding="utf-8")))
        out += [(event, events.context) for event in events]
    return out


@pytest.mark.parametrize("event", VARIED, ids=lambda e: e["type"])
def test_the_shortcut_builds_the_general_pre_hash(event: dict[str, Any]) -> None:
    plain = pre_hash_string(event, CONTEXT)
    assert plain == pre_hash_string(_wrapped(event), CONTEXT)
    assert plain.startswith("eventType=" + event["type"])


def test_the_shortcut_builds_the_general_pre_hash_of_every_reference_event() -> None:
    examples = _example_events()
    assert len(examples) >= 40
    for event, context in examples:
        assert pre_hash_string(event, context) == pre_hash_string(_wrapped(event), context)


def test_wrapped_strings_take_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from trace.epcis import hashing

    calls: list[Any] = []
    general = hashing._convert

    def spy(value: Any, ns: Any, spec: Any) -> Any:
        calls.append(value)
        return general(value, ns, spec)

    monkeypatch.setattr(hashing, "_convert", spy)
    pre_hash_string(VARIED[0], CONTEXT)
    plain_calls = len(calls)
    pre_hash_string(_wrapped(VARIED[0]), CONTEXT)
    assert len(calls) - plain_calls > plain_calls
