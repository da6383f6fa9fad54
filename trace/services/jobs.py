"""The read rule of background jobs: who may follow a job is who may read what it works for.

The job foundation (:mod:`trace.jobs`) sits below the services and knows no actors; each job
kind registers its rule there, and this is where it is applied.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.jobs.queue import kind_of
from trace.models import Job, JobStatus
from trace.services.actors import Actor
from trace.services.errors import Forbidden, get_or_404


def get_job(session: Session, actor: Actor, job_id: int) -> Job:
    """A job, for an actor allowed to read what it works for (its kind's rule; admin only by
    default)."""
    job = get_or_404(session, Job, job_id)
    kind = kind_of(job.kind)
    if kind is None or kind.authorize is None:
        if not actor.is_admin:
            raise Forbidden("Only an administrator may read this job.")
    else:
        kind.authorize(session, actor, job)
    return job


def unfinished(session: Session, kind: str, subject: tuple[str, int]) -> list[Job]:
    """The jobs of ``kind`` for ``subject`` still queued or running, oldest first: what a
    person asking again would only repeat."""
    return list(
        session.scalars(
            select(Job)
            .where(
                Job.kind == kind,
                Job.subject_type == subject[0],
                Job.subject_id == subject[1],
                Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
            )
            .order_by(Job.id)
        )
    )
