"""EUDR package benchmark: an export lot whose genealogy reaches 10,000 plots, on PostgreSQL.

Run from the checkout (PostgreSQL at ``TRACE_BENCH_DATABASE_URL``, default
``postgresql://postgres@127.0.0.1:5432/postgres``; a scratch database is created and dropped)::

    .venv/bin/python tests/bench/bench_eudr.py [--plots 10000] [--blend 100]

Seeds ``--plots`` plots (each a 6-vertex polygon with its owner), one cherries lot harvested on
each (a harvest event at the plot), green-bean lots each blended from ``--blend`` cherries lots
(a transformation with input quantities), and one export lot blended from all the green lots.
Then times ``GET /api/v1/batches/<export lot>/eudr`` as an inspector (best of three; target
≤ 3 s), wall-clock and this process's CPU time (the machine's load average is printed too: on a
shared machine the wall time is mostly waiting), and reports the process's peak resident memory
(target ≤ 300 MB; the seeding runs in a child process, so this is the app's own) and the Python
allocations' peak during one request.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import inspection_data as data
from datagen import bench_database

from trace.provinces import VIETNAM

COOP, EXPORTER = 1, 2


def ring(n: int) -> list[list[float]]:
    """Plot ``n``'s hexagon (about 1.5 ha) on a grid over Đắk Lắk, six decimals."""
    lon0 = 108.0 + (n % 100) * 0.003 + 0.0000013
    lat0 = 12.5 + (n // 100) * 0.003 + 0.0000017
    points = [
        [round(lon0 + 0.0007 * math.cos(k * math.pi / 3), 6),
         round(lat0 + 0.0007 * math.sin(k * math.pi / 3), 6)]
        for k in range(6)
    ]  # fmt: skip
    return [*points, points[0]]


def seed(app, plot_count: int, blend: int) -> int:  # type: ignore[no-untyped-def]
    from trace.db import db
    from trace.models import Batch, BatchLink, Facility, Plot

    now = dt.datetime.now(dt.UTC)
    start = dt.datetime(2025, 11, 1, 6, 30, tzinfo=VIETNAM)
    greens = math.ceil(plot_count / blend)
    first_plot, first_green = 100, plot_count + 1
    export_id = plot_count + greens + 1
    with db.engine_for(app).begin() as conn:
        data.registry(conn)
        data.bulk(conn, Facility.__table__, [
            {"id": first_plot + n, "organization_id": COOP, "kind": "plot", "name": f"Rẫy {n}",
             "address": "xã Ea Tân", "province_code": "66", "search_text": "",
             "created_at": now, "updated_at": now}
            for n in range(plot_count)
        ])  # fmt: skip
        data.bulk(conn, Plot.__table__, [
            {"facility_id": first_plot + n, "geometry_type": "Polygon",
             "geometry": {"type": "Polygon", "coordinates": [ring(n)]}, "area_ha": 1.5,
             "declared_area_ha": 1.5, "producer_name": f"Nông hộ {n}", "producer_country": "VN",
             "land_documents": [], "created_at": now, "updated_at": now}
            for n in range(plot_count)
        ])  # fmt: skip

        def lot(batch_id: int, product: int, producer: int, quantity: int) -> dict:
            return {"id": batch_id, "product_id": product, "producer_id": producer,
                    "lot_code": f"B{batch_id:07d}", "quantity": quantity, "unit": "KGM",
                    "production_date": dt.date(2026, 1, 1),
                    "status": "active", "search_text": "", "created_at": now,
                    "updated_at": now}  # fmt: skip

        cherry_kg = [1000 + n % 500 for n in range(plot_count)]
        data.bulk(conn, Batch.__table__, [
            lot(n + 1, COOP, COOP, cherry_kg[n]) for n in range(plot_count)
        ] + [lot(first_green + g, COOP, COOP, 20000) for g in range(greens)]
          + [lot(export_id, EXPORTER, EXPORTER, 1000000)])  # fmt: skip

        def uri(batch_id: int, product: int) -> tuple[str, str]:
            return (
                f"{data.HOST}/lot/{product}/B{batch_id:07d}",
                f"trace:/lot/{product}/B{batch_id:07d}",
            )

        rows: list[dict] = []
        epcs: list[dict] = []
        links: list[dict] = []
        seq = 0
        for n in range(plot_count):
            seq += 1
            when = start + dt.timedelta(minutes=n)
            place = f"{data.HOST}/facility/{first_plot + n}"
            row, epc = data.event_row(
                seq, n + 1, data.EXT + "harvesting", when,
                bizLocation={"id": place}, readPoint={"id": place},
            )  # fmt: skip
            row["document"]["action"] = row["action"] = "ADD"
            row["document"]["quantityList"] = [
                {"epcClass": uri(n + 1, COOP)[0], "quantity": cherry_kg[n], "uom": "KGM"}
            ]
            row["biz_location"] = row["read_point"] = f"trace:/facility/{first_plot + n}"
            rows.append(row)
            epcs.append({**epc, "uri": uri(n + 1, COOP)[1]})
            if len(rows) >= 5000:
                data.flush_events(conn, rows, epcs)

        def blend_event(output: int, product: int, inputs: list[tuple[int, int, int]]) -> None:
            nonlocal seq
            seq += 1
            when = start + dt.timedelta(days=40, minutes=seq)
            row, epc = data.event_row(
                seq, output, data.EXT + "processing", when, type="TransformationEvent",
                inputQuantityList=[{"epcClass": uri(b, p)[0], "quantity": q, "uom": "KGM"}
                                   for b, p, q in inputs],
                outputQuantityList=[{"epcClass": uri(output, product)[0]}],
            )  # fmt: skip
            rows.append(row)
            epcs.append({**epc, "role": "output_class", "uri": uri(output, product)[1]})
            for b, p, _ in inputs:
                epcs.append({**epc, "role": "input_class", "uri": uri(b, p)[1], "batch_id": b})
                links.append({"input_batch_id": b, "output_batch_id": output, "event_pk": seq})

        for g in range(greens):
            members = range(g * blend, min((g + 1) * blend, plot_count))
            blend_event(first_green + g, COOP, [(n + 1, COOP, cherry_kg[n]) for n in members])
        blend_event(export_id, EXPORTER,
                    [(first_green + g, COOP, 20000 - g) for g in range(greens)])  # fmt: skip
        data.flush_events(conn, rows, epcs)
        data.bulk(conn, BatchLink.__table__, links, 10000)
        conn.exec_driver_sql("ANALYZE")
    return export_id


def _seed_in_child(url: str, instance: str, plots: int, blend: int) -> None:
    from trace.db import db

    app = data.make_app(url, instance)
    seed(app, plots, blend)
    db.engine_for(app).dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plots", type=int, default=10_000)
    parser.add_argument("--blend", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one request")
    args = parser.parse_args()
    with bench_database() as url, tempfile.TemporaryDirectory() as instance:
        began = time.perf_counter()
        child = multiprocessing.get_context("fork").Process(
            target=_seed_in_child, args=(url, instance, args.plots, args.blend)
        )
        child.start()
        child.join()
        assert child.exitcode == 0
        export_id = args.plots + math.ceil(args.plots / args.blend) + 1
        print(f"seeded {args.plots} plots in {time.perf_counter() - began:.1f} s")
        app = data.make_app(url, instance)
        headers = data.inspector_header(app)
        client = app.test_client()
        client.get("/api/v1/batches/1", headers=headers)  # imports and connections in place
        ready_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        times, cpu = [], []
        for attempt in range(4):
            if attempt == 3:
                tracemalloc.start()
            began, began_cpu = time.perf_counter(), time.process_time()
            response = client.get(f"/api/v1/batches/{export_id}/eudr", headers=headers)
            body = response.get_data()
            if attempt < 3:
                times.append(time.perf_counter() - began)
                cpu.append(time.process_time() - began_cpu)
            assert response.status_code == 200, response.get_data(as_text=True)[:500]
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        if args.profile:
            import cProfile
            import pstats

            with cProfile.Profile() as profile:
                client.get(f"/api/v1/batches/{export_id}/eudr", headers=headers)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        package = response.json
        assert len(package["geojson"]["features"]) == args.plots
        assert abs(sum(p["share"] for p in package["summary"]["plots"]) - 1) < 1e-6
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"EUDR package of {args.plots} plots: best {min(times):.2f} s wall of "
            f"{[round(t, 2) for t in times]} (this process's CPU: best {min(cpu):.2f} s), "
            f"{len(body) / 1e6:.1f} MB of JSON; load average {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} CPUs"
        )
        print(f"peak RSS {peak_rss:.0f} MB ({ready_rss:.0f} MB before the first package), "
              f"Python allocations peak in one request "
              f"{traced_peak / 1e6:.0f} MB")  # fmt: skip
        from trace.db import db

        db.engine_for(app).dispose()


if __name__ == "__main__":
    main()
