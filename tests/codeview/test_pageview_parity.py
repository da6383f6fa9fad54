"""The page view's two forms of one read model agree field by field: PostgreSQL's one statement
(:data:`trace.codeview.pageview.VIEW_SQL`, raw SQL) and the portable path that SQLite runs
(:func:`lookup.find_code` and :func:`scans.scan_stats` through the ORM), for codes in every state
the page distinguishes: unit and batch-level codes, printed and voided, batches with events,
an open and a closed recall, scans by several clients with repeats, a cleared copy warning.

The raw statement exists on PostgreSQL only: there both forms run on the same data and are
compared; on SQLite the portable form is checked against the facts written. The live path's
first read on SQLite (:func:`pageview._read_portable`, with the tally a process counts on) is
compared with both.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from tests.public.conftest import Chain
from trace.codeview import pageview, scans
from trace.db import db
from trace.models import Code, CodeStatus, Recall
from trace.services import lookup

THRESHOLDS = {"copy_clients": 2, "copy_hours": 24.0}


def _scan(session: Session, code: str, client: str) -> None:
    target = lookup.find_code(session, code)
    scans.record_scan(session, code_id=target.code_id, batch_id=target.batch_id,
                      client=client * 64, language="vi")  # fmt: skip
    session.commit()


def _portable(session: Session, code: str) -> tuple[lookup.Target, scans.ScanStats | None]:
    session.rollback()
    target = lookup.find_code(session, code)
    stats = None
    if target.is_unit and target.code_id is not None:
        stats = scans.scan_stats(session, target.code_id, **THRESHOLDS)
    return target, stats


def _fields(value: Any) -> dict[str, Any]:
    """Every field, timestamps in UTC, for a field-by-field comparison."""
    out = {}
    for key, item in dataclasses.asdict(value).items():
        if isinstance(item, dict):
            item = {k: v.astimezone(dt.UTC) if isinstance(v, dt.datetime) else v
                    for k, v in item.items()}  # fmt: skip
        elif isinstance(item, dt.datetime):
            item = item.astimezone(dt.UTC)
        out[key] = item
    return out


def test_the_raw_statement_and_the_portable_path_agree(
    app: Flask,
    chain: Chain,
    session: Session,
    unit_code: Callable[..., str],
    recall: Callable[..., Recall],
) -> None:
    printed, voided, quiet = (
        unit_code(chain.batch),
        unit_code(chain.batch, CodeStatus.VOIDED),
        (unit_code(chain.juice)),
    )
    for client in ("a", "b", "a", "c"):  # three distinct clients, one repeat
        _scan(session, printed, client)
    _scan(session, voided, "d")
    session.rollback()
    session.execute(
        update(Code)
        .where(Code.code == printed)
        .values(copy_warning_cleared_at=dt.datetime.now(dt.UTC) - dt.timedelta(microseconds=1))
    )
    session.commit()
    _scan(session, printed, "e")  # after the clear: counts towards the warning again
    recall(chain.batch, "Dư lượng vượt ngưỡng")
    closed = recall(chain.juice, "Bao bì rách")
    session.rollback()
    session.execute(
        update(Recall).where(Recall.id == closed.id).values(closed_at=dt.datetime.now(dt.UTC))
    )
    session.commit()

    codes = [printed, voided, quiet, chain.code, chain.juice_code]
    portable = {code: _portable(session, code) for code in codes}
    target, stats = portable[printed]
    assert stats is not None and (stats.count, stats.distinct_clients) == (4, 1)
    assert target.freshness.open_recall_id is not None and target.freshness.event_count == 3
    assert portable[chain.juice_code][0].freshness.closed_recalls == 1
    assert portable[voided][0].voided and portable[chain.code][1] is None

    with app.app_context():  # the live path's first read on SQLite: the same facts
        lite = {code: pageview._read_portable(code, THRESHOLDS) for code in codes}
    for code, found in lite.items():
        assert found is not None, code
        want_target, want_stats = portable[code]
        assert _fields(found.target) == _fields(want_target), code
        got = found.tally.stats(THRESHOLDS["copy_clients"]) if found.tally is not None else None
        assert got == want_stats, code
    tally = lite[printed].tally if lite[printed] else None
    assert tally is not None and len(tally.recent) == 4 and len(tally.clients) == 1

    if db.engine_for(app).dialect.name != "postgresql":
        return
    with app.app_context():
        for code in codes:
            found = pageview._read(code, None, None, None, THRESHOLDS)
            assert found is not None, code
            raw_target, tally = found.target, found.tally
            want_target, want_stats = portable[code]
            assert _fields(raw_target) == _fields(want_target), code
            raw_stats = tally.stats(THRESHOLDS["copy_clients"]) if tally is not None else None
            assert raw_stats == want_stats, code
            mine = lite[code]
            assert mine is not None and (mine.tally is None) == (tally is None), code
            if tally is not None and mine.tally is not None:
                assert (tally.count, tally.first, tally.recent, tally.clients) == (
                    mine.tally.count,
                    mine.tally.first,
                    mine.tally.recent,
                    mine.tally.clients,
                ), code
