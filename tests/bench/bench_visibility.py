"""The read rule on PostgreSQL (issue 10, item 9). Prints its figures.

A producer owning every batch (the per-row plan), a distributor that recorded a fifth of the
events of 200 lots (the set plan), a centre of the distributor's province and an inspector: the
first page of ``/events``, a ``MATCH_epcClass`` query and the batch check of every batch route.

Run: ``scripts/bench.sh visibility [--batches 100000 --events 1000000]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from datagen import bench_database, fill_events, fill_genealogy, fill_registry
from sqlalchemy import text


def _median_ms(run: Callable[[], Any], samples: int) -> tuple[float, Any]:
    timings, result = [], None
    for _ in range(samples):
        began = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - began)
    return statistics.median(timings) * 1000, result


def main() -> None:
    from sqlalchemy.orm import Session

    from trace.db import build_engine
    from trace.models import Role
    from trace.services.actors import Actor
    from trace.services.events import query as event_query
    from trace.services.events import visibility

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    with bench_database("trace_bench_visibility") as url:
        engine = build_engine(url)
        fill_registry(engine, args.batches)
        fill_genealogy(engine, args.batches, levels=10)
        fill_events(engine, args.events, args.batches, seq_offset=args.batches)
        with engine.begin() as conn:
            conn.execute(
                text("""
                INSERT INTO organization (id, kind, name, tax_code, province_code, address,
                                          search_text, created_at, updated_at)
                VALUES (2, 'distributor', 'Nhà phân phối', '0100000002', '01', 'Hà Nội', '',
                        now(), now());
                UPDATE event SET captured_by_organization_id = 2
                WHERE id % 5 = 0 AND id IN (SELECT event_pk FROM event_epc WHERE batch_id <= 200);
                ANALYZE;
            """)
            )
        actors = {
            "producer owning all": Actor(Role.PRODUCER, "p", organization_id=1),
            "distributor": Actor(Role.PRODUCER, "d", organization_id=2),
            "centre 01": Actor(Role.CENTRE, "c", province_code="01"),
            "inspector": Actor(Role.INSPECTOR, "i"),
        }
        rng = random.Random(7)
        print(f"data: {args.batches:,} batches, {args.events:,} events")
        with Session(engine) as session:
            for name, actor in actors.items():
                for label, params in (
                    ("first page", {}),
                    ("MATCH_epcClass", {"MATCH_epcClass": ["https://x.vn/lot/1/L150"]}),
                ):
                    ms, (rows, _) = _median_ms(
                        lambda p=params, a=actor: event_query.query_events(
                            session, a, p, 100, None
                        ),
                        args.samples,
                    )
                    session.rollback()
                    print(
                        f"/events {label:<15} {name:<20} median {ms:7.1f} ms ({len(rows)} events)"
                    )
                ms, _ = _median_ms(
                    lambda a=actor: visibility.may_read_batch(session, a, rng.randint(1, 200)),
                    args.samples,
                )
                session.rollback()
                print(f"batch read check       {name:<20} median {ms:7.1f} ms")
        engine.dispose()


if __name__ == "__main__":
    main()
