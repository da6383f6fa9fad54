"""National portal sync benchmark: 10,000 pending records sent to the stand-in portal.

Run from the checkout::

    .venv/bin/python tests/bench/bench_portal.py [--records 10000] [--database postgresql|sqlite]

The registry (50 organisations, 950 products with GTIN and image, 9,000 batches with one
harvest event each, so each batch body carries its Art. 6.5 stages) is inserted in bulk, every
entity gets its outbox record (``mark_changed``, what ``portal enqueue`` does), and one
``PortalSync`` worker sends them all to the stand-in portal (``tests/portal_standin.py``) running
as a process of its own, which validates every body against ``schemas/portal-record.json``.
Prints records/s (target ≥ 200) and checks every record was accepted. ``--chunk`` (100) is
TRACE_PORTAL_CHUNK, the records claimed and in flight at a time.
PostgreSQL at ``TRACE_BENCH_DATABASE_URL`` (a scratch database is created and dropped), or a
scratch SQLite file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import inspection_data as data
from datagen import ROOT, bench_database

from trace.provinces import VIETNAM


def seed(app, records: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from trace.db import db, transaction
    from trace.gs1.keys import check_digit
    from trace.models import Batch, Organization, PortalKind, Product
    from trace.services import outbox

    orgs, products = max(1, records // 200), max(1, records * 95 // 1000)
    batches = records - orgs - products
    now = dt.datetime.now(dt.UTC)
    with db.engine_for(app).begin() as conn:
        data.registry(conn, orgs)
        extra = [
            {"id": i, "organization_id": 1 + i % orgs, "name_vi": f"Cà phê {i}",
             "name_en": f"Coffee {i}", "category": "processed", "unit": "KGM",
             "standards": ["VietGAP"], "search_text": "", "created_at": now, "updated_at": now}
            for i in range(orgs + 1, products + 1)
        ]  # fmt: skip
        data.bulk(conn, Product.__table__, extra)
        for start in range(1, products + 1, 5000):
            for i in range(start, min(start + 5000, products + 1)):
                body = f"893{i:09d}"
                conn.execute(
                    Product.__table__.update()
                    .where(Product.__table__.c.id == i)
                    .values(gtin="0" + body + check_digit(body), image=f"p{i}.jpg")
                )
        data.bulk(conn, Batch.__table__, [
            {"id": i, "product_id": 1 + i % products, "producer_id": 1 + (i % products) % orgs,
             "lot_code": f"B{i:07d}", "quantity": 1000, "unit": "KGM",
             "production_date": dt.date(2026, 6, 1), "origin_facility_id": None,
             "status": "active", "search_text": "", "created_at": now,
             "updated_at": now}
            for i in range(1, batches + 1)
        ])  # fmt: skip
        rows, epcs = [], []
        start = dt.datetime(2026, 6, 1, 6, 0, tzinfo=VIETNAM)
        for i in range(1, batches + 1):
            row, epc = data.event_row(i, i, data.EXT + "harvesting", start, orgs=products)
            rows.append(row)
            epcs.append(epc)
            if len(rows) >= 5000:
                data.flush_events(conn, rows, epcs)
        data.flush_events(conn, rows, epcs)
    with app.app_context(), transaction(write=True) as session:
        for kind, model, owner in [
            (PortalKind.ORGANIZATION, Organization, Organization.id),
            (PortalKind.PRODUCT, Product, Product.organization_id),
            (PortalKind.BATCH, Batch, Batch.producer_id),
        ]:
            outbox.mark_changed(session, kind, dict(session.execute(select(model.id, owner)).all()))
    return {"organizations": orgs, "products": products, "batches": batches}


def run(database_url: str, records: int, instance: str, chunk: int) -> None:
    from sqlalchemy import func, select

    from tests.portal_standin import CLIENT_ID, CLIENT_SECRET
    from trace.db import db
    from trace.models import PortalRecord
    from trace.services.portal.sync import PortalSync
    from trace.services.portal.transport import HttpTransport

    app = data.make_app(database_url, instance)
    # no limit per minute; the lease outlasts a chunk of timeouts, as the settings check wants
    app.config.update(PORTAL_PER_MINUTE=0, PORTAL_CHUNK=chunk, PORTAL_LEASE_SECONDS=chunk * 10 + 60)
    t0 = time.perf_counter()
    counts = seed(app, records)
    print(f"seeded {counts} in {time.perf_counter() - t0:.1f} s", flush=True)
    standin = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "portal_standin.py")],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert standin.stdout is not None
        url = standin.stdout.readline().strip()
        transport = HttpTransport(url, token_url=url + "/sso/token", client_id=CLIENT_ID,
                                  client_secret=CLIENT_SECRET, timeout=10)  # fmt: skip
        t0 = time.perf_counter()
        stats = PortalSync(app, transport, worker_id="bench").run()
        elapsed = time.perf_counter() - t0
    finally:
        standin.terminate()
        standin.wait(10)
    with app.app_context():
        statuses = Counter(
            dict(db.session.execute(
                select(PortalRecord.status, func.count()).group_by(PortalRecord.status)
            ).all())
        )  # fmt: skip
        db.session.rollback()
    print(f"outcomes {stats.outcomes}; records by status {dict(statuses)}")
    assert stats.claimed == records and statuses == {"accepted": records}, "records not accepted"
    print(f"{records} records in {elapsed:.1f} s: {records / elapsed:.0f} records/s "
          f"(target ≥ 200)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--chunk", type=int, default=100, help="records in flight at a time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance:
        if args.database == "sqlite":
            from trace import migrate
            from trace.db import build_engine

            url = f"sqlite:///{instance}/bench.sqlite3"
            engine = build_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
            run(url, args.records, instance, args.chunk)
        else:
            with bench_database("trace_bench_portal") as url:
                run(url, args.records, instance, args.chunk)


if __name__ == "__main__":
    main()
