"""The province dashboard under load: a province with 2,000 producers, 100,000 batches,
1,000,000 events and 1,000,000 scans (PostgreSQL), gunicorn with 2 workers, 8 concurrent
signed-in centre officers.

Run from the checkout: ``scripts/bench.sh dashboard`` (or ``.venv/bin/python
tests/bench/bench_dashboard.py``). Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust);
creates a database of its own and drops it.

Data (set-based SQL, :mod:`tests.bench.datagen`): province 24's 2,000 producers share the
100,000 batches (one in 500 recalled); 1,000,000 events, one in ten of them this week;
a batch-level code per batch and 1,000 unit codes; 1,000,000 scans over the last 30 days, from
the 34 provinces (one in eight without a place), 100,000 of them on the unit codes; 2,000
consumer reports. The rollup job's pass is timed once; then each scenario runs ``--seconds``
after a warm-up. Printed: requests, requests/s, p50/p95/p99 in ms (goal: dashboard p95 ≤ 300 ms).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package is named ``trace``: the checkout must come first
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from tests.bench import bench_console  # noqa: E402
from tests.bench.bench_console import load, percentile, serve, signed_in_opener  # noqa: E402
from tests.bench.datagen import bench_database, fill_events, fill_registry  # noqa: E402
from trace.provinces import PROVINCES  # noqa: E402

bench_console.PORT = 8743  # its helpers serve and sign in there: not bench_console's own port
BATCHES = 100_000
PRODUCERS = 2_000
EVENTS = 1_000_000
SCANS = 1_000_000
UNIT_CODES = 1_000
REPORTS = 2_000
CLIENTS = 8
LOGIN, PASSWORD = "bench@example.com", "bench password 2026"  # what bench_console signs in as
SCENARIOS = {
    "dashboard": "/console/dashboard",
    "week events": "/console/dashboard/events",
    "reports": "/console/reports",
    "flags": "/console/flags",
}


def fill(url: str) -> None:
    from trace.db import build_engine

    engine = build_engine(url)
    fill_registry(engine, BATCHES)
    fill_events(engine, EVENTS, BATCHES)
    places = "ARRAY[" + ",".join(f"'{code}'" for code in PROVINCES) + "]"
    with engine.begin() as conn:
        params = {"producers": PRODUCERS, "batches": BATCHES, "units": UNIT_CODES}
        for statement in (
            """INSERT INTO organization (id, kind, name, tax_code, province_code, address,
                                         search_text, created_at, updated_at)
               SELECT g, 'producer', 'Cơ sở ' || g, (2400000000 + g)::text, '24', 'Bắc Ninh',
                      'co so ' || g, now(), now()
               FROM generate_series(2, CAST(:producers AS integer)) AS g""",
            """INSERT INTO organization (id, kind, name, tax_code, province_code, address,
                                         search_text, created_at, updated_at)
               VALUES (:producers + 1, 'centre', 'Trung tâm Bắc Ninh', '2499999999', '24',
                       'Bắc Ninh', 'trung tam bac ninh', now(), now())""",
            "SELECT setval('organization_id_seq', :producers + 1)",
            """UPDATE batch SET producer_id = 1 + id % :producers,
                   status = CASE WHEN id % 500 = 0 THEN 'recalled' ELSE 'active' END""",
            """UPDATE event SET event_time = now() - (id % 5000) * interval '1 minute'
               WHERE id % 10 = 0""",
            """UPDATE event_epc SET event_time = now() - (event_pk % 5000) * interval '1 minute'
               WHERE event_pk % 10 = 0""",
            """INSERT INTO code (code, kind, batch_id, status, issued_at)
               SELECT 'B' || lpad(g::text, 13, '0'), 'batch', g, 'issued', now()
               FROM generate_series(1, CAST(:batches AS integer)) AS g""",
            """INSERT INTO code (code, kind, batch_id, status, issued_at)
               SELECT 'U' || lpad(g::text, 13, '0'), 'unit', g, 'printed', now()
               FROM generate_series(1, CAST(:units AS integer)) AS g""",
        ):
            conn.execute(text(statement), params)
        conn.execute(
            text(f"""
            INSERT INTO scan (code_id, batch_id, at, client_hash, province_code)
            SELECT CASE WHEN g % 10 = 0 THEN :batches + 1 + (g / 10) % :units
                        ELSE 1 + g % :batches END,
                   CASE WHEN g % 10 = 0 THEN 1 + (g / 10) % :units ELSE 1 + g % :batches END,
                   now() - ((g::bigint * 7919) % 2592000) * interval '1 second',
                   md5((g % 50000)::text) || md5((g % 50000)::text),
                   CASE WHEN g % 8 = 0 THEN NULL
                        ELSE ({places})[1 + (g::bigint * g) % 34 % (1 + g % 34)] END
            FROM generate_series(1, CAST(:scans AS integer)) AS g
            """),
            {"batches": BATCHES, "units": UNIT_CODES, "scans": SCANS},
        )
        conn.execute(
            text("""
            INSERT INTO report (batch_id, at, kind, message, client_hash, status)
            SELECT 1 + g * 37 % :batches, now() - g * interval '1 hour', 'quality',
                   'Báo cáo ' || g, md5(g::text) || md5(g::text),
                   CASE WHEN g % 2 = 0 THEN 'open' ELSE 'resolved' END
            FROM generate_series(1, CAST(:reports AS integer)) AS g
            """),
            {"batches": BATCHES, "reports": REPORTS},
        )
        conn.execute(text("ANALYZE"))
    engine.dispose()


def make_officer_and_count(url: str) -> float:
    """The centre officer the clients sign in as; then one pass of the rollup job, timed."""
    from trace import create_app
    from trace.db import db, transaction
    from trace.models import Role
    from trace.services import dashboard
    from trace.services.accounts import passwords, users
    from trace.services.actors import SYSTEM

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        with transaction(write=True) as session:
            users.create_user(
                session,
                SYSTEM,
                role=Role.CENTRE,
                email=LOGIN,
                organization_id=PRODUCERS + 1,
                province_code="24",
                password_hash=passwords.hash_password(PASSWORD, passwords.Cost()),
            )
        started = time.monotonic()
        dashboard.refresh(db.session, dashboard.Settings.of(app.config))
        return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}", flush=True)
    with bench_database("trace_bench_dashboard") as url:
        started = time.monotonic()
        fill(url)
        print(f"filled {PRODUCERS:,} producers, {BATCHES:,} batches, {EVENTS:,} events, "
              f"{SCANS:,} scans in {time.monotonic() - started:.0f} s", flush=True)  # fmt: skip
        rollup = make_officer_and_count(url)
        print(f"rollup job pass: {rollup:.1f} s", flush=True)
        server = serve(url)
        try:
            openers = [signed_in_opener() for _ in range(CLIENTS)]
            for name, path in SCENARIOS.items():
                if args.only and name not in args.only:
                    continue
                load(openers, path, args.warmup)
                latencies = load(openers, path, args.seconds)
                p50, p95, p99 = (percentile(latencies, p) for p in (50, 95, 99))
                rate = len(latencies) / args.seconds
                print(
                    f"{name:<11} {path:<26} {len(latencies):>6} requests {rate:>7.1f}/s"
                    f"  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms",
                    flush=True,
                )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(20)
    print(f"load average after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
