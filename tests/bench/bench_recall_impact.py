"""Recall impact benchmark: a recall through a 100,000-batch genealogy, on PostgreSQL.

Run from the checkout (PostgreSQL at ``TRACE_BENCH_DATABASE_URL``, default
``postgresql://postgres@127.0.0.1:5432/postgres``; a scratch database is created and dropped)::

    .venv/bin/python tests/bench/bench_recall_impact.py [--batches 100000] [--fanout 10]

Builds a tree of transformations from one root batch (each batch made into ``fanout`` others,
level by level, until ``--batches``), one shipping event (to one of 20 organisations) and one
receiving event per leaf batch, one unit code per batch, and a scan per batch. Then recalls the
root with ``include_downstream`` through the API and times ``GET /recalls/<id>/impact``
(target ≤ 1 s), best of three, JSON and HTML.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import inspection_data as data
from datagen import bench_database

from trace.provinces import VIETNAM


def seed(app, batch_count: int, fanout: int) -> None:  # type: ignore[no-untyped-def]
    from trace.db import db
    from trace.models import BatchLink, Code, Scan

    start = dt.datetime(2026, 6, 1, 6, 0, tzinfo=VIETNAM)
    with db.engine_for(app).begin() as conn:
        data.registry(conn)
        data.batches(conn, batch_count)
        rows: list[dict] = []
        epcs: list[dict] = []
        links: list[dict] = []
        seq = 0
        # Batch n (n ≥ 2) is made from batch (n - 2) // fanout + 1: one event per parent.
        parents = (batch_count - 2) // fanout + 1
        for parent in range(1, parents + 1):
            first = (parent - 1) * fanout + 2
            children = list(range(first, min(first + fanout, batch_count + 1)))
            if not children:
                continue
            seq += 1
            when = start + dt.timedelta(minutes=parent)
            row, epc = data.event_row(seq, parent, data.EXT + "processing", when,
                                      type="TransformationEvent")  # fmt: skip
            rows.append(row)
            epcs.append({**epc, "role": "input_class"})
            for child in children:
                epcs.append({**epc, "role": "output_class", "uri": data.lot_uri(child),
                             "batch_id": child})  # fmt: skip
                links.append({"input_batch_id": parent, "output_batch_id": child,
                              "event_pk": seq})  # fmt: skip
            if len(rows) >= 5000:
                data.flush_events(conn, rows, epcs)
        data.flush_events(conn, rows, epcs)
        data.bulk(conn, BatchLink.__table__, links, 10000)
        for leaf in range(parents + 1, batch_count + 1):
            when = start + dt.timedelta(days=2, minutes=leaf % 1000)
            seq += 1
            row, epc = data.event_row(
                seq,
                leaf,
                "shipping",
                when,
                destinationList=[
                    {"type": "owning_party", "destination": f"{data.HOST}/org/{1 + leaf % 20}"}
                ],
            )
            rows.append(row)
            epcs.append(epc)
            seq += 1
            row, epc = data.event_row(seq, leaf, "receiving", when + dt.timedelta(hours=8))
            rows.append(row)
            epcs.append(epc)
            if len(rows) >= 10000:
                data.flush_events(conn, rows, epcs)
        data.flush_events(conn, rows, epcs)
        data.bulk(conn, Code.__table__, [
            {"code": f"U{b:09d}", "kind": "unit", "batch_id": b, "status": "printed",
             "issued_at": start} for b in range(1, batch_count + 1)], 10000)  # fmt: skip
        provinces = ["01", "79", "24", "48"]
        data.bulk(conn, Scan.__table__, [
            {"code_id": b, "batch_id": b, "at": start + dt.timedelta(days=5),
             "client_hash": f"{b:064d}", "province_code": provinces[b % 4]}
            for b in range(1, batch_count + 1)], 10000)  # fmt: skip
        conn.exec_driver_sql("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=100_000)
    parser.add_argument("--fanout", type=int, default=10)
    args = parser.parse_args()
    with bench_database() as url, tempfile.TemporaryDirectory() as instance:
        app = data.make_app(url, instance)
        began = time.perf_counter()
        seed(app, args.batches, args.fanout)
        print(f"seeded {args.batches} batches in {time.perf_counter() - began:.1f} s")
        headers = data.inspector_header(app)
        client = app.test_client()
        began = time.perf_counter()
        made = client.post("/api/v1/recalls", headers=headers, json={
            "batches": [1], "reason": "bench", "include_downstream": True})  # fmt: skip
        assert made.status_code == 201, made.json
        print(f"recall of the root with downstream: {made.json['downstream'] + 1} batches "
              f"recalled in {time.perf_counter() - began:.2f} s")  # fmt: skip
        recall_id = made.json["id"]
        for fmt in ("json", "html"):
            times = []
            for _ in range(3):
                began = time.perf_counter()
                response = client.get(f"/api/v1/recalls/{recall_id}/impact?format={fmt}",
                                      headers=headers)  # fmt: skip
                body = response.get_data()
                times.append(time.perf_counter() - began)
                assert response.status_code == 200
            print(f"impact ({fmt}): best {min(times):.2f} s of {[round(t, 2) for t in times]}, "
                  f"{len(body) / 1e6:.1f} MB")  # fmt: skip
        impact = client.get(f"/api/v1/recalls/{recall_id}/impact", headers=headers).json
        print(f"  batches {len(impact['batches'])}, organisations {len(impact['organizations'])}"
              f", facilities {len(impact['facilities'])}, codes {impact['codes']['total']}, "
              f"scans {impact['scans']['total']}")  # fmt: skip
        from trace.db import db

        db.engine_for(app).dispose()


if __name__ == "__main__":
    main()
