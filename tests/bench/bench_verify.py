"""The full ledger check (``flask verify``) on PostgreSQL. Prints its figures.

Captures ``--events`` events through the service (so the chain and the index rows are real):
lot-level ObjectEvents of ``--batches`` lots, every 10th a transformation (batch_link rows),
every 500th an errorDeclaration; then times ``flask --app wsgi verify`` as a subprocess.

Run: ``scripts/bench.sh verify [--events 100000]``; ``--url`` reuses a database filled before
(``--keep`` keeps the one made here), to time another version of the code on the same data.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator

from datagen import ROOT, bench_database, fill_registry

from trace.epcis.export import epcis_document

PUBLIC_URL = "https://bench.trace.vn"
START = dt.datetime(2026, 6, 1, 6, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def _lot(batch: int, products: int = 100) -> str:
    return f"{PUBLIC_URL}/lot/{1 + batch % products}/L{batch}"


def _event(i: int, batches: int) -> dict:
    lot = 1 + i % batches
    event = {
        "eventID": f"urn:uuid:verify-{i}",
        "eventTime": (START + dt.timedelta(seconds=i)).isoformat(),
        "eventTimeZoneOffset": "+07:00",
        "readPoint": {"id": f"{PUBLIC_URL}/facility/1"},
    }
    if i % 10 == 9:
        return {
            **event, "type": "TransformationEvent", "bizStep": "commissioning",
            "inputQuantityList": [{"epcClass": _lot(lot), "quantity": 5, "uom": "KGM"}],
            "outputQuantityList": [{"epcClass": _lot(1 + (lot % batches)), "quantity": 4,
                                    "uom": "KGM"}],
        }  # fmt: skip
    if i % 500 == 498:  # the previous event declared in error: it repeats that event whole
        return {
            **_event(i - 1, batches),
            "errorDeclaration": {"declarationTime": "2026-06-30T00:00:00+07:00",
                                 "reason": "incorrect_data"},
        }  # fmt: skip
    return {
        **event, "type": "ObjectEvent", "action": "OBSERVE", "bizStep": "storing",
        "disposition": "in_progress",
        "quantityList": [{"epcClass": _lot(lot), "quantity": 5, "uom": "KGM"}],
    }  # fmt: skip


def fill(url: str, events: int, batches: int, per_doc: int = 1000) -> None:
    from trace import create_app
    from trace.db import build_engine, db
    from trace.models import Role
    from trace.services.actors import SYSTEM
    from trace.services.registry.tokens import create_token

    engine = build_engine(url)
    fill_registry(engine, batches)
    engine.dispose()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "PUBLIC_URL": PUBLIC_URL})
    with app.app_context():
        _, secret = create_token(db.session, SYSTEM, role=Role.ADMIN)
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    began = time.perf_counter()
    for start in range(0, events, per_doc):
        body = epcis_document([_event(i, batches) for i in range(start, start + per_doc)])
        response = client.post("/api/v1/capture", json=body, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)[:500]
    print(f"data: {events:,} events of {batches:,} lots captured in "
          f"{time.perf_counter() - began:.0f} s")  # fmt: skip
    db.engine_for(app).dispose()


def time_verify(url: str, runs: int) -> None:
    env = {**os.environ, "TRACE_DATABASE_URL": url, "TRACE_SECRET_KEY": "bench",
           "TRACE_PUBLIC_URL": PUBLIC_URL}  # fmt: skip
    for _ in range(runs):
        began, cpu = time.perf_counter(), _children_cpu()
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "verify"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        elapsed, used = time.perf_counter() - began, _children_cpu() - cpu
        print(f"flask verify: {elapsed:.1f} s ({used:.1f} s CPU), exit {done.returncode}: "
              f"{(done.stdout or done.stderr).strip()[:300]}")  # fmt: skip


def _children_cpu() -> float:
    """CPU seconds used by finished child processes: steadier than the wall clock on a busy
    machine (the database server's share is not in it)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def _kept(url: str) -> Iterator[str]:
    yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--url", help="a database filled by an earlier run (--keep)")
    parser.add_argument("--keep", action="store_true", help="keep the database; print its URL")
    args = parser.parse_args()
    if args.url:
        time_verify(args.url, args.runs)
        return
    if args.keep:
        from datagen import ADMIN_URL
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        from trace import migrate
        from trace.db import build_engine

        name = f"trace_bench_verify_{os.getpid()}"
        admin = create_engine(make_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        engine = build_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        print(f"database kept: {url}")
        databases = _kept(url)
    else:
        databases = bench_database()
    with databases as url:
        fill(url, args.events, args.batches)
        time_verify(url, args.runs)


if __name__ == "__main__":
    main()
