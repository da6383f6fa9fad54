"""What migration 0020's stamping triggers cost writers on PostgreSQL. Prints its figures.

- a bulk load of a genealogy (``datagen.fill_genealogy``: links inserted in one statement),
  with the triggers and with the schema at 0019 (no triggers), wall and CPU time of the
  database (the load runs there: the figure is its statement's duration);
- one facility renamed by direct SQL, one certificate inserted, one batch's lot code changed
  (stamping what is made from it), median of 50, with and without the triggers.

Run: ``scripts/bench.sh page_triggers [--batches 20000]``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable

from datagen import bench_database, fill_genealogy, fill_registry
from sqlalchemy import Engine, text

from trace import migrate
from trace.db import build_engine


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _median_ms(engine: Engine, statement: Callable[[int], str], samples: int = 50) -> float:
    times = []
    with engine.connect() as conn:
        for n in range(samples):
            started = time.perf_counter()
            conn.execute(text(statement(n)))
            conn.commit()
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _run(batches: int, with_triggers: bool) -> None:
    with bench_database("trace_bench_triggers") as url:
        engine = build_engine(url)
        if not with_triggers:
            migrate.downgrade(engine, "0019_sqlite_change_seq")
        fill_registry(engine, batches)
        wall, cpu = time.perf_counter(), _cpu()
        fill_genealogy(engine, batches)
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        label = "with 0020" if with_triggers else "at 0019 "
        print(f"  {label}: genealogy of {batches:,} batches loaded in {wall:.2f} s wall "
              f"(client CPU {cpu:.2f} s; the load runs in the database)")  # fmt: skip
        with engine.connect() as conn:
            facility = conn.execute(text("SELECT min(id) FROM facility")).scalar_one()
            product = conn.execute(text("SELECT min(id) FROM product")).scalar_one()
            low = conn.execute(text("SELECT min(input_batch_id) FROM batch_link")).scalar_one()
        rename = _median_ms(
            engine, lambda n: f"UPDATE facility SET name = 'Kho {n}' WHERE id = {facility}"
        )
        certificate = _median_ms(
            engine,
            lambda n: (
                "INSERT INTO certificate (product_id, kind, number, created_at, updated_at) "
                f"VALUES ({product}, 'lab_test', 'KN-{n}', now(), now())"
            ),
        )
        lot = _median_ms(
            engine, lambda n: f"UPDATE batch SET lot_code = 'B{n}' WHERE id = {low}", samples=10
        )
        print(f"    facility rename {rename:.2f} ms, certificate insert {certificate:.2f} ms, "
              f"lot code of a first-layer batch {lot:.1f} ms (median)")  # fmt: skip
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=20_000)
    args = parser.parse_args()
    with open("/proc/loadavg") as load:
        print(f"load average before: {load.read().strip()}")
    for with_triggers in (False, True):
        _run(args.batches, with_triggers)
    with open("/proc/loadavg") as load:
        print(f"load average after: {load.read().strip()}")


if __name__ == "__main__":
    main()
