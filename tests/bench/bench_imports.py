"""Import benchmarks on PostgreSQL (issue 14). Prints its figures.

- 100,000 stage-event rows (CSV: lot code, stage, time, place, quantity, unit):
  preview ≤ 30 s, commit ≤ 60 s, peak memory (max RSS of this process) ≤ 500 MB; rows/s beside
  the API's own capture rate (POST /capture, documents of 1,000 events) measured in the run;
  how long captures made meanwhile on another connection waited;
- 10,000 product rows ≤ 10 s (without GTINs, then with GTINs: each checked for uniqueness).

Each phase prints its wall time and the CPU time of this process (user + system: less sensitive
to a loaded machine than the wall time; the database server's work is not in it), and the load
average is printed at the start and the end.

Run: ``scripts/bench.sh imports [--events 100000 --products 10000]``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import resource
import threading
import time

from datagen import bench_database, fill_registry
from sqlalchemy import text

from trace import collector
from trace.epcis.export import epcis_document


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _GcClock:
    """CPU seconds spent in garbage collections (``gc.callbacks``), by generation."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.counts = [0, 0, 0]
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.seconds[info["generation"]] += time.process_time() - self._start
            self.counts[info["generation"]] += 1

    def since(self, before: tuple[list[float], list[int]]) -> str:
        spent = [now - then for now, then in zip(self.seconds, before[0], strict=True)]
        made = [now - then for now, then in zip(self.counts, before[1], strict=True)]
        return (f"GC {sum(spent):.1f} s CPU (full collections: {made[2]}, "
                f"{spent[2]:.1f} s)")  # fmt: skip

    def mark(self) -> tuple[list[float], list[int]]:
        return list(self.seconds), list(self.counts)


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _events_csv(rows: int, batches: int) -> bytes:
    # The generated GTINs have no valid check digit: lots are named by their (unique) code.
    lines = ["Số lô,Công đoạn,Thời gian,Địa điểm,Số lượng,Đơn vị tính"]
    for i in range(rows):
        batch = 1 + i % batches
        step = i // batches  # each batch's rows go one hour apart
        when = f"{1 + step % 28:02d}/06/2026 {step // 28 % 24:02d}:{step // 672 % 60:02d}"
        lines.append(f'L{batch},Thu hoạch,{when},Vườn thử tải,"12,5",kg')
    return ("\n".join(lines) + "\n").encode()


def _gtin(n: int) -> str:
    from trace.gs1.keys import check_digit

    body = f"893{n:09d}"
    return body + check_digit(body)


def _capture_doc(start: int, count: int) -> dict:
    events = [{"type": "ObjectEvent", "eventTime": "2026-07-01T06:30:00+07:00",
               "eventTimeZoneOffset": "+07:00", "action": "OBSERVE", "bizStep": "inspecting",
               "quantityList": [{"epcClass": f"http://localhost:5000/01/00000000000002/10/L{i}",
                                 "quantity": 1, "uom": "KGM"}]}
              for i in range(start, start + count)]  # fmt: skip
    return epcis_document(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument(
        "--database-prefix",
        default="trace_bench",
        help="name of the scratch database (a random suffix is added)",
    )
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="do not freeze the loaded app as the job worker and the CLI import do",
    )
    parser.add_argument(
        "--gen0",
        type=int,
        default=collector.IMPORT_YOUNG_THRESHOLD,
        help="young generation's GC threshold in the import, as the job and CLI set it "
        "(0: Python's, 700)",
    )
    args = parser.parse_args()
    print(f"start: {_load()} on {os.cpu_count()} cores")

    from trace import create_app
    from trace.api.imports import engine
    from trace.db import build_engine, db, transaction
    from trace.models import Role
    from trace.services.actors import SYSTEM, Actor
    from trace.services.registry.tokens import create_token

    with bench_database(args.database_prefix) as url:
        filled = build_engine(url)
        fill_registry(filled, args.batches)
        with filled.begin() as conn:  # datagen's GTINs have no valid check digit
            conn.execute(text("UPDATE product SET gtin = NULL"))
        filled.dispose()
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
        public = str(app.config["PUBLIC_URL"])
        if not args.no_gc_freeze:  # as the job worker and the CLI import do at start-up
            print(f"gc.freeze(): {collector.freeze_startup_objects():,} objects frozen")
        clock = _GcClock()

        def threshold() -> contextlib.AbstractContextManager[None]:
            if args.gen0:
                return collector.young_threshold(args.gen0)
            return contextlib.nullcontext()

        with app.app_context():
            _, secret = create_token(db.session, SYSTEM, role=Role.ADMIN)
            db.session.commit()
        headers = {"Authorization": f"Bearer {secret}"}
        client = app.test_client()
        began, cpu = time.perf_counter(), _cpu()
        for start in range(0, 10_000, 1_000):
            response = client.post("/api/v1/capture", json=_capture_doc(start, 1000),
                                   headers=headers)  # fmt: skip
            assert response.status_code == 201, response.get_data(as_text=True)[:300]
        capture_rate = 10_000 / (time.perf_counter() - began)
        used = _cpu() - cpu
        print(f"API capture: {capture_rate:,.0f} events/s (10 documents of 1,000), "
              f"CPU {used:.1f} s = {10_000 / used:,.0f} events per CPU s")  # fmt: skip

        actor = Actor(role=Role.ADMIN, label="bench")
        body = _events_csv(args.events, args.batches)
        print(f"events file: {args.events:,} rows, {len(body) / 1e6:.1f} MB")
        with app.app_context():
            began, cpu, collected = time.perf_counter(), _cpu(), clock.mark()
            with threshold(), transaction(write=True) as session:
                report = engine.preview(session, actor, "events", "bench.csv", body, public)
            seconds = time.perf_counter() - began
            assert report.ok, report.errors[:5]
            used = _cpu() - cpu
            print(f"preview: {seconds:.1f} s = {args.events / seconds:,.0f} rows/s "
                  f"(target ≤ 30 s), CPU {used:.1f} s, {clock.since(collected)}; "
                  f"max RSS {_rss_mb():.0f} MB")  # fmt: skip

        waits: list[float] = []
        stop = threading.Event()

        def capture_meanwhile() -> None:
            other = app.test_client()
            n = 100_000
            while not stop.is_set():
                n += 1
                start = time.perf_counter()
                response = other.post("/api/v1/capture", json=_capture_doc(n, 1),
                                      headers=headers)  # fmt: skip
                assert response.status_code == 201, response.get_data(as_text=True)[:300]
                waits.append(time.perf_counter() - start)
                time.sleep(0.2)

        with app.app_context():
            began, cpu, collected = time.perf_counter(), _cpu(), clock.mark()
            thread = threading.Thread(target=capture_meanwhile)
            thread.start()
            with threshold(), transaction(write=True) as session:
                record = engine.new_record(session, actor, "events", "bench.csv", body, 0)
                report = engine.execute(session, record, public)
            seconds = time.perf_counter() - began
            stop.set()
            thread.join()
            print(f"commit: {seconds:.1f} s = {args.events / seconds:,.0f} rows/s (target ≤ 60 s)"
                  f", CPU {_cpu() - cpu:.1f} s (with the captures meanwhile), "
                  f"{clock.since(collected)}; "
                  f"{report.counts['created']:,} events created; max RSS {_rss_mb():.0f} MB "
                  "(target ≤ 500 MB)")  # fmt: skip
            p95, median = _percentile(waits, 0.95), _percentile(waits, 0.5)
            print(f"captures meanwhile: {len(waits)}, longest {max(waits):.2f} s, "
                  f"p95 {p95:.3f} s, median {median:.3f} s")  # fmt: skip
            began = time.perf_counter()
            with transaction(write=True) as session:
                record = engine.new_record(session, actor, "events", "bench.csv", body, 0)
                report = engine.execute(session, record, public)
            print(
                f"commit again (idempotent): {time.perf_counter() - began:.1f} s, "
                f"{report.counts['unchanged']:,} unchanged, {report.counts['created']} created"
            )

            lines = ["Chủ sở hữu,Tên sản phẩm,Nhóm sản phẩm,Đơn vị tính,Hạn sử dụng (ngày)"]
            lines += [f"2400000001,Sản phẩm nhập {i},trái cây,kg,30" for i in range(args.products)]
            products = ("\n".join(lines) + "\n").encode()
            began, cpu = time.perf_counter(), _cpu()
            with transaction(write=True) as session:
                record = engine.new_record(session, actor, "products", "p.csv", products, 0)
                report = engine.execute(session, record, public)
            seconds = time.perf_counter() - began
            assert report.counts["created"] == args.products, report.errors[:5]
            print(f"products: {args.products:,} rows committed in {seconds:.1f} s = "
                  f"{args.products / seconds:,.0f} rows/s (target ≤ 10 s), "
                  f"CPU {_cpu() - cpu:.1f} s")  # fmt: skip

            lines = [lines[0] + ",Mã GTIN"]  # each checked for uniqueness
            lines += [f"2400000001,Sản phẩm GTIN {i},trái cây,kg,30,{_gtin(i)}"
                      for i in range(args.products)]  # fmt: skip
            products = ("\n".join(lines) + "\n").encode()
            began, cpu = time.perf_counter(), _cpu()
            with transaction(write=True) as session:
                record = engine.new_record(session, actor, "products", "g.csv", products, 0)
                report = engine.execute(session, record, public)
            seconds = time.perf_counter() - began
            assert report.counts["created"] == args.products, report.errors[:5]
            print(f"products with GTINs: {args.products:,} rows committed in {seconds:.1f} s = "
                  f"{args.products / seconds:,.0f} rows/s (target ≤ 10 s), "
                  f"CPU {_cpu() - cpu:.1f} s")  # fmt: skip
        print(f"end: {_load()}")
        db.engine_for(app).dispose()


if __name__ == "__main__":
    main()
