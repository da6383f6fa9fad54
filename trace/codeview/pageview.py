"""One page view of a code: resolve it, read its freshness and scan statistics, record the scan.

Why this module exists: the lookup page is the hot path of the whole service (every scan of every
label). Through the ORM session a view took about seven round trips (pool pre-ping, ``BEGIN``,
the code lookup, the scan statistics, the scan insert, ``COMMIT``, the teardown rollback); under
load even one round trip cost more than everything else the view does. Three paths:

- **Live** (PostgreSQL, the default): what this process remembers (:mod:`trace.codeview.live`),
  kept true by change notifications. A code seen before costs no database work at all; its scan
  goes to the buffer, its tally is counted on in memory. A code seen for the first time (or
  changed, or expired) costs one statement, :data:`LOAD_SQL`: the reads below without the
  inserts and the Digital Link's conditions, with the latest registry edit the process keeps
  (:meth:`live.LiveState.registry`) given as a parameter.
- **One statement** (PostgreSQL while the change feed is not listening, or ``PUBLIC_LIVE`` off):
  on the worker thread's own connection in autocommit mode (:mod:`~trace.codeview.driver`),
  so it is its own transaction,

  - ``target`` resolves the code and reads the batch's freshness (:class:`lookup.Freshness`:
    batch ``updated_at`` and status, product and producer ``updated_at``, the batch's event
    count, latest ledger seq and record time, open and closed recalls (those five from its
    ``batch_freshness`` row, kept by triggers), the code's status);
  - the unit code's scan statistics, from the statement's snapshot, i.e. *before* this view's
    scan, as the page words it ("scanned 3 times before");
  - ``recorded``, the scan insert (a data-modifying CTE), with ``synchronous_commit`` off for
    this statement's own transaction: a scan lost in a crash is acceptable, a slower page not;
    ``client``, the client among the code's distinct clients, if it is new.

  psycopg prepares it on the server after a few executions on a connection. Every part reads
  through an index from the scanned code and its batch: the cost does not grow with the data.
- **Live on SQLite** (a pilot, with a database file): the same remembered codes and buffered
  scans, kept true by a change counter read before each view
  (:class:`~trace.codeview.changes.ChangeCounter`). A code seen for the first time is resolved
  with :func:`lookup.find_code` and its tally read with :func:`_portable_tally` on the request's
  session.
- **Portable** (SQLite with ``PUBLIC_LIVE`` off or in memory): the same facts through
  :func:`lookup.find_code`, :func:`scans.scan_stats` and :func:`scans.record_scan` on the
  request's session, the scan in its own short write transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from trace.codeview import driver, ledgercheck, live, scans, store
from trace.codeview.scanbuffer import ByCode, ScanRow, unwritten_in
from trace.db import db, transaction
from trace.models import Code, CodeKind, CodeStatus, ScanClient
from trace.services import lookup


@dataclass(frozen=True)
class NewScan:
    """The scan a view records: who (salted hash), in which language, where if offered."""

    client: str
    language: str
    province_code: str | None


@dataclass(frozen=True)
class View:
    target: lookup.Target
    stats: scans.ScanStats | None  # for unit codes only
    # Read with the code on a first view (PostgreSQL): the stored page wanted, if it is stored
    # and true, and the batch's last verifier check (``check_read``: whether it was read).
    page: str | None = None
    check: ledgercheck.Check | None = None
    check_read: bool = False


# The statement ----------------------------------------------------------------------------------

# The code, its batch and the batch's freshness (:class:`lookup.Freshness`): the facts from
# other tables (events, recalls) in the batch's ``batch_freshness`` row, which triggers keep in
# the transaction of every write (no row: none of either). ``{where}``: the conditions on top
# of the code (a Digital Link's GTIN and lot).
TARGET = """
    SELECT b.id AS batch_id, b.lot_code, p.id AS product_id, p.gtin,
           c.id AS code_id, c.code, c.kind, c.status AS code_status, c.void_reason,
           b.updated_at AS batch_updated_at, b.status AS batch_status,
           p.updated_at AS product_updated_at, o.updated_at AS producer_updated_at,
           coalesce(f.event_count, 0) AS event_count, f.last_seq, f.last_recorded_at,
           f.open_recall_id, coalesce(f.closed_recalls, 0) AS closed_recalls,
           c.copy_warning_cleared_at
    FROM code c
    JOIN batch b ON b.id = c.batch_id
    JOIN product p ON p.id = b.product_id
    JOIN organization o ON o.id = b.producer_id
    LEFT JOIN batch_freshness f ON f.batch_id = b.id
    WHERE c.code = %(code)s{where}
"""

VIEW_SQL = """
WITH target AS ({target}),
recorded AS (
    INSERT INTO scan (code_id, batch_id, at, client_hash, province_code, language)
    SELECT t.code_id, t.batch_id, now(), %(client)s, %(province)s, %(language)s
    FROM target t, (SELECT set_config('synchronous_commit', 'off', true)) AS setting
    WHERE %(record)s
),
client AS (
    INSERT INTO scan_client (code_id, client_hash, first_at)
    SELECT t.code_id, %(client)s, now() FROM target t WHERE %(record)s
    ON CONFLICT DO NOTHING
)
{select}"""

# What both statements select from ``target``: the unit code's statistics, the stored page.
SELECT = """SELECT t.*, s.*, {page_columns}
FROM target t
LEFT JOIN LATERAL ({stats}) s ON t.kind = 'unit'  -- batch-level codes show no scan statistics
{page_join}"""

# A unit code's scan statistics (:func:`scans.scan_stats` is the portable form), all from its
# distinct clients in ``scan_client`` (a hash is one client on one day), never its repeat scans:
# the count (capped), the first scan, the hashes first seen within a day (so a process counts a
# repeat scan once), and the clients behind the copy warning: first seen within the window and
# after the last clear (``since``; ``{cleared}``: the code's last clear, an SQL expression),
# cut at the threshold. The bounds are taken from the statement's own clock (``now()``), as the
# portable form takes them from the process's.
STATS = """
WITH bounds AS (
    SELECT greatest(now() - make_interval(secs => %(copy_hours)s * 3600), {cleared}) AS since
)
SELECT (SELECT count(*) FROM (SELECT 1 FROM scan_client WHERE code_id = {code_id}
                              LIMIT {count_cap}) capped) AS scan_count,
       (SELECT min(first_at) FROM scan_client WHERE code_id = {code_id}) AS first_scan,
       ARRAY(SELECT client_hash FROM scan_client
             WHERE code_id = {code_id} AND first_at > now() - interval '1 day'
             ORDER BY first_at DESC LIMIT {recent_clients}) AS recent,
       ARRAY(SELECT client_hash FROM scan_client
             WHERE code_id = {code_id} AND first_at > (SELECT since FROM bounds)
             LIMIT %(copy_clients)s) AS clients,
       (SELECT since FROM bounds) AS warning_since
"""


def _stats(code_id: str, cleared: str) -> str:
    # a hash is one client on one day: "recent" is the last day's
    return STATS.format(
        code_id=code_id,
        cleared=cleared,
        count_cap=scans.COUNT_CAP + 1,
        recent_clients=scans.RECENT_CLIENTS,
    )


# With the code read: its last clear comes with it, not from a probe of its own.
_STATS = _stats("t.code_id", "t.copy_warning_cleared_at")
_SELECT = SELECT.format(
    stats=_STATS, page_columns=store.VIEW_JOIN_COLUMNS, page_join=store.VIEW_JOIN_SQL
)
VIEW_SQL = VIEW_SQL.format(
    target=TARGET.format(
        where="""
      AND (%(gtin)s::text IS NULL OR p.gtin = %(gtin)s::text)
      AND (%(lot)s::text IS NULL OR b.lot_code = %(lot)s::text)"""
    ),
    select=_SELECT,
)


def _load_sql(page_columns: str, page_join: str, ctes: str = "") -> str:
    """The live path's first read of a code (its scan goes to the buffer): the reads of
    :data:`VIEW_SQL` without the inserts and the Digital Link's conditions, so it has a few
    parameters to send, and a plan of its own."""
    select = SELECT.format(stats=_STATS, page_columns=page_columns, page_join=page_join)
    return f"WITH {ctes}target AS ({TARGET.format(where='')})\n{select}"


def _with_registry(registry_edited: str) -> str:
    """The stored page guarded by ``registry_edited``, returned as the last column."""
    return f"{store.VIEW_JOIN_COLUMNS}, {registry_edited} AS registry_edited"


# The latest registry edit read in the statement (a process that does not know it) or given.
LOAD_SQL_READING_REGISTRY = _load_sql(
    _with_registry(store.REGISTRY_READ),
    store.view_join(store.REGISTRY_READ),
    ctes=f"{store.REGISTRY_CTE}, ",
)
LOAD_SQL = _load_sql(_with_registry(store.REGISTRY_GIVEN), store.view_join(store.REGISTRY_GIVEN))
# A view that wants no stored page (JSON): no page to look for at all.
LOAD_SQL_NO_PAGE = _load_sql(store.VIEW_JOIN_COLUMNS_NO_PAGE, store.VIEW_JOIN_SQL_NO_PAGE)
STATS_SQL = _stats(
    "%(code_id)s", "(SELECT copy_warning_cleared_at FROM code WHERE id = %(code_id)s)"
)


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.astimezone(dt.UTC) if moment is not None else None


def _utc_at(moment: dt.datetime) -> dt.datetime:
    """A time from a column that is never null."""
    return moment.astimezone(dt.UTC)


# Where the parts of a row of the statements lie: :data:`TARGET`'s columns, the statistics,
# the stored page (key, body) and the check (:data:`store.VIEW_JOIN_COLUMNS`), and the registry
# edit read (the last column).
_TARGET_END = 19
_STATS_END = _TARGET_END + 5
_CHECK_END = _STATS_END + len(store.VIEW_JOIN_COLUMNS.split(","))


def _target_from(row: tuple[Any, ...]) -> lookup.Target:
    (
        batch_id, lot_code, product_id, gtin, code_id, code, kind, code_status, void_reason,
        b_updated, b_status, p_updated, o_updated, n_events, last_seq, last_recorded,
        open_recall, closed_recalls, _cleared,
    ) = row[:_TARGET_END]  # fmt: skip
    freshness = lookup.Freshness(
        _utc_at(b_updated), str(b_status), _utc_at(p_updated), _utc_at(o_updated),
        int(n_events or 0), last_seq, _utc(last_recorded), open_recall,
        int(closed_recalls or 0), str(code_status),
    )  # fmt: skip
    return lookup.Target(
        batch_id, code_id, code, CodeKind(kind), CodeStatus(code_status), void_reason, lot_code,
        product_id, gtin, freshness,
    )  # fmt: skip


def _tally_from(stats: tuple[Any, ...], read_at: float) -> live.Tally:
    count, first, recent, clients, since = stats
    return live.Tally(
        int(count or 0), _utc(first), set(recent or ()), set(clients or ()), _utc(since), read_at
    )


def _params(thresholds: dict[str, Any], **values: Any) -> dict[str, Any]:
    return {
        "copy_hours": float(thresholds["copy_hours"]),
        "copy_clients": int(thresholds["copy_clients"]),
        **values,
    }


@dataclass(frozen=True)
class Read:
    """What the one statement read: the code's target, its tally, and the stored page and the
    check of its batch (a page view's first read; they are not remembered with the code)."""

    target: lookup.Target
    tally: live.Tally | None
    page: str | None = None
    check: ledgercheck.Check | None = None
    check_read: bool = False

    def view(self, stats: scans.ScanStats | None) -> View:
        return View(self.target, stats, self.page, self.check, self.check_read)


def _read(
    code: str,
    gtin: str | None,
    lot: str | None,
    scan: NewScan | None,
    thresholds: dict[str, Any],
    wanted: store.Wanted | None = None,
    state: live.LiveState | None = None,
) -> Read | None:
    """The one statement: the code's target and tally, the stored page ``wanted`` and the
    batch's check, recording ``scan`` if given (:data:`LOAD_SQL` when there is neither a scan
    nor a GTIN or lot to match; ``state``: the live state that keeps the latest registry edit
    it needs)."""
    page = store.view_params(wanted)
    registry = None
    if scan is None and gtin is None and lot is None:
        params = _params(thresholds, code=code, **page)
        if wanted is None:
            sql = LOAD_SQL_NO_PAGE
        else:
            registry = state.registry() if state is not None else None
            if registry is None:
                sql = LOAD_SQL_READING_REGISTRY
            else:
                sql, params["registry_edited"] = LOAD_SQL, registry.edited
    else:
        sql = VIEW_SQL
        params = _params(
            thresholds, code=code, gtin=gtin, lot=lot, record=scan is not None,
            client=scan.client if scan else None, province=scan.province_code if scan else None,
            language=scan.language if scan else None, **page,
        )  # fmt: skip
    everything = state.everything if state is not None else 0
    read_at = time.monotonic()
    row = _execute(sql, params)
    if row is None:
        return None
    if state is not None and sql is LOAD_SQL_READING_REGISTRY:
        state.keep_registry(row[_CHECK_END], everything, read_at)
    target = _target_from(row)
    tally = _tally_from(row[_TARGET_END:_STATS_END], read_at) if target.is_unit else None
    stored = store.stored_for(target, wanted, row[_STATS_END], row[_STATS_END + 1])
    check = store.check_from(row[_STATS_END + 2 : _CHECK_END])
    return Read(target, tally, stored, check, check_read=True)


def _postgresql(
    code: str,
    gtin: str | None,
    lot: str | None,
    scan: NewScan | None,
    thresholds: dict[str, Any],
    wanted: store.Wanted | None,
) -> View | None:
    """Without the live state (feed not listening): everything from the database, every view."""
    found = _read(code, gtin, lot, scan, thresholds, wanted)
    if found is None:
        return None
    tally = found.tally
    return found.view(tally.stats(thresholds["copy_clients"]) if tally else None)


def _load(
    code: str, thresholds: dict[str, Any], wanted: store.Wanted | None, state: live.LiveState
) -> Read | None:
    """A code seen for the first time (or changed, or expired), without recording a scan:
    PostgreSQL's one statement, SQLite's portable reads."""
    if not _one_round_trip():
        return _read_portable(code, thresholds)
    return _read(code, None, None, None, thresholds, wanted, state)


def _read_portable(code: str, thresholds: dict[str, Any]) -> Read | None:
    """SQLite: the code's target (:func:`lookup.find_code`) and its tally, on the session."""
    read_at = time.monotonic()
    try:
        target = lookup.find_code(db.session, code)
    except lookup.UnknownCode:
        return None
    tally = None
    if target.is_unit and target.code_id is not None:
        tally = _portable_tally(target.code_id, thresholds, read_at)
    return Read(target, tally)


def _portable_tally(code_id: int, thresholds: dict[str, Any], read_at: float) -> live.Tally:
    """A unit code's tally as :data:`STATS` reads it on PostgreSQL, on the session."""
    session = db.session
    recent_since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)  # one client on one day
    cleared = session.scalar(select(Code.copy_warning_cleared_at).where(Code.id == code_id))
    since = scans.warning_since(cleared, float(thresholds["copy_hours"]))
    of_code = ScanClient.code_id == code_id
    capped = select(ScanClient.client_hash).where(of_code).limit(scans.COUNT_CAP + 1).subquery()
    count, first = session.execute(
        select(
            select(func.count()).select_from(capped).scalar_subquery(),
            select(func.min(ScanClient.first_at)).where(of_code).scalar_subquery(),
        )
    ).one()
    recent = session.scalars(
        select(ScanClient.client_hash)
        .where(of_code, ScanClient.first_at > recent_since)
        .order_by(ScanClient.first_at.desc())
        .limit(scans.RECENT_CLIENTS)
    ).all()
    clients = session.scalars(
        select(ScanClient.client_hash)
        .where(of_code, ScanClient.first_at > since)
        .limit(int(thresholds["copy_clients"]))
    ).all()
    return _tally_from((count, first, recent, clients, since), read_at)


def _execute(sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """The code's statements (resolve, scan statistics), through :func:`driver.execute`."""
    return driver.execute(sql, params)


def _live(
    state: live.LiveState,
    key: str,
    load: Callable[[], Read | None],
    scan: NewScan | None,
    thresholds: dict[str, Any],
    known: live.Entry | None = None,
) -> View | None:
    """From what this process remembers under ``key`` (``known``, when the caller looked it up
    already); the database only for what is seen for the first time (or changed, or expired)
    and for a tally due to be read again."""
    entry = known or state.get(key)
    found = None
    if entry is None:
        generation = state.generation
        before = state.buffer.snapshot()
        found = load()
        if found is None:
            return None
        if found.tally is not None:
            _add_unwritten(state, found.tally, found.target, thresholds, before)
        entry = live.Entry(found.target, time.monotonic(), found.tally)
        state.put(key, entry, generation)
    target = entry.target
    tally = entry.tally
    if tally is not None and time.monotonic() - tally.read_at > state.stats_ttl:
        tally = entry.tally = _reread_tally(state, target, thresholds)
    stats = tally.stats(thresholds["copy_clients"]) if tally is not None else None
    if scan is not None:
        row = ScanRow(
            target.code_id, target.batch_id, dt.datetime.now(dt.UTC), scan.client,
            scan.province_code, scan.language,
        )  # fmt: skip
        state.buffer.add(row)
        if tally is not None:
            tally.add(row, thresholds["copy_clients"])
    return found.view(stats) if found is not None else View(target, stats)


def _live_code(
    state: live.LiveState,
    text: str,
    scan: NewScan | None,
    thresholds: dict[str, Any],
    wanted: store.Wanted | None,
) -> View | None:
    """The code ``text``: a printed code arrives in the spelling it is remembered under, so only
    a code typed another way (or not remembered) is normalised and checked first."""
    known = state.get(text)
    code = text if known is not None else lookup.normalized(text)
    load = functools.partial(_load, code, thresholds, wanted, state)
    return _live(state, code, load, scan, thresholds, known)


def _reread_tally(
    state: live.LiveState, target: lookup.Target, thresholds: dict[str, Any]
) -> live.Tally:
    read_at = time.monotonic()
    assert target.code_id is not None
    before = state.buffer.snapshot()
    if _one_round_trip():
        row = _execute(STATS_SQL, _params(thresholds, code_id=target.code_id))
        assert row is not None  # an aggregate: always one row
        tally = _tally_from(row, read_at)
    else:
        tally = _portable_tally(target.code_id, thresholds, read_at)
    return _add_unwritten(state, tally, target, thresholds, before)


def _add_unwritten(
    state: live.LiveState,
    tally: live.Tally,
    target: lookup.Target,
    thresholds: dict[str, Any],
    before: tuple[ByCode, ByCode],
) -> live.Tally:
    """``tally`` as read from the database, plus this process's scans of the code that are not
    written yet (a remembered count must not go back when it is read again).

    ``before``: what was unwritten just before the read. A scan the buffer's thread writes
    while the read runs is in neither the read nor the buffer afterwards; without it, that
    client's next scan would count as a new client (and could raise a cleared copy warning).
    A scan found twice counts once (:meth:`live.Tally.add` skips a known client)."""
    assert target.code_id is not None
    for scan in (*unwritten_in(before, target.code_id), *state.buffer.unwritten(target.code_id)):
        tally.add(scan, thresholds["copy_clients"])
    return tally


# The portable path ------------------------------------------------------------------------------


def _portable(target: lookup.Target, scan: NewScan | None, thresholds: dict[str, Any]) -> View:
    session = db.session
    stats = None
    if target.is_unit and target.code_id is not None:
        stats = scans.scan_stats(session, target.code_id, **thresholds)
    if scan is not None:
        # SQLite: the boundary ends the reads' transaction first; the insert takes the write lock
        # in its own short transaction, so page views do not queue behind each other while
        # rendering.
        with transaction(write=True) as writing:
            scans.record_scan(
                writing, code_id=target.code_id, batch_id=target.batch_id, client=scan.client,
                language=scan.language, province_code=scan.province_code,
            )  # fmt: skip
    return View(target, stats)


def _live_state() -> live.LiveState | None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return live.state(app, db.engine_for(app))


def _one_round_trip() -> bool:
    return db.engine.dialect.name == "postgresql"


def view_code(
    text: str, scan: NewScan | None, wanted: store.Wanted | None = None, **thresholds: Any
) -> View:
    """Resolve the code ``text`` (any spelling :func:`lookup.normalized` accepts), read its
    freshness and (unit codes) scan statistics, and record ``scan`` when given.

    ``thresholds``: ``copy_clients`` and ``copy_hours`` of :func:`scans.scan_stats`;
    ``wanted``: the stored page to read with the code on PostgreSQL (:class:`View.page`).
    Raises :class:`lookup.InvalidCode` or :class:`lookup.UnknownCode`."""
    state = _live_state()
    if state is not None:
        view = _live_code(state, text, scan, thresholds, wanted)
    elif _one_round_trip():
        view = _postgresql(lookup.normalized(text), None, None, scan, thresholds, wanted)
    else:
        return _portable(lookup.find_code(db.session, text), scan, thresholds)
    if view is None:
        raise lookup.UnknownCode(lookup.normalized(text))
    return view


def view_serial(
    gtin: str,
    serial: str,
    lot: str | None,
    scan: NewScan | None,
    wanted: store.Wanted | None = None,
    **thresholds: Any,
) -> View:
    """The unit code ``serial`` of a product with ``gtin`` (and of batch ``lot`` if given), as
    :func:`view_code` does it. Raises :class:`lookup.UnknownCode`."""
    state = _live_state()
    if state is None and not _one_round_trip():
        return _portable(lookup.find_serial(db.session, gtin, serial, lot), scan, thresholds)
    try:
        code = lookup.normalized(serial)
    except lookup.InvalidCode:
        raise lookup.UnknownCode(serial) from None
    if state is not None:
        view = _live_code(state, code, scan, thresholds, wanted)
        if view is not None and (
            view.target.gtin != gtin or (lot is not None and view.target.lot_code != lot)
        ):
            view = None  # the code exists, but not under this GTIN and lot
    else:
        view = _postgresql(code, gtin, lot, scan, thresholds, wanted)
    if view is None:
        raise lookup.UnknownCode(serial)
    return view


def view_lot(gtin: str, lot: str, scan: NewScan | None) -> View:
    """The batch ``lot`` of the product with ``gtin`` (through its live batch-level code, if
    any), read on the request's session: a batch-level view has no scan statistics to read.
    Raises :class:`lookup.UnknownCode`."""
    state = _live_state()
    if state is None:
        return _portable(lookup.find_lot(db.session, gtin, lot), scan, {})
    # The key holds a "/", so it cannot collide with a code from ``/q/<code>``.
    view = _live(
        state,
        f"lot:{gtin}/{lot}",
        lambda: Read(lookup.find_lot(db.session, gtin, lot), None),
        scan,
        {},
    )
    assert view is not None  # find_lot raises when there is no such lot
    return view
