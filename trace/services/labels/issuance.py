"""Issuing codes, their URIs, print runs and voiding: the database side of QR labels.

A batch has one live batch-level code, issued when the batch is registered. Unit codes are
issued in print runs: ``count`` fresh codes at positions ``0 .. count-1``, which fill the label
sheets row by row, page after page; rendering a run again reads them back in position order,
so the same codes land in the same places. An unserialised run prints ``count`` copies of the
batch-level code instead.

Codes are never deleted or reused: a withdrawn code is voided and stays in the table.

Like the other services, these functions take the acting :class:`Actor`, write through the
session without committing, leave an audit entry, and know nothing of Flask: the public base URL
printed into QR codes is passed in as ``public_url``.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trace import jobs
from trace.db import table_of
from trace.gs1 import build_digital_link
from trace.labels.codes import CodeError, is_valid_code, new_unit_code, normalize_code
from trace.labels.sheets import (
    TEMPLATES,
    LabelContent,
    SheetTemplate,
    custom_template,
    write_label_pdf,
)
from trace.models import Batch, BatchStatus, Code, CodeKind, CodeStatus, Job, JobStatus, PrintRun
from trace.services import audit
from trace.services.actors import SYSTEM, Actor
from trace.services.errors import (
    Conflict,
    NotFound,
    get_or_404,
    invalid,
)
from trace.services.pagination import decode_cursor, encode_cursor

MAX_RUN_COUNT = 100_000
CUSTOM_TEMPLATE = "custom"
TEMPLATE_NAMES = [*TEMPLATES, CUSTOM_TEMPLATE]
EC_LEVELS = ("L", "M", "Q", "H")
_ISSUE_ATTEMPTS = 5  # insert attempts before a unique collision is treated as a real error
_IN_CHUNK = 500  # codes per IN (...) query: under every backend's parameter limit
_YIELD_PER = 2000  # codes read per round trip while rendering a run
RENDER_JOB = "labels.render"  # the background job that renders a run's sheets (labels.jobs)

GEOMETRY_KEYS = (
    "rows",
    "cols",
    "label_w_mm",
    "label_h_mm",
    "margin_top_mm",
    "margin_left_mm",
    "gap_x_mm",
    "gap_y_mm",
    "page_w_mm",
    "page_h_mm",
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# URIs ---------------------------------------------------------------------------------------


def code_uri(public_url: str, batch: Batch, code: str, kind: CodeKind) -> str:
    """What the QR code of ``code`` carries.

    With a GTIN: a GS1 Digital Link, ``/01/<gtin14>/10/<lot>/21/<code>`` for a unit code and
    ``/01/<gtin14>/10/<lot>`` for the batch-level code. Without one: ``/q/<code>``.
    """
    gtin = batch.product.gtin
    if not gtin:
        return f"{public_url.rstrip('/')}/q/{code}"
    qualifiers = [("10", batch.lot_code)]
    if kind is CodeKind.UNIT:
        qualifiers.append(("21", code))
    return build_digital_link(public_url, ("01", gtin), qualifiers)


@dataclass(frozen=True)
class CodeInfo:
    """A code as the API shows it: the row's fields, its URI and the batch it identifies."""

    code: str
    kind: CodeKind
    status: CodeStatus
    uri: str
    batch_id: int
    lot_code: str
    product_id: int
    product_name: str
    print_run_id: int | None
    position: int | None
    issued_at: dt.datetime
    voided_at: dt.datetime | None
    void_reason: str | None


def describe_code(code: Code, public_url: str) -> CodeInfo:
    batch = code.batch
    return CodeInfo(
        code=code.code,
        kind=code.kind,
        status=code.status,
        uri=code_uri(public_url, batch, code.code, code.kind),
        batch_id=batch.id,
        lot_code=batch.lot_code,
        product_id=batch.product_id,
        product_name=batch.product.name_vi,
        print_run_id=code.print_run_id,
        position=code.position,
        issued_at=code.issued_at,
        voided_at=code.voided_at,
        void_reason=code.void_reason,
    )


# Lookups ------------------------------------------------------------------------------------


def find_code(session: Session, text: str) -> Code:
    """The code typed or scanned as ``text`` (normalised: case, hyphens, O/I/L aliases)."""
    try:
        normal = normalize_code(text)
    except CodeError:
        normal = None
    if normal is None or not is_valid_code(normal):
        raise NotFound(f"{text!r} is not a valid code: check it for typing mistakes.")
    code = session.scalar(select(Code).where(Code.code == normal))
    if code is None:
        raise NotFound(f"There is no code {normal}.")
    return code


def code_info(session: Session, text: str, public_url: str) -> CodeInfo:
    return describe_code(find_code(session, text), public_url)


def get_print_run(session: Session, run_id: int) -> PrintRun:
    return get_or_404(session, PrintRun, run_id)


def _require_manager(actor: Actor, batch: Batch, what: str) -> None:
    producer = batch.producer
    actor.require(actor.may_manage_organization(producer.id, producer.province_code), what)


def require_batch_printer(actor: Actor, batch: Batch) -> None:
    """Printing a batch's labels (or previewing them): whoever manages its producer."""
    _require_manager(actor, batch, "print labels for this batch")


def require_printer(actor: Actor, run: PrintRun) -> None:
    """Rendering a run's sheets is printing: only whoever may print for its batch."""
    _require_manager(actor, run.batch, "print labels for this batch")


# Issuing ------------------------------------------------------------------------------------


def _existing(session: Session, candidates: Iterable[str]) -> set[str]:
    found: set[str] = set()
    pending = list(candidates)
    for start in range(0, len(pending), _IN_CHUNK):
        chunk = pending[start : start + _IN_CHUNK]
        found.update(session.scalars(select(Code.code).where(Code.code.in_(chunk))))
    return found


def _draw(count: int, avoid: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """``count`` distinct fresh codes, none of them in ``avoid``."""
    drawn: dict[str, None] = {}
    while len(drawn) < count:
        code = new_unit_code()
        if code not in avoid:
            drawn[code] = None
    return list(drawn)


def _insert_codes(
    session: Session, count: int, make_rows: Callable[[list[str]], list[dict[str, Any]]]
) -> list[str]:
    """Insert ``count`` new codes; on a unique collision (astronomically rare with 64 random
    bits, but possible, also against a concurrent writer) draw those codes again.

    Each attempt runs in a savepoint, so a failed insert leaves the caller's transaction intact.
    """
    codes = _draw(count)
    for _attempt in range(_ISSUE_ATTEMPTS):
        try:
            with session.begin_nested():
                session.execute(table_of(Code).insert(), make_rows(codes))
            return codes
        except IntegrityError:
            taken = _existing(session, codes)
            if not taken:
                raise  # not a code collision: let the caller see the real error
            fresh = iter(_draw(len(taken), avoid=taken | set(codes)))
            codes = [next(fresh) if code in taken else code for code in codes]
    raise Conflict("Could not issue unique codes; try again.")


def live_batch_code(session: Session, batch: Batch) -> Code | None:
    """The batch's current batch-level code (the newest one not voided), if any."""
    return session.scalar(
        select(Code)
        .where(
            Code.batch_id == batch.id,
            Code.kind == CodeKind.BATCH,
            Code.status != CodeStatus.VOIDED,
        )
        .order_by(Code.id.desc())
        .limit(1)
    )


def issue_batch_code(session: Session, batch: Batch, actor: Actor = SYSTEM) -> Code:
    """The batch's batch-level code: the live one, or a new one when it has none.

    Called by batch registration; also after the batch-level code was voided.
    """
    existing = live_batch_code(session, batch)
    if existing is not None:
        return existing
    issued_at = _now()

    def rows(codes: list[str]) -> list[dict[str, Any]]:
        return [
            {
                "code": codes[0],
                "kind": CodeKind.BATCH,
                "batch_id": batch.id,
                "status": CodeStatus.ISSUED,
                "issued_at": issued_at,
            }
        ]

    [text] = _insert_codes(session, 1, rows)
    code = session.scalars(select(Code).where(Code.code == text)).one()
    audit.record(session, actor, "issue", "code", code.code, after=audit.snapshot(code))
    return code


def issue_missing_batch_codes(session: Session, actor: Actor = SYSTEM) -> int:
    """Give every batch without a live batch-level code one (e.g. batches registered before
    codes existed); returns how many were issued."""
    live = select(Code.id).where(
        Code.batch_id == Batch.id,
        Code.kind == CodeKind.BATCH,
        Code.status != CodeStatus.VOIDED,
    )
    batches = session.scalars(select(Batch).where(~live.exists()).order_by(Batch.id)).all()
    for batch in batches:
        issue_batch_code(session, batch, actor)
    return len(batches)


# Templates ----------------------------------------------------------------------------------


def resolve_template(name: str, layout: dict[str, Any] | None = None) -> SheetTemplate:
    """A stock template by name, or ``custom`` built from ``layout`` (lengths in mm; a margin
    left out centres the grid).

    The request's shape (a known name, a layout with ``custom`` and only with it, lengths in
    range) is checked by the caller's face: the API's schema, the CLI's options. What only the
    sheet and the renderer know is checked here, as a 422 on ``/layout``: the layout builds a
    grid that fits the page and leaves room for a scannable QR code.
    """
    if name != CUSTOM_TEMPLATE:
        return TEMPLATES[name]
    try:
        template = custom_template(name=CUSTOM_TEMPLATE, **(layout or {}))
    except (TypeError, ValueError) as error:
        raise invalid("/layout", str(error)) from None
    _check_fits_qr(template, "/layout")
    return template


def _check_fits_qr(template: SheetTemplate, pointer: str) -> None:
    # The renderer refuses labels too small for a scannable QR code; ask it now, with no
    # labels, so the request fails with a 422 instead of the download failing later.
    try:
        write_label_pdf([], template, io.BytesIO())
    except ValueError as error:
        raise invalid(pointer, str(error)) from None


def template_of(run: PrintRun) -> SheetTemplate:
    """The run's sheet geometry as stored with the run, so later template changes never move
    labels that were already printed."""
    geometry = {key: run.layout[key] for key in GEOMETRY_KEYS}
    return SheetTemplate(name=run.template, **geometry)


# Print runs ---------------------------------------------------------------------------------


def create_print_run(
    session: Session,
    actor: Actor,
    batch_id: int,
    *,
    count: int,
    template: str,
    layout: dict[str, Any] | None = None,
    serialised: bool = True,
    cut_marks: bool = False,
    ec: str = "M",
    render_in_background: bool = True,
) -> PrintRun:
    """A print run of ``count`` labels for a batch; serialised runs issue ``count`` unit codes.

    The fields come validated (count 1 to :data:`MAX_RUN_COUNT`, ``ec`` one of
    :data:`EC_LEVELS`, a known template): see :func:`resolve_template` for what is checked here.

    ``render_in_background``: queue the job that renders its sheets, in this transaction (the
    command line renders in its own process instead).
    """
    batch = get_or_404(session, Batch, batch_id)
    _require_manager(actor, batch, "print labels for this batch")
    sheet = resolve_template(template, layout)
    if batch.status is BatchStatus.RECALLED:
        raise Conflict(f"Batch {batch.id} is recalled: no new labels are printed for it.")

    stored: dict[str, Any] = {key: getattr(sheet, key) for key in GEOMETRY_KEYS}
    stored.update(cut_marks=bool(cut_marks), ec=ec)
    if not serialised:
        # The run prints this code, whatever happens to the batch's codes later.
        stored["batch_code"] = issue_batch_code(session, batch, actor).code
    run = PrintRun(
        batch_id=batch.id,
        template=sheet.name,
        layout=stored,
        count=count,
        serialised=serialised,
        created_by_token_id=actor.token_id,
    )
    session.add(run)
    session.flush()
    if serialised:
        issued_at = _now()

        def rows(codes: list[str]) -> list[dict[str, Any]]:
            return [
                {
                    "code": code,
                    "kind": CodeKind.UNIT,
                    "batch_id": batch.id,
                    "print_run_id": run.id,
                    "position": position,
                    "status": CodeStatus.ISSUED,
                    "issued_at": issued_at,
                }
                for position, code in enumerate(codes)
            ]

        _insert_codes(session, count, rows)
    audit.record(session, actor, "create", "print_run", run.id, after=audit.snapshot(run))
    if render_in_background:
        queue_render(session, actor, run)
    return run


@dataclass(frozen=True)
class CodeCounts:
    """How many distinct codes a run carries, and how many are in each status."""

    total: int
    issued: int
    printed: int
    voided: int


@dataclass(frozen=True)
class PrintRunInfo:
    """A print run as the API shows it, with how many of its codes are in each status."""

    id: int
    batch_id: int
    template: str
    layout: dict[str, Any]
    count: int
    serialised: bool
    cut_marks: bool
    ec: str
    batch_code: str | None
    created_at: dt.datetime
    voided_at: dt.datetime | None
    codes: CodeCounts


def describe_print_run(session: Session, run: PrintRun) -> PrintRunInfo:
    if run.serialised:
        rows = session.execute(
            select(Code.status, func.count())
            .where(Code.print_run_id == run.id)
            .group_by(Code.status)
        ).all()
        by_status = {CodeStatus(status): n for status, n in rows}
    else:
        status = session.scalar(select(Code.status).where(Code.code == run.layout["batch_code"]))
        by_status = {CodeStatus(status): 1} if status is not None else {}
    return PrintRunInfo(
        id=run.id,
        batch_id=run.batch_id,
        template=run.template,
        layout={key: run.layout[key] for key in GEOMETRY_KEYS},
        count=run.count,
        serialised=run.serialised,
        cut_marks=bool(run.layout.get("cut_marks")),
        ec=str(run.layout.get("ec", "M")),
        batch_code=run.layout.get("batch_code"),
        created_at=run.created_at,
        voided_at=run.voided_at,
        codes=CodeCounts(
            total=sum(by_status.values()),
            issued=by_status.get(CodeStatus.ISSUED, 0),
            printed=by_status.get(CodeStatus.PRINTED, 0),
            voided=by_status.get(CodeStatus.VOIDED, 0),
        ),
    )


def list_print_runs(
    session: Session, batch_id: int, limit: int, cursor: str | None
) -> tuple[list[PrintRunInfo], str | None]:
    get_or_404(session, Batch, batch_id)
    stmt = select(PrintRun).where(PrintRun.batch_id == batch_id)
    if cursor:
        stmt = stmt.where(PrintRun.id > decode_cursor(cursor))
    runs = session.scalars(stmt.order_by(PrintRun.id).limit(limit + 1)).all()
    next_cursor = encode_cursor(runs[limit - 1].id) if len(runs) > limit else None
    return [describe_print_run(session, run) for run in runs[:limit]], next_cursor


def list_run_codes(
    session: Session, run: PrintRun, public_url: str, limit: int, cursor: str | None
) -> tuple[list[CodeInfo], str | None]:
    """The run's codes in position order (an unserialised run: its one batch-level code),
    a page at a time; the cursor is the last position seen."""
    if not run.serialised:
        if cursor:
            return [], None
        code = session.scalars(select(Code).where(Code.code == run.layout["batch_code"])).one()
        return [describe_code(code, public_url)], None
    stmt = select(Code).where(Code.print_run_id == run.id)
    if cursor:
        stmt = stmt.where(Code.position > decode_cursor(cursor))
    codes: Sequence[Code] = session.scalars(stmt.order_by(Code.position).limit(limit + 1)).all()
    next_cursor = None
    if len(codes) > limit:
        codes = codes[:limit]
        next_cursor = encode_cursor(codes[-1].position or 0)
    return [describe_code(code, public_url) for code in codes], next_cursor


# Rendering ----------------------------------------------------------------------------------


def label_text(batch: Batch) -> dict[str, Any]:
    """What every label of a batch shows besides its code (:class:`LabelContent`'s fields)."""
    return {
        "product_name": batch.product.name_vi,
        "lot": batch.lot_code,
        "production_date": batch.production_date.isoformat(),
        "expiry_date": batch.expiry_date.isoformat() if batch.expiry_date else None,
        "producer": batch.producer.name,
    }


def run_labels(session: Session, run: PrintRun, public_url: str) -> Iterator[LabelContent]:
    """The run's labels in sheet order (position order), read from the database in chunks.

    Voided codes keep their place, so a sheet downloaded again matches the one printed; the
    public page of a voided code says so.
    """
    batch = run.batch
    common = label_text(batch)
    if not run.serialised:
        code = run.layout["batch_code"]
        label = LabelContent(
            uri=code_uri(public_url, batch, code, CodeKind.BATCH), code_text=code, **common
        )
        for _ in range(run.count):
            yield label
        return
    stmt = (
        select(Code.code)
        .where(Code.print_run_id == run.id)
        .order_by(Code.position)
        .execution_options(yield_per=_YIELD_PER)
    )
    for code in session.scalars(stmt):
        yield LabelContent(
            uri=code_uri(public_url, batch, code, CodeKind.UNIT), code_text=code, **common
        )


def render_print_run(
    session: Session,
    run: PrintRun,
    public_url: str,
    out: BinaryIO,
    *,
    progress: Callable[[int], None] | None = None,
    workers: int | None = 1,
) -> int:
    """Write the run's label sheets as PDF to ``out``; returns the label count.

    Rendering writes nothing to the database: call :func:`mark_printed` after it succeeded.
    ``workers`` as in :func:`write_label_pdf` (1: in this process, never a pool of children).
    """
    if run.voided_at is not None:
        raise Conflict(f"Print run {run.id} is voided: its labels are not printed again.")
    return write_label_pdf(
        run_labels(session, run, public_url),
        template_of(run),
        out,
        ec=str(run.layout.get("ec", "M")),
        cut_marks=bool(run.layout.get("cut_marks")),
        progress=progress,
        workers=workers,
    )


def queue_render(session: Session, actor: Actor, run: PrintRun) -> Job:
    """Queue the background job that renders the run's sheets into a PDF file."""
    return jobs.enqueue(
        session, RENDER_JOB, {"print_run_id": run.id}, subject=("print_run", run.id), actor=actor
    )


@dataclass
class LabelsPdf:
    """Where a run's sheets stand: the render job, and the open PDF once it is done."""

    job: Job
    file: BinaryIO | None = None
    size: int = 0


def labels_pdf(session: Session, actor: Actor, run_id: int, results: Path) -> LabelsPdf:
    """The run's label sheets if rendered (their codes become ``printed``), else its render job.

    A run without a render job (or whose file has gone) gets one queued; a failed job is a
    Conflict naming its error. Writes: run it in a writing transaction and commit.
    """
    run = get_print_run(session, run_id)
    require_printer(actor, run)
    if run.voided_at is not None:
        raise Conflict(f"Print run {run.id} is voided: its labels are not printed again.")
    job = jobs.latest_job(session, RENDER_JOB, ("print_run", run.id))
    if job is not None and job.status is JobStatus.FAILED:
        raise Conflict(
            f"Rendering the labels of print run {run.id} failed: {job.error}", job_id=job.id
        )
    if job is not None and job.status is JobStatus.DONE:
        try:
            handle = (results / str(job.result_file)).open("rb")
        except FileNotFoundError:
            job = None  # the file was removed (or this node cannot see it): render again
        else:
            mark_printed(session, actor, run)
            return LabelsPdf(job, handle, os.fstat(handle.fileno()).st_size)
    if job is None:
        job = queue_render(session, actor, run)
    return LabelsPdf(job)


def mark_printed(session: Session, actor: Actor, run: PrintRun) -> int:
    """Codes of the run still ``issued`` become ``printed`` (the first rendering of their
    sheet); returns how many changed. Voided codes stay voided."""
    stmt = update(Code).where(Code.status == CodeStatus.ISSUED)
    if run.serialised:
        stmt = stmt.where(Code.print_run_id == run.id)
    else:
        stmt = stmt.where(Code.code == run.layout["batch_code"])
    changed: int = cast(
        CursorResult[Any],
        session.execute(
            stmt.values(status=CodeStatus.PRINTED),
            execution_options={"synchronize_session": False},
        ),
    ).rowcount
    if changed:
        session.expire_all()
        audit.record(session, actor, "print", "print_run", run.id, after={"codes_printed": changed})
    session.flush()
    return changed


# Voiding ------------------------------------------------------------------------------------


def void_code(session: Session, actor: Actor, text: str, reason: str) -> Code:
    """Withdraw one code: it stays in the table, its public page says it is void."""
    code = find_code(session, text)
    _require_manager(actor, code.batch, "void this code")
    if code.status is CodeStatus.VOIDED:
        raise Conflict(f"Code {code.code} is already voided.")
    before = audit.snapshot(code)
    code.status = CodeStatus.VOIDED
    code.voided_at = _now()
    code.void_reason = reason
    session.flush()
    audit.record(
        session, actor, "void", "code", code.code, before=before, after=audit.snapshot(code)
    )
    return code


def void_print_run(session: Session, actor: Actor, run_id: int, reason: str) -> PrintRun:
    """Withdraw a whole run: every code it issued is voided.

    An unserialised run issued no codes of its own: the batch-level code it printed stays
    valid (void it on its own to withdraw it).
    """
    run = get_print_run(session, run_id)
    _require_manager(actor, run.batch, "void this print run")
    if run.voided_at is not None:
        raise Conflict(f"Print run {run.id} is already voided.")
    now = _now()
    before = audit.snapshot(run)
    run.voided_at = now
    voided = 0
    if run.serialised:
        voided = cast(
            CursorResult[Any],
            session.execute(
                update(Code)
                .where(Code.print_run_id == run.id, Code.status != CodeStatus.VOIDED)
                .values(status=CodeStatus.VOIDED, voided_at=now, void_reason=reason),
                execution_options={"synchronize_session": False},
            ),
        ).rowcount
    session.flush()
    audit.record(
        session,
        actor,
        "void",
        "print_run",
        run.id,
        before=before,
        after={**audit.snapshot(run), "reason": reason, "codes_voided": voided},
    )
    return run
