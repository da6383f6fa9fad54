"""The demo data set as a new user meets it: record times that read like a real season, an
intact ledger, and the late-entry flag still strict for everything that is not the demo."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from trace import create_app
from trace.db import db
from trace.models import Event

ROOT = Path(__file__).resolve().parent.parent


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
    # Never recorded in the future, and no fixture event dated after today (capture refuses
    # an event more than a day ahead of the clock).
    assert all(_aware(e.record_time) <= dt.datetime.now(dt.UTC) for e in events)
    assert all(_aware(e.event_time) <= now for e in events)


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


def test_demo_prints_the_public_url_it_links_to(app) -> None:
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Public URL (TRACE_PUBLIC_URL): https://trace.example.vn\n" in result.output
    pages = result.output.split("Public pages:\n", 1)[1].split()
    assert len(pages) >= 4 and all(p.startswith("https://trace.example.vn/") for p in pages)
    assert "localhost" not in result.output
    as_json = json.loads(app.test_cli_runner().invoke(args=["demo", "--json"]).output)
    assert as_json["public_url"] == "https://trace.example.vn"


@pytest.mark.committed  # another app writes the demo on the same database
def test_demo_links_follow_trace_public_url_from_the_environment(
    app, database_url, monkeypatch
) -> None:
    monkeypatch.setenv("TRACE_PUBLIC_URL", "http://127.0.0.1:8123/")
    served = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "x"})
    try:
        result = served.test_cli_runner().invoke(args=["demo"])
    finally:
        db.engine_for(served).dispose()
    assert result.exit_code == 0, result.output
    assert "Public URL (TRACE_PUBLIC_URL): http://127.0.0.1:8123\n" in result.output
    pages = result.output.split("Public pages:\n", 1)[1].split()
    assert pages and all(p.startswith("http://127.0.0.1:8123/") for p in pages)
    assert any("/01/" in p for p in pages) and any("/q/" in p for p in pages)


@pytest.fixture
def serve_copy(tmp_path: Path) -> Path:
    """scripts/serve.sh in a copy of the checkout whose virtualenv only reports how it was run
    (no install, no server): what serve.sh passes to flask and gunicorn is what is checked. The
    job worker's stand-in waits until scripts/run.sh stops it when gunicorn's has ended."""
    (tmp_path / "scripts").mkdir()
    for name in ("serve.sh", "_venv.sh", "run.sh"):
        shutil.copy2(ROOT / "scripts" / name, tmp_path / "scripts" / name)
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "flask", "gunicorn"):
        stub = bin_dir / name
        stub.write_text(
            f'#!/bin/sh\necho "{name} $* TRACE_PUBLIC_URL=${{TRACE_PUBLIC_URL:-unset}}"\n'
            'if [ "$3" = worker ]; then exec sleep 30; fi\n'
        )
        stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    return tmp_path


@pytest.mark.parametrize(
    ("bind", "public_url", "expected"),
    [
        (None, None, "http://127.0.0.1:5000"),
        ("0.0.0.0:8123", None, "http://localhost:8123"),
        ("192.0.2.7:8080", None, "http://192.0.2.7:8080"),
        ("[::1]:5001", None, "http://[::1]:5001"),
        ("0.0.0.0:8123", "https://truyxuat.example.vn", "https://truyxuat.example.vn"),
    ],
)
def test_serve_sets_trace_public_url_from_its_bind_address(
    serve_copy: Path, bind: str | None, public_url: str | None, expected: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"TRACE_BIND", "TRACE_PUBLIC_URL"}}
    env |= {"TRACE_BIND": bind} if bind else {}
    env |= {"TRACE_PUBLIC_URL": public_url} if public_url else {}
    run = subprocess.run(["bash", str(serve_copy / "scripts" / "serve.sh")], env=env,
                         capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    demo = next(line for line in lines if line.startswith("flask --app wsgi demo"))
    served = next(line for line in lines if line.startswith("gunicorn "))
    assert demo.endswith(f"TRACE_PUBLIC_URL={expected}")
    assert served.endswith(f"TRACE_PUBLIC_URL={expected}")
    assert f"--bind {bind or '127.0.0.1:5000'} " in served


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def test_demo_coffee_export_lot_has_its_eudr_package(app, client) -> None:
    """The Ea Tân cooperative's 12 plots reach the exporter's lot through two green-bean lots;
    the package validates against the published schema and reads back in shapely."""
    import jsonschema
    from shapely.geometry import shape

    tokens = _demo(app)["tokens"]
    inspector = {"Authorization": f"Bearer {tokens['inspector']}"}
    lot = client.get("/api/v1/batches?lot=TNX-EU2602-01", headers=inspector).json["items"][0]
    answer = client.get(f"/api/v1/batches/{lot['id']}/eudr", headers=inspector)
    assert answer.status_code == 200, answer.json
    schema = json.loads((ROOT / "schemas" / "eudr-geojson.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(answer.json["geojson"])
    features = answer.json["geojson"]["features"]
    assert len(features) == 12
    assert {shape(f["geometry"]).geom_type for f in features} == {"Point", "Polygon"}
    assert all(shape(f["geometry"]).is_valid for f in features)
    summary = answer.json["summary"]
    assert summary["dds"][0]["reference_number"] == "26VNTNX0EU7Q4"
    assert len(summary["warnings"]) == 1  # one farmer's certificate says 30 % more land
