"""The console's search box under load: 100,000 batches (PostgreSQL), gunicorn with 2 workers,
8 concurrent signed-in clients, a mix of what people type, paste or scan.

Run from the checkout: ``scripts/bench.sh find`` (or ``.venv/bin/python
tests/bench/bench_find.py``). Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust);
creates a database of its own and drops it.

Data: bench_console's (one producer, 100 products, 100,000 batches, 300,000 events), plus 2,000
organisations in 34 provinces with Vietnamese names and GLNs, a valid GTIN on half the products,
a batch-level trace code per batch and 100,000 unit codes. The mix (each client picks the next
query at random): a trace code typed in lower case with dashes, a scanned ``/q/`` URL, a scanned
Digital Link with GTIN, lot and serial, a lot code, a GTIN, a GLN, and organisation words without
diacritics (several matches: the grouped list). A query with one match answers 303 (straight
to it): only the search's own answer is timed, not the page it leads to. Printed: requests,
requests/s, p50/p95/p99 in ms per kind and overall (goal: p95 ≤ 150 ms), for an inspector and
for a province centre (the read rule in its SQL), each after the same page with an empty box
(what the machine and the console's own work cost, without any search).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package is named ``trace``: the checkout must come first
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from tests.bench.bench_console import PORT, percentile, serve  # noqa: E402
from tests.bench.datagen import bench_database, fill_events, fill_registry  # noqa: E402

BATCHES = 100_000
ORGANISATIONS = 2_000
UNIT_CODES = 100_000
CLIENTS = 8
PASSWORD = "bench password 2026"
USERS = {"inspector": "inspector@example.com", "centre": "centre@example.com"}
WORDS = ["Hợp tác xã", "Công ty", "Cơ sở", "Hộ kinh doanh"]
PLACES = ["Lục Ngạn", "Buôn Ma Thuột", "Phú Quốc", "Cao Phong", "Mộc Châu", "Đà Lạt"]
PROVINCES = [f"{n:02d}" for n in range(1, 35)]


def _gs1(body: str) -> str:
    from trace.gs1.keys import check_digit

    return body + check_digit(body)


def fill(url: str) -> dict[str, list[str]]:
    """The data set; returns samples of each kind of query."""
    from trace.db import build_engine
    from trace.labels.codes import new_unit_code
    from trace.services.registry.text import fold

    rng = random.Random(13)
    engine = build_engine(url)
    fill_registry(engine, BATCHES)
    fill_events(engine, 3 * BATCHES, BATCHES)
    organisations = []
    for n in range(ORGANISATIONS):
        name = f"{rng.choice(WORDS)} {rng.choice(PLACES)} {n}"
        gln = _gs1(f"893{n:09d}")
        organisations.append({
            "id": 10 + n, "name": name, "tax": f"{3000000000 + n}", "gln": gln,
            "province": PROVINCES[n % 34], "search": fold(name),
        })  # fmt: skip
    batch_codes = [{"code": new_unit_code(), "batch": b} for b in range(1, BATCHES + 1)]
    unit_codes = [
        {"code": new_unit_code(), "batch": 1 + (n * 7) % BATCHES} for n in range(UNIT_CODES)
    ]
    gtins = {p: _gs1(f"0893{p:09d}") for p in range(2, 101, 2)}
    with engine.begin() as conn:
        conn.execute(
            text("""
            INSERT INTO organization (id, kind, name, tax_code, gln, province_code, address,
                                      search_text, created_at, updated_at)
            VALUES (:id, 'producer', :name, :tax, :gln, :province, 'địa chỉ', :search,
                    now(), now())
            """),
            organisations,
        )
        conn.execute(
            text("SELECT setval('organization_id_seq', (SELECT max(id) FROM organization))")
        )
        conn.execute(
            text("UPDATE product SET gtin = :gtin WHERE id = :id"),
            [{"id": p, "gtin": g} for p, g in gtins.items()],
        )
        conn.execute(
            text("""INSERT INTO code (code, kind, batch_id, status, issued_at)
                    VALUES (:code, 'batch', :batch, 'printed', now())"""),
            batch_codes,
        )
        conn.execute(
            text("""INSERT INTO code (code, kind, batch_id, status, issued_at)
                    VALUES (:code, 'unit', :batch, 'printed', now())"""),
            unit_codes,
        )
        conn.execute(text("ANALYZE"))
    engine.dispose()
    base = "https://trace.example.vn"

    def dashed(code: str) -> str:
        return "-".join(code[i : i + 4] for i in range(0, len(code), 4)).lower()

    samples: dict[str, list[str]] = {"code": [], "short url": [], "digital link": []}
    for row in rng.sample(batch_codes + unit_codes, 400):
        samples["code"].append(dashed(row["code"]))
        samples["short url"].append(f"{base}/q/{row['code']}")
    for row in rng.sample(unit_codes, 2000):
        product = 1 + row["batch"] % 100
        if product in gtins and len(samples["digital link"]) < 400:
            samples["digital link"].append(
                f"{base}/01/{gtins[product]}/10/L{row['batch']}/21/{row['code']}"
            )
    samples["lot"] = [f"L{rng.randint(1, BATCHES)}" for _ in range(400)]
    samples["gtin"] = [gtins[p].lstrip("0") for p in rng.sample(sorted(gtins), 40)]
    samples["gln"] = [o["gln"] for o in rng.sample(organisations, 400)]
    samples["name"] = [fold(rng.choice(PLACES)) for _ in range(200)] + [
        fold(o["name"]).rsplit(" ", 1)[0] for o in rng.sample(organisations, 200)
    ]
    return samples


def make_users(url: str) -> None:
    from trace import create_app
    from trace.db import transaction
    from trace.models import Role
    from trace.services.accounts import passwords, users
    from trace.services.actors import SYSTEM

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    cost = passwords.Cost()
    with app.app_context(), transaction(write=True) as session:
        users.create_user(session, SYSTEM, role=Role.INSPECTOR, email=USERS["inspector"],
                          password_hash=passwords.hash_password(PASSWORD, cost))  # fmt: skip
        users.create_user(session, SYSTEM, role=Role.CENTRE, email=USERS["centre"],
                          province_code="24",
                          password_hash=passwords.hash_password(PASSWORD, cost))  # fmt: skip


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


def signed_in_opener(login: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{PORT}"
    page = opener.open(f"{base}/console/sign-in").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    body = urllib.parse.urlencode(
        {"login": login, "password": PASSWORD, "csrf_token": token.group(1)}
    ).encode()
    opener.open(f"{base}/console/sign-in", data=body)
    assert "Tìm" in opener.open(f"{base}/console/find").read().decode(), "not signed in"
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)


def load(
    openers: list[urllib.request.OpenerDirector], samples: dict[str, list[str]], seconds: float
) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    kinds = sorted(samples)

    def client(opener: urllib.request.OpenerDirector, seed: int) -> None:
        rng = random.Random(seed)
        mine: dict[str, list[float]] = defaultdict(list)
        while time.monotonic() < deadline:
            kind = rng.choice(kinds)
            query = urllib.parse.urlencode({"q": rng.choice(samples[kind])})
            start = time.perf_counter()
            try:
                with opener.open(f"http://127.0.0.1:{PORT}/console/find?{query}") as response:
                    response.read()
                    status = response.status
            except urllib.error.HTTPError as answer:
                answer.read()
                status = answer.code
            assert status in (200, 303), (status, kind, query)
            mine[kind].append(time.perf_counter() - start)
        with lock:
            for kind, values in mine.items():
                timings[kind].extend(values)

    threads = [threading.Thread(target=client, args=(o, i)) for i, o in enumerate(openers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def report(who: str, timings: dict[str, list[float]], seconds: float) -> None:
    every = [v for values in timings.values() for v in values]
    for kind, values in [*sorted(timings.items()), ("all", every)]:
        p50, p95, p99 = (percentile(values, p) for p in (50, 95, 99))
        print(
            f"{who:<9} {kind:<12} {len(values):>6} requests {len(values) / seconds:>7.1f}/s"
            f"  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=5)
    args = parser.parse_args()
    with bench_database("trace_bench_find") as url:
        started = time.monotonic()
        samples = fill(url)
        make_users(url)
        print(f"filled {BATCHES:,} batches, {ORGANISATIONS:,} organisations, "
              f"{BATCHES + UNIT_CODES:,} codes in {time.monotonic() - started:.0f} s",
              flush=True)  # fmt: skip
        server = serve(url)
        try:
            for who, login in USERS.items():
                openers = [signed_in_opener(login) for _ in range(CLIENTS)]
                load(openers, samples, args.warmup)
                # the machine's own pace: the same page with an empty box (no search at all)
                report(who, load(openers, {"empty box": [""]}, args.seconds / 3), args.seconds / 3)
                report(who, load(openers, samples, args.seconds), args.seconds)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(20)


if __name__ == "__main__":
    main()
