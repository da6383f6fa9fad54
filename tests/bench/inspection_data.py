"""Data for the inspection benchmarks, filled in bulk into a ``datagen.bench_database``.

Rows are inserted with Core ``insert`` in chunks (the services are not the thing measured here);
events carry stage-form-like EPCIS documents, so exports do the work they do in production.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package is named ``trace``: the checkout must come first
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import Connection  # noqa: E402

from trace.epcis.cbv import EXTENSION_NS  # noqa: E402

HOST = "https://trace.example.vn"
EXT = EXTENSION_NS


def make_app(database_url: str, instance: str) -> Any:
    """The app on a database made by ``datagen.bench_database`` (already migrated)."""
    from trace import create_app

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "PUBLIC_URL": HOST})
    app.instance_path = instance
    return app


def bulk(conn: Connection, table: Any, rows: list[dict[str, Any]], chunk: int = 5000) -> None:
    for start in range(0, len(rows), chunk):
        conn.execute(insert(table), rows[start : start + chunk])


def registry(conn: Connection, orgs: int = 20) -> dict[str, list[int]]:
    """Organisations (one facility and one product each); ids are 1..n."""
    from trace.models import Facility, Organization, Product

    now = dt.datetime.now(dt.UTC)
    provinces = ["24", "01", "79", "66", "48", "92"]
    bulk(conn, Organization.__table__, [
        {"id": i, "kind": "cooperative", "name": f"HTX Bench {i}", "tax_code": f"{2400000000 + i}",
         "province_code": provinces[i % len(provinces)], "address": f"Xã {i}",
         "search_text": "", "created_at": now, "updated_at": now}
        for i in range(1, orgs + 1)
    ])  # fmt: skip
    bulk(conn, Facility.__table__, [
        {"id": i, "organization_id": i, "kind": "warehouse", "name": f"Kho {i}",
         "address": f"Xã {i}", "province_code": provinces[i % len(provinces)],
         "search_text": "", "created_at": now, "updated_at": now}
        for i in range(1, orgs + 1)
    ])  # fmt: skip
    bulk(conn, Product.__table__, [
        {"id": i, "organization_id": i, "name_vi": f"Vải thiều {i}", "name_en": f"Lychee {i}",
         "category": "fruit", "unit": "KGM", "standards": ["VietGAP"], "search_text": "",
         "created_at": now, "updated_at": now}
        for i in range(1, orgs + 1)
    ])  # fmt: skip
    return {"orgs": list(range(1, orgs + 1))}


def batches(conn: Connection, count: int, orgs: int = 20) -> None:
    from trace.models import Batch

    now = dt.datetime.now(dt.UTC)
    bulk(conn, Batch.__table__, [
        {"id": i, "product_id": 1 + i % orgs, "producer_id": 1 + i % orgs,
         "lot_code": f"B{i:07d}", "quantity": 1000, "unit": "KGM",
         "production_date": dt.date(2026, 6, 1), "origin_facility_id": 1 + i % orgs,
         "status": "active", "search_text": "", "created_at": now,
         "updated_at": now}
        for i in range(1, count + 1)
    ])  # fmt: skip


def lot_uri(batch_id: int, orgs: int = 20) -> str:
    return f"trace:/lot/{1 + batch_id % orgs}/B{batch_id:07d}"


def event_row(
    seq: int, batch_id: int, step: str, when: dt.datetime, orgs: int = 20, **extra: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    facility = 1 + (batch_id + seq) % orgs
    doc: dict[str, Any] = {
        "type": extra.pop("type", "ObjectEvent"),
        "eventTime": when.isoformat(),
        "eventTimeZoneOffset": "+07:00",
        "eventID": f"urn:uuid:bench-{seq}",
        "bizStep": step,
        "readPoint": {"id": f"{HOST}/facility/{facility}"},
        "bizLocation": {"id": f"{HOST}/facility/{facility}"},
        **extra,
    }
    if doc["type"] == "ObjectEvent":
        doc["action"] = "OBSERVE"
        doc["quantityList"] = [
            {"epcClass": f"{HOST}/lot/{1 + batch_id % orgs}/B{batch_id:07d}", "quantity": 500,
             "uom": "KGM"}
        ]  # fmt: skip
    row = {
        "id": seq, "event_id": doc["eventID"], "hash_id": f"ni:///sha-256;{seq:064x}?ver=CBV2.0",
        "event_type": doc["type"], "action": doc.get("action"), "event_time": when,
        "event_time_zone_offset": "+07:00", "record_time": when, "biz_step": step,
        "disposition": None, "read_point": f"trace:/facility/{facility}",
        "biz_location": f"trace:/facility/{facility}", "document": doc, "namespaces": {},
        "declares_error": False, "seq": seq, "chain_hash": f"{seq:064x}",
    }  # fmt: skip
    epc = {"event_pk": seq, "role": "epc_class", "uri": lot_uri(batch_id, orgs),
           "batch_id": batch_id, "event_time": when}  # fmt: skip
    return row, epc


def flush_events(conn: Connection, events: list[dict], epcs: list[dict]) -> None:
    from trace.models import Event, EventEpc

    bulk(conn, Event.__table__, events, 2000)
    bulk(conn, EventEpc.__table__, epcs, 5000)
    events.clear()
    epcs.clear()


def inspector_header(app: Any) -> dict[str, str]:
    from trace.db import db
    from trace.models import Role
    from trace.services.actors import SYSTEM
    from trace.services.registry.tokens import create_token

    with app.app_context():
        _, secret = create_token(db.session, SYSTEM, role=Role.INSPECTOR, name="bench")
        db.session.commit()
    return {"Authorization": f"Bearer {secret}"}
