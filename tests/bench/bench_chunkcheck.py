"""The verifier's walk over the whole event table (trace.codeview.chunkcheck) on PostgreSQL.
Prints its figures.

Captures ``--events`` events through the service (:func:`bench_verify.fill`: real chain and
index rows), then times the walk: first (every chunk re-derived from its documents), again with
nothing changed (digests only), and after one ``event_epc`` row was deleted (one chunk
re-derived, its finding recorded); then a whole verifier pass with nothing due but the walk.

Run: ``scripts/bench.sh chunkcheck [--events 100000]``; ``--url`` reuses a database filled
before (``bench_verify.py --keep``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import bench_verify
from bench_verify import PUBLIC_URL, fill
from datagen import bench_database
from sqlalchemy import text

_event = bench_verify._event


def _without_declarations(i: int, batches: int) -> dict:
    """bench_verify's events, the errorDeclarations (which capture now refuses as made there:
    they do not repeat the declared event) replaced by plain observations."""
    event = _event(i, batches)
    if "errorDeclaration" in event:
        event = _event(i - 1, batches)
        event["eventID"] = f"urn:uuid:verify-{i}"
        event["eventTime"] = (bench_verify.START + dt.timedelta(seconds=i)).isoformat()
    return event


bench_verify._event = _without_declarations


def measure(url: str) -> None:
    from trace import create_app
    from trace.codeview import chunkcheck, store
    from trace.db import db, transaction

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "PUBLIC_URL": PUBLIC_URL})
    with app.app_context():

        def walk(label: str) -> set[int]:
            began = time.perf_counter()
            with transaction(write=True) as session:
                affected = chunkcheck.walk(session, dt.datetime.now(dt.UTC))
            print(f"walk, {label}: {time.perf_counter() - began:.2f} s, "
                  f"{len(affected)} batches affected")  # fmt: skip
            return affected

        walk("first (every chunk re-derived)")
        walk("nothing changed")
        walk("nothing changed, again")
        with transaction(write=True) as session:
            session.execute(text("DELETE FROM event_epc WHERE id = (SELECT min(id) FROM event_epc "
                                 "WHERE batch_id IS NOT NULL)"))  # fmt: skip
        walk("one event_epc row deleted")
        store.run_pass(app)  # every batch checked once
        app.config["PUBLIC_VERIFY_SECONDS"] = 3600.0  # none due again: the walk and little else
        began = time.perf_counter()
        checked, _ = store.run_pass(app)
        print(f"verifier pass, no batch due: {time.perf_counter() - began:.2f} s "
              f"({checked} batches checked)")  # fmt: skip
        db.engine_for(app).dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=1_000)
    parser.add_argument("--url", help="a database filled by an earlier run")
    args = parser.parse_args()
    if args.url:
        measure(args.url)
        return
    with bench_database() as url:
        fill(url, args.events, args.batches)
        measure(url)


if __name__ == "__main__":
    main()
