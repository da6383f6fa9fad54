"""Console list pages under load: 100,000 batches in one organisation (PostgreSQL), gunicorn
with 2 workers, 8 concurrent signed-in clients.

Run from the checkout: ``scripts/bench.sh console`` (or ``.venv/bin/python
tests/bench/bench_console.py``). Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust);
creates a database of its own and drops it.

Data: one producer with 100 products and 100,000 batches, 300,000 events indexed under them,
a batch-level code per batch and 300,000 scans. Scenarios, each ``--seconds`` long after a
warm-up: the batch list's first page (``/console/batches``), a search without diacritics
(``/console/batches?q=…``), the home page and the product list. Printed per scenario: requests,
requests/s, p50/p95/p99 in ms (goal: p95 ≤ 150 ms for the first page and the search).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package is named ``trace``: the checkout must come first
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from tests.bench.datagen import bench_database, fill_events, fill_registry  # noqa: E402

BATCHES = 100_000
PORT = 8741
CLIENTS = 8
LOGIN, PASSWORD = "bench@example.com", "bench password 2026"
SCENARIOS = {
    "first page": "/console/batches",
    "search": "/console/batches?q=san+pham+42",
    "home": "/console/",
    "products": "/console/products",
}


def fill(url: str) -> None:
    from trace.db import build_engine

    engine = build_engine(url)
    fill_registry(engine, BATCHES)
    fill_events(engine, 3 * BATCHES, BATCHES)
    with engine.begin() as conn:
        conn.execute(
            text("""
            INSERT INTO code (code, kind, batch_id, status, issued_at)
            SELECT 'B' || lpad(g::text, 13, '0'), 'batch', g, 'issued', now()
            FROM generate_series(1, :batches) AS g
            """),
            {"batches": BATCHES},
        )
        conn.execute(
            text("""
            INSERT INTO scan (code_id, batch_id, at, client_hash)
            SELECT 1 + g % :batches, 1 + g % :batches, now(), md5(g::text) || md5(g::text)
            FROM generate_series(1, 3 * :batches) AS g
            """),
            {"batches": BATCHES},
        )
        conn.execute(text("ANALYZE"))
    engine.dispose()


def make_user(url: str) -> None:
    from trace import create_app
    from trace.db import transaction
    from trace.models import Role
    from trace.services.accounts import passwords, users
    from trace.services.actors import SYSTEM

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context(), transaction(write=True) as session:
        users.create_user(
            session,
            SYSTEM,
            role=Role.PRODUCER,
            email=LOGIN,
            organization_id=1,
            password_hash=passwords.hash_password(PASSWORD, passwords.Cost()),
        )


def serve(url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TRACE_DATABASE_URL": url,
        "TRACE_SECRET_KEY": "bench",
        "TRACE_PUBLIC_URL": f"http://127.0.0.1:{PORT}",
    }
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        *shlex.split("--workers 2 --worker-class sync"),
        "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning", "wsgi:app",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)
    raise RuntimeError("gunicorn did not start")


def signed_in_opener() -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{PORT}"
    page = opener.open(f"{base}/console/sign-in").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    body = urllib.parse.urlencode(
        {"login": LOGIN, "password": PASSWORD, "csrf_token": token.group(1)}
    ).encode()
    opener.open(f"{base}/console/sign-in", data=body)
    home = opener.open(f"{base}/console/batches").read().decode()
    assert "Sản phẩm" in home, "not signed in"
    return opener


def load(openers: list[urllib.request.OpenerDirector], path: str, seconds: float) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(opener: urllib.request.OpenerDirector) -> None:
        mine = []
        while time.monotonic() < deadline:
            start = time.perf_counter()
            with opener.open(f"http://127.0.0.1:{PORT}{path}") as response:
                response.read()
                assert response.status == 200
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(o,)) for o in openers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=5)
    args = parser.parse_args()
    with bench_database("trace_bench_console") as url:
        started = time.monotonic()
        fill(url)
        make_user(url)
        print(f"filled {BATCHES:,} batches in {time.monotonic() - started:.0f} s", flush=True)
        server = serve(url)
        try:
            openers = [signed_in_opener() for _ in range(CLIENTS)]
            for name, path in SCENARIOS.items():
                load(openers, path, args.warmup)
                latencies = load(openers, path, args.seconds)
                p50, p95, p99 = (percentile(latencies, p) for p in (50, 95, 99))
                rate = len(latencies) / args.seconds
                print(
                    f"{name:<11} {path:<34} {len(latencies):>6} requests {rate:>7.1f}/s"
                    f"  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms",
                    flush=True,
                )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(20)


if __name__ == "__main__":
    main()
