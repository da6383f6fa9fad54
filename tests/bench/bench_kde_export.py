"""KDE export benchmark: 100,000 critical tracking events to CSV and XLSX on PostgreSQL.

Run from the checkout (PostgreSQL at ``TRACE_BENCH_DATABASE_URL``, default
``postgresql://postgres@127.0.0.1:5432/postgres``; a scratch database is created and dropped)::

    .venv/bin/python tests/bench/bench_kde_export.py [--events 100000]

Seeds 20,000 batches with five events each (harvesting, cooling, packing, shipping with a
destination and a document, receiving with a source), then runs each export in a fresh child
process through the Flask test client, consuming the streamed body, and prints its wall time,
row count and peak RSS (the targets: ≤ 10 s and ≤ 200 MB).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import inspection_data as data
from datagen import bench_database

from trace.provinces import VIETNAM


def seed(app, events: int) -> None:  # type: ignore[no-untyped-def]
    from trace.db import db

    steps = [
        (data.EXT + "harvesting", {}),
        (data.EXT + "cooling", {}),
        ("packing", {}),
        ("shipping", {}),
        ("receiving", {}),
    ]
    per_batch = len(steps)
    batch_count = events // per_batch
    start = dt.datetime(2026, 6, 1, 6, 0, tzinfo=VIETNAM)
    with db.engine_for(app).begin() as conn:
        data.registry(conn)
        data.batches(conn, batch_count)
        rows: list[dict] = []
        epcs: list[dict] = []
        seq = 0
        for batch_id in range(1, batch_count + 1):
            for offset, (step, _) in enumerate(steps):
                seq += 1
                extra: dict = {}
                if step == "shipping":
                    extra = {
                        "destinationList": [{"type": "owning_party",
                                             "destination": f"{data.HOST}/org/{1 + seq % 20}"}],
                        "bizTransactionList": [{"type": "desadv",
                                                "bizTransaction": f"urn:trace:desadv:PX-{seq}"}],
                    }  # fmt: skip
                elif step == "receiving":
                    extra = {
                        "sourceList": [
                            {
                                "type": "owning_party",
                                "source": f"{data.HOST}/org/{1 + batch_id % 20}",
                            }
                        ]
                    }
                when = start + dt.timedelta(minutes=batch_id * 3, hours=offset * 6)
                row, epc = data.event_row(seq, batch_id, step, when, **extra)
                rows.append(row)
                epcs.append(epc)
                if len(rows) >= 10000:
                    data.flush_events(conn, rows, epcs)
        data.flush_events(conn, rows, epcs)
        conn.exec_driver_sql("ANALYZE")


def run_export(database_url: str, instance: str, fmt: str) -> None:
    """In a child process: one export through the app, body consumed, figures as JSON."""
    from trace import create_app

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench",
                      "PUBLIC_URL": data.HOST})  # fmt: skip
    app.instance_path = instance
    headers = data.inspector_header(app)
    client = app.test_client()
    began = time.perf_counter()
    response = client.get(f"/api/v1/exports/kde.{fmt}?lang=en", headers=headers, buffered=False)
    size = lines = 0
    for chunk in response.iter_encoded():
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    elapsed = time.perf_counter() - began
    assert response.status_code == 200, response.status_code
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"format": fmt, "seconds": round(elapsed, 2), "bytes": size,
                      "csv_lines": lines, "peak_rss_mb": round(peak_mb, 1)}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--child", nargs=3, metavar=("URL", "INSTANCE", "FORMAT"))
    args = parser.parse_args()
    if args.child:
        run_export(*args.child)
        return
    with bench_database() as url, tempfile.TemporaryDirectory() as instance:
        app = data.make_app(url, instance)
        began = time.perf_counter()
        seed(app, args.events)
        print(f"seeded {args.events} events in {time.perf_counter() - began:.1f} s")
        from trace.db import db

        db.engine_for(app).dispose()
        for fmt in ("csv", "xlsx"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", url, instance, fmt],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            print(out.stdout.strip())


if __name__ == "__main__":
    main()
