"""Events benchmarks on PostgreSQL (issue 3). Prints its figures.

- bulk capture: 10,000 events in documents of 1,000 through the HTTP API (validation, hashing,
  deduplication, indexing and ledger included) — target ≥ 2,000 events/s;
- genealogy: backward and forward trace through a 100,000-batch genealogy of depth 10 —
  target median ≤ 100 ms;
- history: one batch's history with 1,000,000 events in the table — target median ≤ 20 ms.

Run: ``scripts/bench.sh events [--batches 100000 --events 1000000]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from datagen import bench_database, fill_events, fill_genealogy, fill_registry

from trace.epcis.export import epcis_document


def _document(start: int, count: int) -> dict:
    events = [
        {
            "type": "ObjectEvent",
            "eventID": f"urn:uuid:bulk-{i}",
            "eventTime": "2026-06-12T06:30:00+07:00",
            "eventTimeZoneOffset": "+07:00",
            "epcList": [f"https://id.gs1.org/01/08934567890120/21/B{i}"],
            "action": "OBSERVE",
            "bizStep": "shipping",
            "disposition": "in_transit",
            "readPoint": {"id": "https://id.gs1.org/414/8935049500018"},
            "quantityList": [
                {"epcClass": "https://id.gs1.org/01/08934567890120/10/L1", "quantity": 5,
                 "uom": "KGM"}
            ],
        }
        for i in range(start, start + count)
    ]  # fmt: skip
    return epcis_document(events)


def _median_ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(samples) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def bench_capture(url: str, total: int, per_doc: int) -> None:
    from trace import create_app
    from trace.db import db
    from trace.models import Role
    from trace.services.actors import SYSTEM
    from trace.services.events.ledger import verify
    from trace.services.registry.tokens import create_token

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        _, secret = create_token(db.session, SYSTEM, role=Role.ADMIN)
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    docs = [_document(start, per_doc) for start in range(0, total, per_doc)]
    began = time.perf_counter()
    for body in docs:
        response = client.post("/api/v1/capture", json=body, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)[:500]
    elapsed = time.perf_counter() - began
    print(f"capture: {total} events in documents of {per_doc}: {elapsed:.2f} s = "
          f"{total / elapsed:,.0f} events/s (target ≥ 2,000)")  # fmt: skip
    with app.app_context():
        result = verify(db.session)
        print(f"capture: ledger verifies: {result.ok} ({result.entries} entries)")
    db.engine_for(app).dispose()


def bench_queries(url: str, batches: int, events: int, samples: int) -> None:
    from sqlalchemy.orm import Session

    from trace.db import build_engine
    from trace.services.events import genealogy, history

    engine = build_engine(url)
    began = time.perf_counter()
    fill_registry(engine, batches)
    fill_genealogy(engine, batches, levels=10)
    fill_events(engine, events, batches, seq_offset=batches)
    print(f"data: {batches:,} batches, genealogy of depth 10, {events:,} events "
          f"(generated in {time.perf_counter() - began:.0f} s)")  # fmt: skip
    rng = random.Random(7)
    per_level = batches // 10
    with Session(engine) as session:
        for direction, pick in (
            ("backward", lambda: rng.randint(batches - per_level + 1, batches)),
            ("forward", lambda: rng.randint(1, per_level)),
        ):
            timings, sizes = [], []
            for _ in range(samples):
                start = time.perf_counter()
                graph = genealogy.trace(session, pick(), direction, 10)
                timings.append(time.perf_counter() - start)
                sizes.append(len(graph.nodes))
                session.rollback()
            print(f"trace {direction} depth 10: {_median_ms(timings)}; nodes median "
                  f"{statistics.median(sizes):.0f} (target median ≤ 100 ms)")  # fmt: skip
        timings = []
        for _ in range(samples):
            batch_id = rng.randint(1, batches)
            start = time.perf_counter()
            entries = history.history(session, batch_id)
            timings.append(time.perf_counter() - start)
            session.rollback()
        print(f"history of one batch ({len(entries)} events) among {events:,}: "
              f"{_median_ms(timings)} (target median ≤ 20 ms)")  # fmt: skip
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--capture", type=int, default=10_000)
    parser.add_argument("--per-doc", type=int, default=1_000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    with bench_database() as url:
        bench_capture(url, args.capture, args.per_doc)
    with bench_database() as url:
        bench_queries(url, args.batches, args.events, args.samples)


if __name__ == "__main__":
    main()
