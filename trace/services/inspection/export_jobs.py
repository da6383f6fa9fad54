"""Exports asked for in the console, run as background jobs: the KDE spreadsheet (CSV or XLSX)
for a batch, a product, an organisation or a period, and the national portal's items (JSON).

The job keeps who asked (role, organisation, province, user) in its parameters and runs the
export as that actor, so the read rule of the export applies as it would to the API; the job is
read (its progress, its file) by the person who asked, and by admin. A centre may not name
another province's batch, product or organisation (403 before anything is queued).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.jobs import JobContext, enqueue, job_kind
from trace.models import Batch, Job, Organization, Product, Role
from trace.services.actors import Actor
from trace.services.errors import Conflict, Forbidden
from trace.services.events import visibility
from trace.services.inspection import exports
from trace.services.jobs import unfinished
from trace.services.registry.catalogue import get

JOB_KIND = "console_export"
#: exports one person may have queued or running at once (each fills a file on the disk)
MAX_WAITING = 2
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {
    "csv": (".csv", "text/csv"),
    "xlsx": (".xlsx", XLSX),
    "portal": (".json", "application/json"),
}
FILTERS = ("batch", "product", "organization", "from", "to", "lang")
PORTAL_PAGE = 500
PROGRESS_EVERY = 500


def start(session: Session, actor: Actor, spec: Mapping[str, Any]) -> Job:
    """Queue the export ``spec`` (``format`` and the KDE query's filters, dates as
    ``datetime.date``) for ``actor``, once the actor may read what it names."""
    actor.require(
        actor.role in {Role.ADMIN, Role.INSPECTOR, Role.CENTRE} and actor.user_id is not None,
        "export from the console",
    )
    _check_named(session, actor, spec)
    subject = ("user", actor.user_id or 0)
    if len(unfinished(session, JOB_KIND, subject)) >= MAX_WAITING:
        raise Conflict(
            f"{MAX_WAITING} of your exports are still being made: wait for one to finish."
        )
    params = {
        "actor": {
            "role": actor.role.value,
            "label": actor.label,
            "user_id": actor.user_id,
            "organization_id": actor.organization_id,
            "province_code": actor.province_code,
        },
        "format": spec["format"],
        "filters": {
            key: value.isoformat() if isinstance(value, dt.date) else value
            for key, value in spec.items()
            if key in FILTERS
        },
    }
    return enqueue(session, JOB_KIND, params, subject=subject, actor=actor)


def _check_named(session: Session, actor: Actor, spec: Mapping[str, Any]) -> None:
    if actor.role is not Role.CENTRE:
        return
    province = actor.province_code or "--"
    if "batch" in spec:
        visibility.require_batch_reader(session, actor, get(session, Batch, spec["batch"]).id)
    if "product" in spec:
        product = get(session, Product, spec["product"])
        if get(session, Organization, product.organization_id).province_code != province:
            raise Forbidden("A centre exports its own province's products only.")
    named = spec.get("organization")
    if named is not None and get(session, Organization, named).province_code != province:
        raise Forbidden("A centre exports its own province's organisations only.")


def _authorize(session: Session, actor: Actor, job: Job) -> None:
    if actor.is_admin:
        return
    if job.subject_type != "user" or job.subject_id != actor.user_id:
        raise Forbidden("An export is read by the person who asked for it.")


def recent(session: Session, actor: Actor, limit: int = 20) -> list[Job]:
    """The actor's own latest exports."""
    return list(
        session.scalars(
            select(Job)
            .where(
                Job.kind == JOB_KIND,
                Job.subject_type == "user",
                Job.subject_id == (actor.user_id or 0),
            )
            .order_by(Job.id.desc())
            .limit(limit)
        )
    )


def _filters(saved: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: dt.date.fromisoformat(value) if key in ("from", "to") else value
        for key, value in saved.items()
    }


@job_kind(JOB_KIND, authorize=_authorize)
def run_export(ctx: JobContext) -> None:
    actor = Actor(role=Role(ctx.params["actor"]["role"]), **{
        k: v for k, v in ctx.params["actor"].items() if k != "role"})  # fmt: skip
    kind = ctx.params["format"]
    filters = _filters(ctx.params["filters"])
    suffix, content_type = FORMATS[kind]
    session = ctx.session
    with ctx.result_file(suffix, content_type) as handle:
        if kind == "csv":
            for done, piece in enumerate(exports.kde_csv(session, actor, filters), 1):
                handle.write(piece.encode("utf-8"))
                if done % PROGRESS_EVERY == 0:
                    ctx.progress(done)
        elif kind == "xlsx":
            with exports.kde_xlsx(session, actor, filters) as sheet:
                shutil.copyfileobj(sheet, handle)
        else:
            _portal(ctx, actor, filters, handle)
    session.rollback()  # the export only read: end its read transaction


def _portal(ctx: JobContext, actor: Actor, filters: Mapping[str, Any], handle: Any) -> None:
    base = str(ctx.app.config["PUBLIC_URL"])
    cursor: str | None = None
    done = 0
    handle.write(b"[")
    while True:
        items, cursor = exports.portal_batches(
            ctx.session, actor, filters, PORTAL_PAGE, cursor, base
        )
        for item in items:
            handle.write((b"," if done else b"") + json.dumps(item, ensure_ascii=False).encode())
            done += 1
        ctx.progress(done)
        if cursor is None:
            break
    handle.write(b"]\n")
