"""What a SQLite page view pays to know whether anything changed, beside what resolving the code
costs: ``PRAGMA data_version`` (moves with ANY other connection's commit, scans included),
the one-row read of ``public_change`` (moved by triggers only for what a page shows), and the
code's resolution (:func:`lookup.find_code`, what a view did before). Wall and CPU time per
call, on the demo data set (``flask init``, ``flask demo`` into a temporary file).

Run from the checkout: ``.venv/bin/python tests/bench/bench_change_counter.py [--calls N]``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package is named ``trace``: the checkout must come first
    sys.path.insert(0, str(ROOT))


def timed(name: str, calls: int, call: Callable[[], object]) -> None:
    for _ in range(min(calls, 1000)):  # warm up
        call()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {name:<44} {wall / calls * 1e6:8.1f} µs wall  {cpu / calls * 1e6:8.1f} µs CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "demo.sqlite3"
        env = {
            **os.environ,
            "TRACE_DATABASE_URL": f"sqlite:///{database}",
            "TRACE_SECRET_KEY": "bench-secret",
            "TRACE_PUBLIC_URL": "https://trace.example.vn",
        }
        flask = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi"]
        for command in ("init", "demo"):
            subprocess.run([*flask, command], cwd=ROOT, env=env, check=True, capture_output=True)

        from trace import create_app
        from trace.db import db
        from trace.services import lookup

        app = create_app({"DATABASE_URL": env["TRACE_DATABASE_URL"], "SECRET_KEY": "x"})
        reader = sqlite3.connect(database, isolation_level=None)
        code = reader.execute("SELECT code FROM code LIMIT 1").fetchone()[0]
        load = Path("/proc/loadavg").read_text().split()[:3]
        print(f"SQLite {sqlite3.sqlite_version}, {args.calls:,} calls each; load {load}")
        seq_sql = "SELECT seq FROM public_change WHERE id = 1"
        timed("PRAGMA data_version (own connection)", args.calls,
              lambda: reader.execute("PRAGMA data_version").fetchone())  # fmt: skip
        timed("SELECT seq FROM public_change (own connection)", args.calls,
              lambda: reader.execute(seq_sql).fetchone())  # fmt: skip
        engine = db.engine_for(app)

        def pooled() -> None:
            connection = engine.raw_connection()
            try:
                connection.cursor().execute(seq_sql).fetchone()
            finally:
                connection.close()

        timed("SELECT seq FROM public_change (pool checkout)", args.calls, pooled)
        with app.app_context():

            def resolve() -> None:
                lookup.find_code(db.session, code)
                db.session.rollback()

            timed("lookup.find_code on the session (before)", args.calls // 10, resolve)
        writer = sqlite3.connect(database, isolation_level=None)
        versions = set()
        for _ in range(3):  # a scan written by another connection moves data_version, not seq
            writer.execute(
                "INSERT INTO scan (code_id, batch_id, at, client_hash, language) "
                "VALUES (NULL, 1, '2026-06-08 00:00:00', 'x', 'vi')"
            )
            versions.add(reader.execute("PRAGMA data_version").fetchone()[0])
        seq = {reader.execute("SELECT seq FROM public_change").fetchone()[0]}
        print(f"  after 3 scans by another connection: {len(versions)} data_version values, "
              f"{len(seq)} seq value")  # fmt: skip
        db.engine_for(app).dispose()


if __name__ == "__main__":
    main()
