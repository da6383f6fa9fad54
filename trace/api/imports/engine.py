"""Run an import: read the file, match its headers, take every row through the API's schemas
and services, and report counts and every error (row, column, message).

Two calls, for any face (API, CLI, the console's upload page): :func:`preview` writes nothing;
:func:`submit` records the :class:`~trace.models.Import` and queues the job that runs
:func:`execute` in one transaction, all or nothing. A file too large to check within a request
(:func:`in_background`) is previewed by the same job: ``submit(..., dry_run=True)`` records a
preview whose job runs :func:`preview` and keeps its counts and errors (:func:`finish_preview`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.api.imports import columns, reading
from trace.api.imports.rows import HANDLERS, Context, RowProblem, prefetch
from trace.jobs import enqueue
from trace.models import Import, ImportStatus, Organization, Role
from trace.services import audit
from trace.services.actors import Actor
from trace.services.errors import (
    FieldError,
    Forbidden,
    InvalidInput,
    ServiceError,
    get_or_404,
    invalid,
)
from trace.services.events import capture, stages
from trace.services.registry import catalogue

JOB_KIND = "import"
MAX_REPORTED_ERRORS = 1000
#: A preview of a file with more rows runs as a job (the API answers 202): a request must end
#: well within gunicorn's 30 s timeout, and checking a stage-event row takes about a millisecond.
PREVIEW_SYNC_ROWS = 1000
#: Rows checked at a time: events captured (checked, not stored yet), registry rows written.
CHUNK = 5_000
Progress = Callable[[int, int], None]

# Where a field error lands when the row named the thing otherwise (a tax code, a GTIN…).
_REFERENCE_COLUMNS = {
    "organization_id": ("organization",),
    "product_id": ("gtin", "product"),
    "producer_id": ("producer",),
    "origin_facility_id": ("origin_facility",),
    "facility_id": ("facility",),
    "to_organization_id": ("to_organization",),
}
_EVENT_POINTERS = {
    "eventTime": "time",
    "bizStep": "stage",
    "quantityList": "quantity",
    "outputQuantityList": "quantity",
    "inputQuantityList": "inputs",
    "readPoint": "facility",
    "bizLocation": "facility",
    "destinationList": "to_organization",
}


@dataclass(frozen=True)
class RowError:
    row: int  # the spreadsheet's row number (the header is row 1); 0 for the file as a whole
    column: str
    message: str


@dataclass
class Report:
    kind: str
    rows: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.counts["created"],
            "updated": self.counts["updated"],
            "unchanged": self.counts["unchanged"],
        }

    def error_list(self) -> list[dict[str, Any]]:
        return [
            {"row": e.row, "column": e.column, "message": e.message}
            for e in self.errors[:MAX_REPORTED_ERRORS]
        ]


def digest(content: bytes) -> str:
    """The file's SHA-256, as recorded."""
    return hashlib.sha256(content).hexdigest()


def check_kind(kind: str) -> None:
    if kind not in columns.KINDS:
        raise invalid("/kind", f"must be one of {', '.join(columns.KINDS)}")


def preview(session: Session, actor: Actor, kind: str, name: str, content: bytes,
            public_url: str, progress: Progress | None = None) -> Report:  # fmt: skip
    """Validate the whole file as a commit would, and write nothing (a savepoint rolled back)."""
    check_kind(kind)
    _may_import(actor)
    savepoint = session.begin_nested()
    try:
        return _run(session, actor, kind, name, content, public_url, True, progress)
    finally:
        savepoint.rollback()


def in_background(name: str, content: bytes) -> bool:
    """Whether a preview of this file should run as a job: more than
    :data:`PREVIEW_SYNC_ROWS` rows (a file that cannot be read is answered at once)."""
    try:
        return len(reading.read(name, content).rows) > PREVIEW_SYNC_ROWS
    except reading.FileProblem:
        return False


def submit(session: Session, actor: Actor, kind: str, name: str, content: bytes, *,
           dry_run: bool = False) -> Import:  # fmt: skip
    """Record the import and queue its job (runs once the caller's transaction commits). The
    file is read here so a file that cannot be read at all is refused at once. ``dry_run``: the
    job previews the file instead (writing nothing but the record's counts and errors)."""
    check_kind(kind)
    _may_import(actor)
    try:
        sheet = reading.read(name, content)
    except reading.FileProblem as problem:
        raise invalid("/file", _file_message(problem)) from None
    _, problems = columns.match_headers(columns.SPECS[kind], sheet.header)
    if problems:
        raise InvalidInput(
            "The file's header row is not right: " + "; ".join(problems) + ".",
            errors=[FieldError("/file", p) for p in problems],
        )
    record = new_record(session, actor, kind, name, content, len(sheet.rows))
    record.dry_run = dry_run
    job = enqueue(session, JOB_KIND, {"import_id": record.id}, subject=("import", record.id),
                  actor=actor)  # fmt: skip
    record.job_id = job.id
    session.flush()
    return record


def new_record(session: Session, actor: Actor, kind: str, name: str, content: bytes,
               rows: int) -> Import:  # fmt: skip
    """The record of an import about to run (the CLI runs it at once, the API as a job)."""
    record = Import(
        kind=kind,
        file_name=name[:255] or "upload",
        sha256=digest(content),
        size=len(content),
        created_by=actor.label[:100],
        created_by_token_id=actor.token_id,
        role=actor.role.value,
        organization_id=actor.organization_id,
        province_code=actor.province_code,
        counts={"rows": rows},
        content=content,
    )
    session.add(record)
    session.flush()
    return record


class ImportRejected(Exception):
    def __init__(self, report: Report):
        super().__init__(f"{len(report.errors)} error(s); nothing was written")
        self.report = report


def execute(session: Session, record: Import, public_url: str,
            progress: Progress | None = None) -> Report:  # fmt: skip
    """Run a submitted import in the caller's transaction; raises :class:`ImportRejected`
    (the caller rolls back) when any row is wrong."""
    actor = actor_of(record)
    session.info[audit.IMPORT_KEY] = record.id
    try:
        report = _run(session, actor, record.kind, record.file_name, record.content or b"",
                      public_url, False, progress)  # fmt: skip
    finally:
        session.info.pop(audit.IMPORT_KEY, None)
    if not report.ok:
        raise ImportRejected(report)
    record.status, record.counts = ImportStatus.DONE, report.summary()
    record.finished_at, record.content = dt.datetime.now(dt.UTC), None
    entry = audit.record(session, actor, "import", "import", record.id,
                         after={"kind": record.kind, "file_name": record.file_name,
                                "sha256": record.sha256, **report.summary()})  # fmt: skip
    entry.import_id = record.id
    session.flush()
    return report


def finish_preview(session: Session, record: Import, report: Report) -> None:
    """Keep what a preview run as a job found; its file is dropped."""
    record.status, record.finished_at, record.content = (
        ImportStatus.DONE, dt.datetime.now(dt.UTC), None)  # fmt: skip
    record.counts = report.summary()
    record.errors = (
        {"count": len(report.errors), "items": report.error_list()} if report.errors else None
    )
    session.flush()


def reject(session: Session, record: Import, report: Report | None, message: str) -> None:
    """Mark a submitted import failed, with its errors; its file is dropped."""
    record.status, record.finished_at, record.content = (
        ImportStatus.FAILED, dt.datetime.now(dt.UTC), None)  # fmt: skip
    errors = report.error_list() if report else [{"row": 0, "column": "", "message": message}]
    record.errors = {"count": len(report.errors) if report else 1, "items": errors}
    if report is not None:
        record.counts = report.summary()
    session.flush()


def actor_of(record: Import) -> Actor:
    return Actor(role=Role(record.role), label=record.created_by,
                 token_id=record.created_by_token_id, organization_id=record.organization_id,
                 province_code=record.province_code)  # fmt: skip


def get_import(session: Session, actor: Actor, import_id: int) -> Import:
    """An import, for its maker's organisation, the centre of its province, or admin."""
    record = get_or_404(session, Import, import_id)
    province = record.province_code
    if province is None and record.organization_id is not None:
        province = session.scalar(
            select(Organization.province_code).where(Organization.id == record.organization_id)
        )
    allowed = (
        actor.is_admin
        or (actor.token_id is not None and actor.token_id == record.created_by_token_id)
        or (actor.organization_id is not None and actor.organization_id == record.organization_id)
        or (actor.role is Role.CENTRE and actor.province_code == province)
    )
    if not allowed:
        raise Forbidden("This import was made by another organisation.")
    return record


def _may_import(actor: Actor) -> None:
    if actor.role is Role.INSPECTOR:
        raise Forbidden("An inspector token may not import.")


def _file_message(problem: reading.FileProblem) -> str:
    where = f"row {problem.row}: " if problem.row else ""
    where += f"column {problem.column}: " if problem.column else ""
    return where + problem.message


def _run(session: Session, actor: Actor, kind: str, name: str, content: bytes, public_url: str,
         dry_run: bool, progress: Progress | None) -> Report:  # fmt: skip
    report = Report(kind)
    try:
        sheet = reading.read(name, content)
    except reading.FileProblem as problem:
        report.errors.append(RowError(problem.row or 0, problem.column or "", problem.message))
        return report
    spec = columns.SPECS[kind]
    names, problems = columns.match_headers(spec, sheet.header)
    if problems:
        report.errors.extend(RowError(1, "", p) for p in problems)
        return report
    by_name = spec.by_name()
    header_of = {n: h for n, h in zip(names, sheet.header, strict=False) if n}
    report.rows = len(sheet.rows)
    ctx = Context(session, actor, public_url)
    handler = HANDLERS[kind]
    converted = [
        {n: columns.convert(by_name[n], cell) for n, cell in zip(names, cells, strict=False)
         if n and cell}
        for _, cells in sheet.rows
    ]  # fmt: skip
    numbers = [number for number, _ in sheet.rows]
    del sheet  # the cells are converted: memory for 100,000 rows is counted
    stage_times = capture.StageTimes()
    staged = None if dry_run else capture.Staged()
    with catalogue.deferred_creations(session):
        prefetch(ctx, kind, converted)
        pending: list[dict[str, Any] | None] = list(converted)
        del converted
        for done, number in enumerate(numbers, 1):
            values, pending[done - 1] = pending[done - 1], None  # dropped once handled
            assert values is not None
            if len(ctx.events) >= CHUNK:
                _capture(ctx, report, dry_run, header_of, stage_times, staged)
            try:
                report.counts[handler(ctx, number, values)] += 1
            except RowProblem as problem:
                report.errors.append(RowError(number, _column(problem.column, header_of),
                                              problem.message))  # fmt: skip
            except ValidationError as error:
                report.errors.extend(_field_errors(number, error.messages, header_of))
            except ServiceError as error:
                report.errors.extend(_service_errors(number, error, header_of))
            if done % CHUNK == 0:
                catalogue.flush_deferred(session)
            if progress is not None and done % 500 == 0:
                progress(done, report.rows)
    if kind == "events":
        _capture(ctx, report, dry_run, header_of, stage_times, staged)
        if staged is not None and report.ok:
            capture.store_staged(session, actor, staged)
    report.counts.pop("pending", None)
    return report


def _capture(ctx: Context, report: Report, dry_run: bool, header_of: Mapping[str, str],
             stage_times: capture.StageTimes, staged: capture.Staged | None) -> None:  # fmt: skip
    """Check the events of the rows read so far (:data:`CHUNK` at a time, so memory stays
    bounded). A commit keeps them in ``staged`` and appends them all at the end, with the
    ledger's head locked only while they are appended; a preview stores nothing."""
    rows, ctx.event_rows = ctx.event_rows, []
    if not rows:
        return
    document = stages.document_of(ctx.events)
    ctx.events = []
    try:
        result = capture.capture(
            ctx.session, ctx.actor, document, report_all=True,
            dry_run=dry_run or not report.ok, stage_times=stage_times, staged=staged,
        )  # fmt: skip
    except ServiceError as error:
        report.errors.append(RowError(0, "", error.detail))
        return
    for problem in result.errors:
        index = problem.event_index
        row = rows[index] if index is not None else 0
        parts = problem.pointer.split("/")
        field_name = _EVENT_POINTERS.get(parts[4], "") if len(parts) > 4 else ""
        report.errors.append(RowError(row, _column(field_name, header_of), problem.message))
    report.errors.sort(key=lambda e: e.row)
    report.counts["created"] += result.created
    report.counts["unchanged"] += sum(1 for e in result.events if e.status == "existing")


def _column(name: str, header_of: Mapping[str, str]) -> str:
    if name in header_of:
        return header_of[name]
    for alternative in _REFERENCE_COLUMNS.get(name, ()):
        if alternative in header_of:
            return header_of[alternative]
    return name


def _field_errors(row: int, messages: Any, header_of: Mapping[str, str]) -> list[RowError]:
    found = []
    for name, message in _flatten(messages):
        found.append(RowError(row, _column(name.split("/")[0], header_of), message))
    return found


def _flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(messages, dict):
        return [pair for key, value in messages.items()
                for pair in _flatten(value, f"{prefix}/{key}" if prefix else str(key))]  # fmt: skip
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [(prefix, "; ".join(messages))]
    if isinstance(messages, list):
        return [pair for m in messages for pair in _flatten(m, prefix)]
    return [(prefix, str(messages))]


def _service_errors(row: int, error: ServiceError, header_of: Mapping[str, str]) -> list[RowError]:
    if not error.errors:
        return [RowError(row, "", error.detail)]
    return [
        RowError(row, _column(e.pointer.strip("/").split("/")[0], header_of), e.message)
        for e in error.errors
    ]
