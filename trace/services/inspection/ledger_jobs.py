""" "Check the whole ledger now", from the console, as a background job: the walk over every
entry takes minutes at a million events, longer than a request may. The verdict (and the first
problem) is the job's result file, read by whoever asked and by admin."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.jobs import JobContext, enqueue, job_kind
from trace.models import Job, Role
from trace.services.actors import Actor
from trace.services.errors import Forbidden
from trace.services.events import ledger
from trace.services.jobs import unfinished

JOB_KIND = "ledger_verify"


def start(session: Session, actor: Actor) -> Job:
    actor.require(
        actor.role in {Role.ADMIN, Role.INSPECTOR, Role.CENTRE} and actor.user_id is not None,
        "check the ledger from the console",
    )
    subject = ("user", actor.user_id or 0)
    waiting = unfinished(session, JOB_KIND, subject)
    if waiting:  # a check of the whole ledger already on its way: asking again adds nothing
        return waiting[0]
    return enqueue(session, JOB_KIND, {}, subject=subject, actor=actor, max_attempts=1)


def _authorize(session: Session, actor: Actor, job: Job) -> None:
    if actor.is_admin:
        return
    if job.subject_type != "user" or job.subject_id != actor.user_id:
        raise Forbidden("A ledger check is read by the person who asked for it.")


def latest(session: Session, actor: Actor) -> Job | None:
    return session.scalars(
        select(Job)
        .where(Job.kind == JOB_KIND, Job.subject_type == "user",
               Job.subject_id == (actor.user_id or 0))
        .order_by(Job.id.desc())
        .limit(1)
    ).first()  # fmt: skip


def verdict(raw: bytes) -> dict[str, Any]:
    """The result file as the page shows it."""
    return dict(json.loads(raw))


@job_kind(JOB_KIND, authorize=_authorize, max_attempts=1)
def run_check(ctx: JobContext) -> None:
    result = ledger.verify(ctx.session)
    ctx.session.rollback()  # a read only
    body = {
        "ok": result.ok,
        "entries": result.entries,
        "head_seq": result.head_seq,
        "mismatched_entries": result.mismatched_entries,
        "finding": dataclasses.asdict(result.finding) if result.finding else None,
    }
    with ctx.result_file(".json", "application/json") as handle:
        handle.write(json.dumps(body, ensure_ascii=False).encode())
