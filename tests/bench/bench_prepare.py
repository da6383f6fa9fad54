"""The preparation pass (`public-prepare`) on a copy of the public benchmark's data set.

Run from the checkout against a database a ``bench_public.py --keep`` run left (or a copy of
it: ``createdb -T trace_bench trace_bench_mine``)::

    BENCH_DATABASE=trace_bench_mine .venv/bin/python tests/bench/bench_prepare.py --batches 500

It takes ``--batches`` batches of the cold mix (their events carry real hashes, see
``bench_public.mixes``), skipping the first ``--skip``, forgets their checks and stored pages
(``--reset``; ``--reset-walk`` also forgets the walk's chunk digests, so the walk over the whole
event table is measured too), and runs one pass over them (:func:`store.run_pass` with
``among``), as ``flask --app wsgi public-prepare --batches FILE`` does. Printed: wall and CPU
time of the pass and of its parts (walk, checks, pages), batches per second, SQL statements
sent through the session, and with ``--profile`` the top of a cProfile by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package is named ``trace``: the checkout must come first
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event, text  # noqa: E402

from tests.bench.bench_public import COLD_BATCHES, mixes  # noqa: E402
from trace import create_app  # noqa: E402
from trace.codeview import chunkcheck, ledgercheck, store  # noqa: E402
from trace.db import db  # noqa: E402

DB_NAME = os.environ.get("BENCH_DATABASE", "trace_bench")
DB_URL = f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}"


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


class Timed:
    """Wall and CPU seconds spent in each wrapped function, by name."""

    def __init__(self) -> None:
        self.spent: dict[str, list[float]] = {}

    def wrap(self, owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu_before = time.perf_counter(), cpu()
            try:
                return original(*args, **kwargs)
            finally:
                spent = self.spent.setdefault(f"{owner.__name__}.{name}", [0.0, 0.0, 0])
                spent[0] += time.perf_counter() - wall
                spent[1] += cpu() - cpu_before
                spent[2] += 1

        setattr(owner, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=500)
    parser.add_argument("--skip", type=int, default=0)
    parser.add_argument("--reset", action="store_true", help="forget their checks and pages")
    parser.add_argument("--reset-walk", action="store_true", help="forget the walk's digests")
    parser.add_argument("--profile", type=int, default=0, help="print this many cProfile rows")
    parser.add_argument("--jobs", type=int, default=1, help="processes sharing the pass")
    parser.add_argument(
        "--walk-seconds", type=float, default=None, help="bound the walk (default: all of it)"
    )
    args = parser.parse_args()
    _hot, cold = mixes(100_000, COLD_BATCHES)
    among = cold[args.skip : args.skip + args.batches]
    app = create_app({"DATABASE_URL": DB_URL, "SECRET_KEY": "bench", "PUBLIC_URL": "https://t.vn"})
    statements = [0]
    with app.app_context():
        event.listen(
            db.engine,
            "before_cursor_execute",
            lambda *_: statements.__setitem__(0, statements[0] + 1),
        )
        if args.reset or args.reset_walk:
            with db.engine.begin() as conn:
                if args.reset:
                    conn.execute(
                        text("DELETE FROM batch_check WHERE batch_id = ANY(:ids)"), {"ids": among}
                    )
                    conn.execute(
                        text("DELETE FROM stored_page WHERE batch_id = ANY(:ids)"), {"ids": among}
                    )
                if args.reset_walk:
                    conn.execute(text("DELETE FROM event_chunk_check"))
        timed = Timed()
        timed.wrap(chunkcheck, "walk")
        timed.wrap(ledgercheck, "check")
        timed.wrap(store, "prepare_batches")
        statements[0] = 0
        profiler = cProfile.Profile() if args.profile else None
        load = Path("/proc/loadavg").read_text().split()[:3]
        wall, cpu_before = time.perf_counter(), cpu()
        if profiler is not None:
            profiler.enable()
        checked, rendered = store.run_pass(
            app, among=among, walk_seconds=args.walk_seconds, jobs=args.jobs
        )
        if profiler is not None:
            profiler.disable()
        wall, used = time.perf_counter() - wall, cpu() - cpu_before
    print(f"{DB_NAME}: {checked} batches checked, {rendered} pages stored")
    print(f"  pass: {wall:.1f} s wall, {used:.1f} s CPU (this process and its children); "
          f"{checked / wall if wall else 0:.1f} batches/s; {statements[0]} SQL statements "
          f"({statements[0] / max(checked, 1):.1f} per batch); load {' '.join(load)}")  # fmt: skip
    for name, (w, c, n) in timed.spent.items():
        print(f"  {name:<28} {w:7.1f} s wall {c:7.1f} s CPU  ({n} calls)")
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.profile)
        print(out.getvalue())


if __name__ == "__main__":
    main()
