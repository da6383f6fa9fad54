"""Pages prepared in advance, shared by every worker and node, and the verifier job that makes them.

A first view of a batch used to gather its page data (about fourteen statements), check its
events against the ledger and render the template: about 40 ms, on every worker, after every
deploy. Now:

- the rendered page of a batch (its skeleton: the code, form token and language links left as
  stand-ins, the scan and verification sections as markers) is stored in ``stored_page`` under
  the batch's freshness token, language, link type and kind of code. The token changes with
  anything the page shows (an event, a recall, an edit, a voided code), so a stored page is
  never out of date: a changed batch simply finds no row and renders (then stores) its new page.
- the "history verified" mark comes from the ledger verifier (:mod:`trace.codeview.ledgercheck`),
  read beside the stored page in the same statement, and is spliced in per view; without a
  recent check the page checks at view time, as before.
- the recurring job :data:`ledgercheck.JOB_KIND` checks the batches oldest first (again without
  re-hashing where nothing changed since their last full check, :mod:`ledgercheck`), then stores
  their pages (Vietnamese and English, for each kind and status of their live codes) for at
  most half the interval, and deletes pages of older tokens. ``flask --app wsgi
  public-prepare`` runs one whole pass at once.

On PostgreSQL the read and the write go through the driver in autocommit mode
(:func:`trace.codeview.driver.execute`), with statements compiled from the same Core
statements that SQLite runs through the session.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import logging
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import bindparam, func, literal_column, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from trace.codeview import chunkcheck, driver, ledgercheck
from trace.db import db, transaction
from trace.jobs import JobContext, job_kind
from trace.models import (
    Batch,
    BatchCheck,
    Code,
    CodeKind,
    CodeStatus,
    Facility,
    Organization,
    Product,
    StoredPage,
)
from trace.services import lookup

log = logging.getLogger(__name__)

CHUNK = 500  # batches checked per transaction
PAGE_CHUNK = 200  # batches whose pages are prepared per transaction
STAND_IN_CODE = "-"  # a stored page is made for a code; which one is filled in per view
RENDERER = "trace_page_renderer"

Render = Callable[[Flask, Sequence[lookup.Target], lookup.PageData, str, str], list[str]]


@dataclasses.dataclass(frozen=True)
class Renderer:
    """How the public face renders the stored pages of one batch in one language (app, its
    stand-in targets, data, mode, language: a body per target), and in which languages:
    registered by :func:`trace.public.init_app` (:func:`set_renderer`), so the verifier
    prepares pages without importing the face that shows them."""

    languages: tuple[str, ...]
    render: Render


def set_renderer(app: Flask, languages: Sequence[str], render: Render) -> None:
    app.extensions[RENDERER] = Renderer(tuple(languages), render)


def store_key(target: lookup.Target, lang: str, mode: str) -> str:
    kind = target.kind.value if target.kind is not None else "-"
    has_code = int(target.code is not None)
    return f"{target.batch_id}|{target.freshness.token}|{lang}|{mode}|{kind}|{has_code}|{release()}"


@functools.cache
def release() -> str:
    """A digest of what a stored page is made of beyond its data: the public templates, the
    page's fixed texts and the message catalogues. A deploy that changes any of them finds
    none of the pages stored before it (the verifier's next pass makes them again)."""
    package = Path(__file__).resolve().parent.parent
    files = sorted(
        [
            *(package / "templates" / "public").rglob("*.html"),
            *(package / "translations").rglob("*.mo"),
            package / "public" / "fragments.py",
        ]
    )
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def page_data(session: Session, target: lookup.Target) -> lookup.PageData:
    """What the page shows, without the ledger check (the mark is spliced in apart)."""
    return lookup.page(session, target, verify=False)


def pages_data(session: Session, batch_ids: Sequence[int]) -> dict[int, lookup.PageData]:
    """:func:`page_data` of many batches at once (:func:`lookup.batch_pages`)."""
    return lookup.batch_pages(session, batch_ids)


# Reading and writing the store ------------------------------------------------------------------

_ONE = select(literal_column("1").label("one")).subquery()
_EDITS = union_all(
    select(func.max(Organization.updated_at).label("at")),
    select(func.max(Facility.updated_at).label("at")),
    select(func.max(Product.updated_at).label("at")),
).subquery()
# The latest edit of an organisation, facility or product (indexed): a page shows more of them
# than its freshness token covers (the places of its stages, the farms and producers of its
# inputs), so a stored page is only used if it was made after the latest such edit.
REGISTRY_EDITED = select(func.max(_EDITS.c.at)).scalar_subquery()
READ = select(
    select(StoredPage.body)
    .where(StoredPage.key == bindparam("key"), StoredPage.made_at >= REGISTRY_EDITED)
    .scalar_subquery(),
    BatchCheck.ok,
    BatchCheck.checked,
    BatchCheck.problem,
    BatchCheck.checked_at,
).select_from(_ONE.outerjoin(BatchCheck, BatchCheck.batch_id == bindparam("batch_id")))
PG_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
READ_SQL = str(READ.compile(dialect=PG_DIALECT))


@dataclasses.dataclass(frozen=True)
class Wanted:
    """The stored page a first view would show: its language and link type."""

    lang: str
    mode: str


# The stored page and the last check of the batch a page view resolves (``t``: the view
# statement's target), joined to that statement (:mod:`trace.codeview.pageview`) so a first view
# reads them in the same round trip. The page is found by everything in its key but the
# freshness token, which is computed from the same row in Python: the view keeps the page only
# if its key is the one it wants (:func:`stored_for`). The same conditions as :data:`READ`; a
# test compares the two.
_REGISTRY_EDITED_SQL = str(REGISTRY_EDITED.compile(dialect=PG_DIALECT))


def view_join(registry_edited: str) -> str:
    """The stored page a view wants, made after the latest registry edit ``registry_edited``
    (an SQL expression: read here, :data:`REGISTRY_READ` or :data:`REGISTRY_GIVEN`), and the
    batch's check."""
    return f"""
LEFT JOIN LATERAL (
    SELECT sp.key AS stored_key, sp.body AS stored_body
    FROM stored_page sp
    WHERE %(page_lang)s::text IS NOT NULL
      AND sp.batch_id = t.batch_id
      AND sp.key LIKE t.batch_id || '|%%|' || %(page_lang)s::text || '|' || %(page_mode)s::text
                      || '|' || t.kind::text || '|1|' || %(page_release)s::text
      AND sp.made_at >= {registry_edited}
    ORDER BY sp.made_at DESC
    LIMIT 1
) page ON true
LEFT JOIN batch_check bc ON bc.batch_id = t.batch_id
"""


VIEW_JOIN_SQL = view_join(_REGISTRY_EDITED_SQL)
# The live path's, with the latest registry edit read once (``registry`` CTE, returned as the
# last column) or given as a parameter: a process keeps it between changes that may touch any
# page (:meth:`trace.codeview.live.LiveState.registry`), where reading it took three index scans
# on every first view.
REGISTRY_CTE = f"registry AS MATERIALIZED (SELECT {_REGISTRY_EDITED_SQL} AS at)"
REGISTRY_READ = "(SELECT at FROM registry)"
REGISTRY_GIVEN = "%(registry_edited)s::timestamptz"


VIEW_JOIN_COLUMNS = (
    "page.stored_key, page.stored_body, bc.ok, bc.checked, bc.problem, bc.checked_at"
)
# The same columns when no page is wanted: only the check.
VIEW_JOIN_SQL_NO_PAGE = "LEFT JOIN batch_check bc ON bc.batch_id = t.batch_id"
VIEW_JOIN_COLUMNS_NO_PAGE = (
    "NULL::text AS stored_key, NULL::text AS stored_body, "
    "bc.ok, bc.checked, bc.problem, bc.checked_at"
)


def view_params(wanted: Wanted | None) -> dict[str, Any]:
    """The parameters of :data:`VIEW_JOIN_SQL` (no page wanted: none is read; the statements
    without it ignore them)."""
    return {
        "page_lang": wanted.lang if wanted else None,
        "page_mode": wanted.mode if wanted else None,
        "page_release": release(),
    }


def stored_for(
    target: lookup.Target, wanted: Wanted | None, key: str | None, body: str | None
) -> str | None:
    """The page read with the view, if it is the one the view wants (same freshness token)."""
    if wanted is None or key is None or key != store_key(target, wanted.lang, wanted.mode):
        return None
    return body


def check_from(row: Sequence[Any]) -> ledgercheck.Check | None:
    """A batch's check from (ok, checked, problem, checked_at), as read beside its page."""
    ok, checked, problem, checked_at = row
    if checked_at is None:
        return None
    checked_at = checked_at.astimezone(dt.UTC) if checked_at.tzinfo else checked_at
    if checked_at.tzinfo is None:
        checked_at = checked_at.replace(tzinfo=dt.UTC)
    return ledgercheck.Check(bool(ok), int(checked), problem, checked_at)


_ROW: dict[str, Any] = {"key": bindparam("key"), "batch_id": bindparam("batch_id"),
        "token": bindparam("token"), "body": bindparam("body"),
        "made_at": bindparam("made_at")}  # fmt: skip
_REPLACE: dict[str, Any] = {
    "body": bindparam("body"),
    "token": bindparam("token"),
    "made_at": bindparam("made_at"),
}
WRITE_PG: Any = (
    postgresql.insert(StoredPage)
    .values(_ROW)
    .on_conflict_do_update(index_elements=["key"], set_=_REPLACE)
    .returning(literal_column("1"))
)
WRITE_SQL = str(WRITE_PG.compile(dialect=PG_DIALECT))
WRITE_SQLITE = (
    sqlite.insert(StoredPage)
    .values(_ROW)
    .on_conflict_do_update(index_elements=["key"], set_=_REPLACE)
)
# A page counts as made this long before its data was read: an edit whose transaction had
# begun (and stamped ``updated_at``) but not committed when the data was read must not look
# older than the page.
MADE_MARGIN = dt.timedelta(seconds=30)


def made_now() -> dt.datetime:
    """The ``made_at`` of a page whose data is read from now on."""
    return dt.datetime.now(dt.UTC) - MADE_MARGIN


def _on_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def read(key: str, batch_id: int) -> tuple[str | None, ledgercheck.Check | None]:
    """The stored page under ``key`` (``""``: none wanted) and the batch's last check, in one
    indexed read."""
    params = {"key": key, "batch_id": batch_id}
    if _on_postgresql():
        row = driver.execute(READ_SQL, params)
    else:
        row = db.session.execute(READ, params).one()
    assert row is not None
    return row[0], check_from(row[1:])


def write(key: str, target: lookup.Target, body: str, made_at: dt.datetime) -> None:
    """Store a page for the other workers (``made_at``: :func:`made_now` before its data was
    read); a failure costs only the next worker a render."""
    params = {"key": key, "batch_id": target.batch_id, "token": target.freshness.token,
              "body": body, "made_at": made_at}  # fmt: skip
    try:
        if _on_postgresql():
            driver.execute(WRITE_SQL, params)
        else:
            with transaction(write=True) as session:
                session.execute(WRITE_SQLITE, params)
    except SQLAlchemyError as error:  # the store is an optimisation: the view goes on
        log.warning("stored page not written: %s", type(error).__name__)


# The verifier job -------------------------------------------------------------------------------


def _variants(session: Session, batch_ids: Sequence[int]) -> dict[int, list[lookup.Target]]:
    """For each batch, a stand-in target for each kind and status of its live codes (what the
    freshness token of a view through such a code is made of)."""
    batches = lookup.batch_targets(session, batch_ids)
    variants: dict[int, list[lookup.Target]] = {batch_id: [] for batch_id in batches}
    for batch_id, kind, status in session.execute(
        select(Code.batch_id, Code.kind, Code.status)
        .where(Code.batch_id.in_(batch_ids), Code.status != CodeStatus.VOIDED)
        .distinct()
    ):
        batch = batches.get(batch_id)
        if batch is None:
            continue
        freshness = dataclasses.replace(batch.freshness, code_status=str(status))
        variants[batch_id].append(
            dataclasses.replace(
                batch,
                code=STAND_IN_CODE,
                kind=CodeKind(kind),
                status=CodeStatus(status),
                freshness=freshness,
            )
        )
    return variants


def _rows(session: Session, keys: list[str]) -> dict[str, StoredPage]:
    return {r.key: r for r in session.scalars(select(StoredPage).where(StoredPage.key.in_(keys)))}


def prepare_batches(app: Flask, session: Session, batch_ids: Sequence[int]) -> int:
    """Store the batches' pages not stored yet (every language, for each kind of live code)
    and delete those of an older freshness; returns how many pages were rendered."""
    variants = _variants(session, batch_ids)
    renderer: Renderer | None = app.extensions.get(RENDERER)
    wanted = {
        store_key(target, lang, "pip"): target
        for targets in variants.values()
        for target in targets
        for lang in (renderer.languages if renderer is not None else ())
    }
    made_at = made_now()
    stored = set(
        session.scalars(
            select(StoredPage.key).where(
                StoredPage.key.in_(list(wanted)), StoredPage.made_at >= REGISTRY_EDITED
            )
        )
    )
    outdated = {k: row for k, row in _rows(session, list(wanted)).items() if k not in stored}
    # What is to render, by batch and language: one call of the renderer each.
    todo: dict[tuple[int, str], list[tuple[str, lookup.Target]]] = {}
    for key, target in wanted.items():
        if key not in stored:
            todo.setdefault((target.batch_id, key.split("|")[2]), []).append((key, target))
    data = pages_data(session, sorted({batch_id for batch_id, _ in todo}))
    rendered = 0
    for (batch_id, lang), pairs in todo.items():
        assert renderer is not None  # no languages without it
        bodies = renderer.render(app, [t for _, t in pairs], data[batch_id], "pip", lang)
        for (key, target), body in zip(pairs, bodies, strict=True):
            row = outdated.get(key)
            if row is None:
                row = StoredPage(key=key, batch_id=target.batch_id, token=target.freshness.token)
                session.add(row)
            row.body, row.made_at = body, made_at
            rendered += 1
    current = {(t.batch_id, t.freshness.token) for targets in variants.values() for t in targets}
    for batch_id, token in session.execute(
        select(StoredPage.batch_id, StoredPage.token)
        .where(StoredPage.batch_id.in_(batch_ids))
        .distinct()
    ).all():
        if (batch_id, token) not in current:
            ledgercheck.forget_pages(session, batch_id, token)
    return rendered


def run_pass(
    app: Flask,
    progress: Callable[[int, int | None], None] | None = None,
    page_seconds: float | None = None,
    among: Sequence[int] | None = None,
    walk_seconds: float | None = None,
    jobs: int = 1,
) -> tuple[int, int]:
    """Check every batch not checked within the interval, oldest first, in transactions of
    :data:`CHUNK` batches; then prepare the pages of the batches checked (for at most
    ``page_seconds``, if given: the rest waits for the next pass). Checks come first, so a pass
    that has many pages to render (fresh data, a deploy that changed the page) does not let the
    marks of the batches it reaches last grow old. ``among``: only these batches (an operator
    preparing the batches of an import, say). ``walk_seconds``: how long the walk over the whole
    event table may re-derive changed chunks (:func:`chunkcheck.walk`). ``jobs``: processes
    sharing the work (:func:`_in_processes`). Returns (batches checked, pages rendered)."""
    started = dt.datetime.now(dt.UTC)
    if jobs > 1:
        return _in_processes(app, jobs, started, page_seconds, among, walk_seconds)
    affected = _walk(app, started, walk_seconds)
    return _check_and_prepare(app, started, affected, progress, page_seconds, among)


def _walk(
    app: Flask, started: dt.datetime, seconds: float | None, share: chunkcheck.Share | None = None
) -> set[int]:
    """The walk over the event table (its share): the batches whose finding came or went."""
    with transaction(write=True) as session:
        return chunkcheck.walk(session, started, seconds, share)


def _check_and_prepare(
    app: Flask,
    started: dt.datetime,
    affected: set[int],
    progress: Callable[[int, int | None], None] | None,
    page_seconds: float | None,
    among: Sequence[int] | None,
    share: chunkcheck.Share | None = None,
) -> tuple[int, int]:
    interval = float(app.config["PUBLIC_VERIFY_SECONDS"])
    before = started - dt.timedelta(seconds=interval / 2)
    checked: list[int] = []
    if among is not None:
        affected &= set(among)
    if share is not None:
        affected = {b for b in affected if b % share[1] == share[0]}
    with transaction(write=True) as session:
        # Index rows no batch's check sees; the batches whose finding came or went are checked
        # in this pass, whenever they were last.
        ids = list(session.scalars(select(Batch.id).where(Batch.id.in_(sorted(affected)))))
        if ids:
            ledgercheck.check(session, ids, dt.datetime.now(dt.UTC))
    checked.extend(ids)
    while True:
        with transaction(write=True) as session:
            ids = ledgercheck.due(session, before, CHUNK, among, share)
            if not ids:
                break
            ledgercheck.check(session, ids, dt.datetime.now(dt.UTC))
        checked.extend(ids)
        if progress is not None:
            progress(len(checked), None)
    rendered = 0
    deadline = time.monotonic() + page_seconds if page_seconds is not None else None
    for start in range(0, len(checked), PAGE_CHUNK):
        if deadline is not None and time.monotonic() > deadline:
            break
        with transaction(write=True) as session:
            rendered += prepare_batches(app, session, checked[start : start + PAGE_CHUNK])
    return len(checked), rendered


_FORKED: list[Flask] = []  # the app a forked process of :func:`_in_processes` works for


def _in_processes(
    app: Flask,
    jobs: int,
    started: dt.datetime,
    page_seconds: float | None,
    among: Sequence[int] | None,
    walk_seconds: float | None,
) -> tuple[int, int]:
    """One pass shared by ``jobs`` forked processes (the hashing and rendering are Python's,
    one core each): first each walks its share of the event table's chunks; once every share
    is recorded (a check must see every finding), each checks and prepares its share of the
    batches (by id) and the batches the walk named. Shares never write the same rows."""
    shares = [(i, jobs) for i in range(jobs)]
    _FORKED[:] = [app]
    db.engine_for(app).dispose()  # no connection of this process is inherited
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        walks = pool.map(_walk_share, [(started, walk_seconds, share) for share in shares])
        affected = set().union(*walks)
        done = list(
            pool.map(
                _prepare_share,
                [(started, affected, page_seconds, among, share) for share in shares],
            )
        )
    return sum(c for c, _ in done), sum(r for _, r in done)


def _forked_app() -> Flask:
    app = _FORKED[0]
    db.engine_for(app).dispose(close=False)  # the parent's connections are the parent's
    return app


def _walk_share(task: tuple[Any, ...]) -> set[int]:
    app = _forked_app()
    with app.app_context():
        return _walk(app, *task)


def _prepare_share(task: tuple[Any, ...]) -> tuple[int, int]:
    app = _forked_app()
    started, affected, page_seconds, among, share = task
    with app.app_context():
        return _check_and_prepare(app, started, affected, None, page_seconds, among, share)


def _every(app: Flask) -> float:
    return float(app.config["PUBLIC_VERIFY_SECONDS"])


@job_kind(ledgercheck.JOB_KIND, every=_every, max_attempts=1)
def verify_and_prepare(ctx: JobContext) -> None:
    """The recurring verifier: one pass (:func:`run_pass`)."""
    half = _every(ctx.app) / 2
    checked, rendered = run_pass(ctx.app, ctx.progress, page_seconds=half, walk_seconds=half)
    log.info("ledger check: %s batches checked, %s pages stored", checked, rendered)


@click.command("public-prepare")
@click.option(
    "--batches",
    "batches_file",
    type=click.File(),
    help="only the batches whose ids this file lists, one a line",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="processes sharing the pass (one a core)",
)
@with_appcontext
def prepare_command(batches_file: Any, jobs: int) -> None:
    """Check every batch (or those listed) against the ledger now and store its public pages
    (what the worker's recurring job does)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    among = None
    if batches_file is not None:
        try:
            among = [int(line) for line in batches_file.read().split()]
        except ValueError:
            raise click.BadParameter("one batch id a line", param_hint="--batches") from None
    started = time.monotonic()
    checked, rendered = run_pass(app, among=among, jobs=jobs)
    click.echo(
        f"{checked} batches checked, {rendered} pages stored in {time.monotonic() - started:.1f} s"
    )
