"""Label PDFs through the served app: gunicorn (2 workers) and the job worker, as the quick start
runs them (``scripts/run.sh``), on SQLite (default) or ``--database postgresql://…``.

Run from the checkout: ``.venv/bin/python tests/bench/bench_labels_served.py --count 2000 50000``.

For each count: a serialised print run is created over HTTP (``a4-3x8-70x37``), then
``labels.pdf`` is polled (as a client honouring ``Retry-After`` would, but at most every 0.5 s)
until the PDF has been downloaded. Printed: seconds from the POST to the last byte, labels/s
over that time, the render job's own time (its started/finished), the PDF's size, and what
creating the run took (issuing the codes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package is named ``trace``: the checkout must come first
    sys.path.insert(0, str(ROOT))

from tests.served import (  # noqa: E402
    download_labels,
    printable_batch,
    served,
    session_processes,
    throwaway_database,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, nargs="+", default=[2000, 50000])
    parser.add_argument("--database", help="a PostgreSQL server URL; default: SQLite")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
          f"database {'PostgreSQL' if args.database else 'SQLite'}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with throwaway_database(args.database, folder) as url, served(folder, url) as app:
            for count in args.count:
                started = time.monotonic()
                run = printable_batch(app, count)
                created = time.monotonic() - started
                data, pending = download_labels(app, run["id"], timeout=1800)
                total = time.monotonic() - started
                job = app.json("GET", pending[-1]["links"]["self"]) if pending else None
                render = (
                    (dt.datetime.fromisoformat(job["finished_at"])
                     - dt.datetime.fromisoformat(job["started_at"])).total_seconds()
                    if job else float("nan")
                )  # fmt: skip
                print(
                    f"{count:>6} labels: {total:6.1f} s POST to PDF, "
                    f"{count / total:6.0f} labels/s; "
                    f"run created in {created:.1f} s, render job {render:.1f} s "
                    f"({count / render:.0f} labels/s), {len(pending)} polls answered 202, "
                    f"PDF {len(data) / 1e6:.1f} MB"
                )
            sid = app.process.pid
        left = session_processes(sid)
        print(f"processes left after SIGTERM: {len(left)}")


if __name__ == "__main__":
    main()
