"""One page view of a code, in one database round trip on PostgreSQL.

Why this module exists: the lookup page is the hot path of the whole service (every scan of every
label), and its queries cost a fraction of a millisecond while the fixed cost around them did not.
Through the ORM session a view took about seven round trips (pool pre-ping, ``BEGIN``, the code
lookup, the scan statistics, the scan insert, ``COMMIT``, the teardown rollback) plus the
session's bookkeeping. Here, on PostgreSQL, a view is **one statement**, sent on a pooled
connection in autocommit mode, which is therefore its own transaction:

- ``target``: resolve the code and read the batch's freshness (:class:`lookup.Freshness`: batch
  ``updated_at`` and status, product and producer ``updated_at``, the batch's event count, latest
  ledger seq and record time, open and closed recalls, the code's status). Every input of the
  cached page's key is read on every view, so a recall or a new event shows at once.
- ``stats``: the unit code's scan statistics (:func:`scans.scan_stats`), read from the statement's
  snapshot, i.e. *before* this view's scan, as the page words it ("scanned 3 times before").
- ``recorded``: the scan insert, a data-modifying CTE, only when the view counts as a scan (a GET,
  not HEAD nor prefetch, of the HTML or JSON form). ``synchronous_commit`` is turned off for this
  statement's own transaction only: a scan lost in a crash is acceptable, a slower page is not.

psycopg prepares the statement on the server after a few executions on a connection, so it is
parsed and planned once per connection. Every part reads through an index from the scanned code
and its batch: the cost does not grow with the number of batches, events or scans.

Other databases (SQLite for a pilot and the tests) take the portable path: the same facts
through :func:`lookup.find_code`, :func:`scans.scan_stats` and :func:`scans.record_scan` on the
request's session, the scan in its own short write transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from trace.db import db, write_intent
from trace.models import CodeKind, CodeStatus
from trace.services import lookup, scans


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


# The statement ----------------------------------------------------------------------------------

VIEW_SQL = """
WITH target AS (
    SELECT b.id AS batch_id, b.lot_code, p.id AS product_id, p.gtin,
           c.id AS code_id, c.code, c.kind, c.status AS code_status, c.void_reason,
           b.updated_at AS batch_updated_at, b.status AS batch_status,
           p.updated_at AS product_updated_at, o.updated_at AS producer_updated_at,
           ev.event_count, ev.last_seq, ev.last_recorded_at,
           (SELECT max(r.id) FROM recall_batch rb JOIN recall r ON r.id = rb.recall_id
             WHERE rb.batch_id = b.id AND r.closed_at IS NULL) AS open_recall_id,
           (SELECT count(*) FROM recall_batch rb JOIN recall r ON r.id = rb.recall_id
             WHERE rb.batch_id = b.id AND r.closed_at IS NOT NULL) AS closed_recalls
    FROM code c
    JOIN batch b ON b.id = c.batch_id
    JOIN product p ON p.id = b.product_id
    JOIN organization o ON o.id = b.producer_id
    CROSS JOIN LATERAL (
        SELECT count(*) AS event_count, max(e.seq) AS last_seq,
               max(e.record_time) AS last_recorded_at
        FROM event_epc ee JOIN event e ON e.id = ee.event_pk
        WHERE ee.batch_id = b.id
    ) ev
    WHERE c.code = %(code)s
      AND (%(gtin)s::text IS NULL OR p.gtin = %(gtin)s::text)
      AND (%(lot)s::text IS NULL OR b.lot_code = %(lot)s::text)
),
recorded AS (
    INSERT INTO scan (code_id, batch_id, at, client_hash, province_code, language)
    SELECT t.code_id, t.batch_id, now(), %(client)s, %(province)s, %(language)s
    FROM target t, (SELECT set_config('synchronous_commit', 'off', true)) AS setting
    WHERE %(record)s
)
SELECT t.*, s.*
FROM target t
LEFT JOIN LATERAL (
    SELECT (SELECT count(*) FROM (SELECT 1 FROM scan WHERE code_id = t.code_id
                                  LIMIT %(count_cap)s) capped) AS scan_count,
           (SELECT min(at) FROM scan WHERE code_id = t.code_id) AS first_scan,
           count(DISTINCT recent.client_hash) AS distinct_clients,
           count(DISTINCT recent.province_code) AS distinct_places
    FROM (SELECT client_hash, province_code FROM scan WHERE code_id = t.code_id
          ORDER BY at DESC LIMIT %(recent)s) recent
    WHERE t.kind = 'unit'  -- batch-level codes show no scan statistics: skip the reads
) s ON true
"""


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.astimezone(dt.UTC) if moment is not None else None


def _from_row(row: tuple[Any, ...], copy_clients: int, copy_places: int) -> View:
    (
        batch_id, lot_code, product_id, gtin, code_id, code, kind, code_status, void_reason,
        b_updated, b_status, p_updated, o_updated, n_events, last_seq, last_recorded,
        open_recall, closed_recalls, n_scans, first_scan, clients, places,
    ) = row  # fmt: skip
    freshness = lookup.Freshness(
        _utc(b_updated), str(b_status), _utc(p_updated), _utc(o_updated), int(n_events or 0),
        last_seq, _utc(last_recorded), open_recall, int(closed_recalls or 0), str(code_status),
    )  # fmt: skip
    kind = CodeKind(kind)
    target = lookup.Target(
        batch_id, code_id, code, kind, CodeStatus(code_status), void_reason, lot_code,
        product_id, gtin, freshness,
    )  # fmt: skip
    stats = None
    if kind is CodeKind.UNIT:
        stats = scans.stats_from(
            n_scans, _utc(first_scan), clients, places, copy_clients, copy_places
        )
    return View(target, stats)


def _postgresql(
    code: str, gtin: str | None, lot: str | None, scan: NewScan | None, thresholds: dict[str, int]
) -> View | None:
    params = {
        "code": code,
        "gtin": gtin,
        "lot": lot,
        "record": scan is not None,
        "client": scan.client if scan else None,
        "province": scan.province_code if scan else None,
        "language": scan.language if scan else None,
        "count_cap": scans.COUNT_CAP + 1,
        "recent": scans.RECENT_SCANS,
    }
    row = _execute(VIEW_SQL, params)
    if row is None:
        return None
    return _from_row(row, **thresholds)


def _execute(sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """One statement on a pooled connection in autocommit mode, through the driver's own cursor
    (no SQLAlchemy result machinery: the row is a plain tuple).

    A connection the driver reports broken (database restarted, network cut) is invalidated,
    so the pool replaces it: the request fails, the next one gets a fresh connection.
    """
    pooled = db.engine.raw_connection()
    driver = pooled.driver_connection
    try:
        driver.autocommit = True
        try:
            with driver.cursor() as cursor:
                cursor.execute(sql, params)
                row: tuple[Any, ...] | None = cursor.fetchone()
        finally:
            if not driver.broken:
                driver.autocommit = False
        return row
    except Exception:
        if driver.broken or driver.closed:
            pooled.invalidate()
        raise
    finally:
        pooled.close()


# The portable path ------------------------------------------------------------------------------


def _portable(target: lookup.Target, scan: NewScan | None, thresholds: dict[str, int]) -> View:
    session = db.session
    stats = None
    if target.is_unit and target.code_id is not None:
        stats = scans.scan_stats(session, target.code_id, **thresholds)
    if scan is not None:
        # SQLite: end the reads' transaction first; the insert takes the write lock in its own
        # short transaction, so page views do not queue behind each other while rendering.
        session.commit()
        with write_intent():
            scans.record_scan(
                session, code_id=target.code_id, batch_id=target.batch_id, client=scan.client,
                language=scan.language, province_code=scan.province_code,
            )  # fmt: skip
            session.commit()
    return View(target, stats)


def _one_round_trip() -> bool:
    return db.engine.dialect.name == "postgresql"


def view_code(text: str, scan: NewScan | None, **thresholds: int) -> View:
    """Resolve the code ``text`` (any spelling :func:`lookup.normalized` accepts), read its
    freshness and (unit codes) scan statistics, and record ``scan`` when given.

    ``thresholds``: ``copy_clients`` and ``copy_places`` of :func:`scans.scan_stats`.
    Raises :class:`lookup.InvalidCode` or :class:`lookup.UnknownCode`."""
    if not _one_round_trip():
        return _portable(lookup.find_code(db.session, text), scan, thresholds)
    code = lookup.normalized(text)
    view = _postgresql(code, None, None, scan, thresholds)
    if view is None:
        raise lookup.UnknownCode(code)
    return view


def view_serial(
    gtin: str, serial: str, lot: str | None, scan: NewScan | None, **thresholds: int
) -> View:
    """The unit code ``serial`` of a product with ``gtin`` (and of batch ``lot`` if given), as
    :func:`view_code` does it. Raises :class:`lookup.UnknownCode`."""
    if not _one_round_trip():
        return _portable(lookup.find_serial(db.session, gtin, serial, lot), scan, thresholds)
    try:
        code = lookup.normalized(serial)
    except lookup.InvalidCode:
        raise lookup.UnknownCode(serial) from None
    view = _postgresql(code, gtin, lot, scan, thresholds)
    if view is None:
        raise lookup.UnknownCode(serial)
    return view


def view_lot(gtin: str, lot: str, scan: NewScan | None) -> View:
    """The batch ``lot`` of the product with ``gtin`` (through its live batch-level code, if
    any), on the request's session: a batch-level view has no scan statistics to read."""
    return _portable(lookup.find_lot(db.session, gtin, lot), scan, {})
