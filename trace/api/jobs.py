"""Background jobs as the API shows them: status, progress, error, where the result is."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, url_for
from marshmallow import Schema, fields, post_dump

from trace.api.auth import current_actor
from trace.api.docs import documented
from trace.api.io import dump
from trace.db import db
from trace.services.jobs import get_job

TAG = "Jobs"


class JobProgressSchema(Schema):
    done = fields.Integer()
    total = fields.Integer(allow_none=True)


class JobSubjectSchema(Schema):
    type = fields.String()
    id = fields.Integer()


class JobLinksSchema(Schema):
    self = fields.String()
    result = fields.String(metadata={"description": "where the result is fetched once done"})


class JobSchema(Schema):
    class Meta:
        ordered = True

    id = fields.Integer()
    kind = fields.String()
    status = fields.String(metadata={"enum": ["queued", "running", "done", "failed"]})
    subject = fields.Nested(JobSubjectSchema, allow_none=True)
    progress = fields.Nested(JobProgressSchema)
    attempts = fields.Integer()
    max_attempts = fields.Integer()
    error = fields.String(allow_none=True, metadata={"description": "the last attempt's error"})
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    links = fields.Nested(JobLinksSchema, dump_only=True)

    @post_dump(pass_original=True)
    def _shape(self, data: dict[str, Any], job: Any, **_kwargs: Any) -> dict[str, Any]:
        data["status"] = str(job.status)
        data["subject"] = (
            {"type": job.subject_type, "id": job.subject_id} if job.subject_type else None
        )
        data["progress"] = {"done": job.progress_done, "total": job.progress_total}
        links = {"self": url_for("api.get_job", job_id=job.id)}
        if job.subject_type == "print_run":
            links["result"] = url_for("api.print_run_pdf", run_id=job.subject_id)
        data["links"] = links
        return data


job_schema = JobSchema()


def retry_after(job: Any) -> str:
    """Seconds a client should wait before asking again: longer for a long way to go."""
    if job.progress_total and job.status == "running":
        remaining = max(0, job.progress_total - job.progress_done)
        return str(min(5, max(1, remaining // 2000)))
    return "2"


@documented(summary="Read a background job: status, progress, error, result link", tag=TAG,
            response=JobSchema, errors=(401, 403, 404))  # fmt: skip
def get_job_view(job_id: int) -> Response:
    actor = current_actor()
    job = get_job(db.session, actor, job_id)
    return dump(job_schema, job)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/jobs/<int:job_id>", "get_job", get_job_view, methods=["GET"])
