"""The console's import preview, run as a background job.

The engine's :func:`~trace.api.imports.engine.preview` validates the whole file in the caller's
process; a large file takes longer than a request may (gunicorn's timeout), so the console
stages the upload in the job results folder (which every node reads) and a worker runs the
preview, writing its report as the job's JSON result. Committing then submits the same staged
file (its SHA-256 checked) through :func:`~trace.api.imports.engine.submit`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import secrets
import time
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from trace.api.imports import engine
from trace.db import transaction
from trace.jobs import (
    JobContext,
    JobInterrupted,
    JobLost,
    PermanentJobError,
    enqueue,
    job_kind,
    results_dir,
)
from trace.models import Job, User
from trace.services.accounts.users import actor_for
from trace.services.actors import Actor
from trace.services.errors import NotFound

log = logging.getLogger(__name__)

JOB_KIND = "import_preview"
UPLOADS = "uploads"
KEEP_STAGED = dt.timedelta(days=1)


def staged_path(app: Flask, name: str) -> Path:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise NotFound("There is no such upload.")
    return results_dir(app) / UPLOADS / name


def stage(app: Flask, content: bytes) -> str:
    """Keep an uploaded file where every node's worker can read it; returns its name. Files
    staged more than :data:`KEEP_STAGED` ago (previews never imported) are removed."""
    folder = results_dir(app) / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    too_old = time.time() - KEEP_STAGED.total_seconds()
    for old in folder.glob("*.upload"):
        with contextlib.suppress(OSError):  # another node may be removing it too
            if old.stat().st_mtime < too_old:
                old.unlink()
    name = f"{secrets.token_hex(16)}.upload"
    with (folder / name).open("xb") as handle:
        handle.write(content)
    return name


def queue(session: Session, actor: Actor, kind: str, file_name: str, content: bytes,
          staged: str) -> Job:  # fmt: skip
    params = {"user_id": actor.user_id, "kind": kind, "file_name": file_name[:255],
              "sha256": engine.digest(content), "size": len(content), "staged": staged}  # fmt: skip
    return enqueue(session, JOB_KIND, params, actor=actor, max_attempts=1)


def _authorize(_session: Session, actor: Actor, job: Job) -> None:
    """A preview is its uploader's (and an administrator's) to read."""
    if not (actor.is_admin or job.params.get("user_id") == actor.user_id):
        raise NotFound(f"There is no job {job.id}.")


@job_kind(JOB_KIND, authorize=_authorize, max_attempts=1)
def run_preview(ctx: JobContext) -> None:
    params = ctx.params
    user = ctx.session.get(User, int(params.get("user_id") or 0))
    if user is None or not user.active:
        raise PermanentJobError("the uploader's account is not active")
    try:
        content = staged_path(ctx.app, str(params["staged"])).read_bytes()
    except (OSError, NotFound):
        raise PermanentJobError("the uploaded file is gone: upload it again") from None
    try:
        with transaction(write=False, bind=ctx.session) as session:
            report = engine.preview(session, actor_for(user), str(params["kind"]),
                                    str(params["file_name"]), content,
                                    str(ctx.app.config["PUBLIC_URL"]), ctx.progress)  # fmt: skip
    except (JobInterrupted, JobLost):
        raise
    except Exception as error:  # the uploader sees a plain sentence; the log has the detail
        log.exception("import preview job %s failed", ctx.job_id)
        raise PermanentJobError("an unexpected error") from error
    if not report.ok:  # nothing can be imported from it: the file is not needed any more
        staged_path(ctx.app, str(params["staged"])).unlink(missing_ok=True)
    result = {
        "valid": report.ok,
        "counts": report.summary(),
        "error_count": len(report.errors),
        "errors": report.error_list(),
    }
    with ctx.result_file(".json", "application/json") as handle:
        handle.write(json.dumps(result, ensure_ascii=False).encode())


def result_of(app: Flask, job: Job) -> dict[str, Any] | None:
    """The preview's report, once the job is done."""
    if job.result_file is None:
        return None
    try:
        loaded = json.loads((results_dir(app) / job.result_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None
