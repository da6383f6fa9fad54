"""Where the console keeps an upload between its preview and its commit.

The preview itself is the engine's own job (``engine.submit(..., dry_run=True)``, the API's
``?dry_run=true``): one job kind, one code path. The engine drops a preview's file once it is
checked, so the console keeps a copy in the job results folder (which every node reads), named
by the preview's import record; committing submits that copy (its SHA-256 checked against the
record) through :func:`~trace.api.imports.engine.submit`.

:data:`LEGACY_KIND` is the console's former preview job: one still queued from before is handed
to the engine's preview, and its page leads there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from trace.api.imports import engine
from trace.db import transaction
from trace.jobs import JobContext, PermanentJobError, job_kind, results_dir
from trace.models import Job, User
from trace.services.accounts.users import actor_for
from trace.services.actors import Actor
from trace.services.errors import NotFound, ServiceError

LEGACY_KIND = "import_preview"
UPLOADS = "uploads"
KEEP_STAGED = dt.timedelta(days=1)


def staged_path(app: Flask, import_id: int) -> Path:
    """The kept copy of a preview's file (named by the preview's import record)."""
    return results_dir(app) / UPLOADS / f"import-{int(import_id)}.upload"


def stage(app: Flask, import_id: int, content: bytes) -> Path:
    """Keep a previewed file where every node can read it. Files staged more than
    :data:`KEEP_STAGED` ago (previews never imported) are removed."""
    folder = results_dir(app) / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    too_old = time.time() - KEEP_STAGED.total_seconds()
    for old in folder.glob("*.upload"):
        with contextlib.suppress(OSError):  # another node may be removing it too
            if old.stat().st_mtime < too_old:
                old.unlink()
    path = staged_path(app, import_id)
    path.write_bytes(content)
    return path


def _legacy_upload(app: Flask, name: str) -> Path:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise NotFound("There is no such upload.")
    return results_dir(app) / UPLOADS / name


def _authorize(_session: Session, actor: Actor, job: Job) -> None:
    """A former preview job is its uploader's (and an administrator's) to read."""
    if not (actor.is_admin or job.params.get("user_id") == actor.user_id):
        raise NotFound(f"There is no job {job.id}.")


@job_kind(LEGACY_KIND, authorize=_authorize, max_attempts=1)
def run_legacy(ctx: JobContext) -> None:
    """Hand a former preview job's upload to the engine's preview; its result names the job."""
    params = ctx.params
    user = ctx.session.get(User, int(params.get("user_id") or 0))
    if user is None or not user.active:
        raise PermanentJobError("the uploader's account is not active")
    old = _legacy_upload(ctx.app, str(params.get("staged") or ""))
    try:
        content = old.read_bytes()
    except OSError:
        raise PermanentJobError("the uploaded file is gone: upload it again") from None
    try:
        with transaction(write=True, bind=ctx.session) as session:
            record = engine.submit(session, actor_for(user), str(params["kind"]),
                                   str(params["file_name"]), content, dry_run=True)  # fmt: skip
            stage(ctx.app, record.id, content)
            job_id = record.job_id
    except ServiceError as error:
        raise PermanentJobError(error.detail) from None
    old.unlink(missing_ok=True)
    with ctx.result_file(".json", "application/json") as handle:
        handle.write(json.dumps({"preview_job_id": job_id}).encode())


def legacy_result(app: Flask, job: Job) -> dict[str, Any] | None:
    """What a former preview job handed over, once it is done."""
    if job.result_file is None:
        return None
    try:
        loaded = json.loads((results_dir(app) / job.result_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None
