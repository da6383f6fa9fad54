"""A small world for the centre's pages: province 24 (Bắc Ninh) with a producer, a
cooperative, products, active and recalled batches, this week's events, scans from several
provinces (one unit code scanned by six phones: a possible copy), and consumer reports; and a
neighbour province 01 (Hà Nội) with its own of each, which province 24's centre must never see.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from tests.api.inspection_support import add_codes, add_scans, stage
from trace.jobs import enqueue
from trace.jobs.worker import Worker
from trace.models import Batch, BatchStatus, Code, Job, JobStatus, Organization, Report
from trace.provinces import VIETNAM
from trace.services import dashboard


@dataclass
class Province:
    now: dt.datetime  # when the world was made: its times are relative to it
    producer: Organization
    coop: Organization
    batch: Batch
    recalled: Batch
    copied: Code
    calm: Code
    report: Report
    resolved: Report


def _vietnam_text(moment: dt.datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M:%S")


def _report(session: Session, now: dt.datetime, batch: Batch | None, code: Code | None,
            message: str, status: str = "open") -> Report:  # fmt: skip
    session.rollback()
    report = Report(batch_id=batch.id if batch else None, code_id=code.id if code else None,
                    kind="counterfeit", message=message, client_hash="c" * 64, status=status,
                    at=now - dt.timedelta(hours=1))  # fmt: skip
    if status == "resolved":
        report.resolution = "checked"
        report.resolved_at = now
    session.add(report)
    session.commit()
    return report


def province(
    session: Session, client: Any, build: Any, token: Any, code: str, name: str, tag: str
) -> Province:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    producer = build.organization(kind="producer", name=name, province_code=code)
    coop = build.organization(name=f"HTX {tag}", province_code=code)
    product = build.product(producer, name_vi=f"Vải {tag}")
    build.product(coop, name_vi=f"Cam {tag}")
    batch = build.batch(product, lot_code=f"{tag}-1")
    build.batch(product, lot_code=f"{tag}-2")
    recalled = build.batch(product, lot_code=f"{tag}-R")
    session.rollback()
    session.get(Batch, recalled.id).status = BatchStatus.RECALLED  # type: ignore[union-attr]
    session.commit()
    grower = token("producer", producer)
    recent = _vietnam_text(now - dt.timedelta(minutes=20))
    stage(client, batch.id, grower, stage="harvesting", time=recent, quantity="100")
    stage(client, batch.id, grower, stage="packing", time=recent)
    stage(client, batch.id, grower, stage="cooling", time="2026-06-08T05:30:00")  # long ago
    copied, calm = add_codes(session, batch.id, [(f"{tag}COPY", "printed"),
                                                 (f"{tag}CALM", "printed")])  # fmt: skip
    return Province(now, producer, coop, batch, recalled, copied, calm,
                    _report(session, now, batch, calm, f"Tem lạ {tag}"),
                    _report(session, now, batch, calm, f"Đã xử lý {tag}", "resolved"))  # fmt: skip


def scan(code: Code, when: dt.datetime, client: str, place: str | None) -> dict[str, Any]:
    return {"code_id": code.id, "batch_id": code.batch_id, "at": when,
            "client_hash": client * 64, "province_code": place}  # fmt: skip


def add_world_scans(session: Session, own: Province, foreign: Province) -> None:
    """Own province: six phones on the copied code within three hours (Hà Nội ×3, Huế ×2,
    Bắc Ninh ×1), the calm code four times (Bắc Ninh ×2, no place, and Cà Mau 5 days ago) and
    once 40 days ago (out of the period). The neighbour: two scans in Đà Nẵng."""
    now = own.now
    scans = [
        scan(own.copied, now - dt.timedelta(minutes=170 - 30 * i), str(i), place)
        for i, place in enumerate(("01", "01", "01", "46", "46", "24"))
    ]
    scans += [
        scan(own.calm, now - dt.timedelta(minutes=10), "a", "24"),
        scan(own.calm, now - dt.timedelta(minutes=9), "a", "24"),
        scan(own.calm, now - dt.timedelta(minutes=8), "b", None),
        scan(own.calm, now - dt.timedelta(days=5), "c", "96"),
        scan(own.calm, now - dt.timedelta(days=40), "c", "96"),
        scan(foreign.calm, now - dt.timedelta(minutes=7), "d", "48"),
        scan(foreign.calm, now - dt.timedelta(minutes=6), "e", "48"),
    ]
    add_scans(session, scans)


def run_rollup(app: Flask, session: Session) -> None:
    """What the worker does every DASHBOARD_ROLLUP_SECONDS: the real job, through the queue."""
    session.rollback()
    job = enqueue(session, dashboard.JOB_KIND, {})
    session.commit()
    assert Worker(app).run(burst=True) >= 1
    session.rollback()
    done = session.get(Job, job.id, populate_existing=True)
    assert done is not None and done.status is JobStatus.DONE, (done.status, done.error)
