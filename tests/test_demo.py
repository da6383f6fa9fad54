"""The demo data set as a new user meets it: record times that read like a real season, an
intact ledger, and the late-entry flag still strict for everything that is not the demo."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from trace.models import Event


def _demo(app) -> dict:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["demo", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_demo_events_are_recorded_shortly_after_they_happened(app, session) -> None:
    _demo(app)
    now = dt.datetime.now(dt.UTC)
    events = session.scalars(select(Event).order_by(Event.seq)).all()
    assert len(events) >= 100
    past = [e for e in events if _aware(e.event_time) < now - dt.timedelta(hours=6)]
    assert past, "the fixture has events in the past"
    for event in past:
        delay = _aware(event.record_time) - _aware(event.event_time)
        assert dt.timedelta(minutes=5) <= delay <= dt.timedelta(hours=6), (event.seq, delay)
    # Not one fixed offset: each event gets its own, from its hash ID, the same on every load.
    assert len({_aware(e.record_time) - _aware(e.event_time) for e in past}) > len(past) // 2
    # Never recorded in the future, even for a fixture event that has not happened yet.
    assert all(_aware(e.record_time) <= dt.datetime.now(dt.UTC) for e in events)


def test_demo_ledger_stays_intact(app) -> None:
    _demo(app)
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "Ledger intact" in result.output


def test_audits_do_not_flag_demo_events_late(app, client, session) -> None:
    tokens = _demo(app)["tokens"]
    inspector = {"Authorization": f"Bearer {tokens['inspector']}"}
    batches = client.get("/api/v1/batches?limit=500", headers=inspector).json["items"]
    audited = late = 0
    for batch in batches:
        audit = client.get(f"/api/v1/batches/{batch['id']}/audit", headers=inspector).json
        audited += len(audit["events"])
        late += sum(1 for e in audit["events"] if e["late"])
        assert audit["ledger_ok"] is True
    assert audited >= 100 and late == 0


def test_late_flag_stays_strict_after_the_demo(app, client) -> None:
    """The API cannot choose a record time: an old event sent today, recordTime and all, is
    recorded now and flagged late, demo or not."""
    tokens = _demo(app)["tokens"]
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    inspector = {"Authorization": f"Bearer {tokens['inspector']}"}
    batch = client.get("/api/v1/batches?limit=1", headers=admin).json["items"][0]
    stage = client.post(f"/api/v1/batches/{batch['id']}/events", headers=admin,
                        json={"stage": "inspecting", "time": "2026-06-09T10:00:00"})  # fmt: skip
    assert stage.status_code == 201, stage.json
    exported = client.get(f"/api/v1/batches/{batch['id']}/epcis", headers=admin).json
    events = exported["epcisBody"]["eventList"]
    uri = next(e for e in events if "quantityList" in e)["quantityList"][0]["epcClass"]
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-06-10T00:00:00Z",
        "epcisBody": {"eventList": [{
            "type": "ObjectEvent", "action": "OBSERVE", "bizStep": "inspecting",
            "eventTime": "2026-06-10T08:00:00+07:00", "eventTimeZoneOffset": "+07:00",
            "recordTime": "2026-06-10T08:05:00+07:00",
            "quantityList": [{"epcClass": uri}],
        }]},
    }  # fmt: skip
    captured = client.post("/api/v1/capture", json=document, headers=admin)
    assert captured.status_code in (200, 201, 202), captured.json
    audit = client.get(f"/api/v1/batches/{batch['id']}/audit", headers=inspector).json
    by_time = {e["eventTime"][:16]: e for e in audit["events"]}
    for sent in ("2026-06-09T10:00", "2026-06-10T08:00"):
        event = by_time[sent]
        assert event["late"] is True and event["delay_hours"] > 72, event
    assert sum(1 for e in audit["events"] if e["late"]) == 2


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
