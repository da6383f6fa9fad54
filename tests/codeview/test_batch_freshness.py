"""``batch_freshness`` (migration 0022): the row a first view reads for a batch's events and
recalls, kept by PostgreSQL's triggers, equals what the sources say after every kind of write
(the services', bulk SQL, edits behind the services' back, truncations)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.public.conftest import Chain, record
from trace.db import db
from trace.models import Recall

# Every batch whose row (or its absence: no events, no recalls) differs from the sources.
MISMATCHES = text(
    """
    WITH truth AS (
        SELECT b.id AS batch_id,
               (SELECT count(*) FROM event_epc ee JOIN event e ON e.id = ee.event_pk
                 WHERE ee.batch_id = b.id) AS event_count,
               (SELECT max(e.seq) FROM event_epc ee JOIN event e ON e.id = ee.event_pk
                 WHERE ee.batch_id = b.id) AS last_seq,
               (SELECT max(e.record_time) FROM event_epc ee JOIN event e ON e.id = ee.event_pk
                 WHERE ee.batch_id = b.id) AS last_recorded_at,
               (SELECT max(r.id) FROM recall_batch rb JOIN recall r ON r.id = rb.recall_id
                 WHERE rb.batch_id = b.id AND r.closed_at IS NULL) AS open_recall_id,
               (SELECT count(*) FROM recall_batch rb JOIN recall r ON r.id = rb.recall_id
                 WHERE rb.batch_id = b.id AND r.closed_at IS NOT NULL) AS closed_recalls
        FROM batch b
    )
    SELECT t.*, f.event_count AS row_count, f.last_seq AS row_seq,
           f.last_recorded_at AS row_recorded, f.open_recall_id AS row_open,
           f.closed_recalls AS row_closed
    FROM truth t LEFT JOIN batch_freshness f ON f.batch_id = t.batch_id
    WHERE (t.event_count, t.last_seq, t.last_recorded_at, t.open_recall_id, t.closed_recalls)
          IS DISTINCT FROM (coalesce(f.event_count, 0), f.last_seq, f.last_recorded_at,
                            f.open_recall_id, coalesce(f.closed_recalls, 0))
    """
)


@pytest.fixture
def postgresql(app: Flask) -> None:
    if db.engine_for(app).dialect.name != "postgresql":
        pytest.skip("the row is kept by PostgreSQL's triggers: this runs in CI's PostgreSQL pass")


def _wrong(session: Session, sql: str = "", **params: Any) -> list[Any]:
    """Run ``sql`` (a write), then list the batches whose row is not what the sources say."""
    if sql:
        session.execute(text(sql), params)
        session.commit()
    return list(session.execute(MISMATCHES))


def _row(session: Session, batch_id: int) -> Any:
    return session.execute(
        text("SELECT * FROM batch_freshness WHERE batch_id = :b"), {"b": batch_id}
    ).one_or_none()


@pytest.mark.usefixtures("postgresql")
def test_the_row_follows_events_recorded_by_the_service(session: Session, chain: Chain) -> None:
    row = _row(session, chain.batch.id)
    assert row is not None and row.event_count >= 2 and row.last_seq is not None
    assert _wrong(session) == []
    record(session, chain.batch.id, stage="transporting", time="2026-06-09T07:00:00+07:00",
           facility_id=chain.cold_store.id, quantity="1790")  # fmt: skip
    later = _row(session, chain.batch.id)
    assert later.event_count > row.event_count and later.last_seq > row.last_seq
    assert _wrong(session) == []


@pytest.mark.usefixtures("postgresql")
def test_the_row_follows_recalls_opened_closed_and_taken_back(
    session: Session, chain: Chain, recall: Callable[..., Recall]
) -> None:
    opened = recall(chain.batch, "Dư lượng thuốc bảo vệ thực vật vượt ngưỡng")
    assert _row(session, chain.batch.id).open_recall_id == opened.id
    assert _wrong(session) == []
    assert _wrong(session, "UPDATE recall SET closed_at = now() WHERE id = :r", r=opened.id) == []
    row = _row(session, chain.batch.id)
    assert row.open_recall_id is None and row.closed_recalls == 1
    assert _wrong(session, "DELETE FROM recall_batch WHERE recall_id = :r", r=opened.id) == []
    assert _row(session, chain.batch.id).closed_recalls == 0
    again = recall(chain.juice, "Bao bì hở")
    assert _wrong(session, "UPDATE recall_batch SET batch_id = :b WHERE recall_id = :r",
                  b=chain.batch.id, r=again.id) == []  # fmt: skip
    assert _row(session, chain.batch.id).open_recall_id == again.id
    assert _wrong(session, "TRUNCATE recall_batch") == []


# (what is done, SQL): a bulk load (one statement, rows for two batches), then edits behind the
# ledger's back; ``:l`` is the lot, ``:j`` the juice made from it.
DIRECT_WRITES = [
    (
        "bulk load",
        "INSERT INTO event_epc (event_pk, role, uri, batch_id, event_time) "
        "SELECT event_pk, role, uri || '-copy', CASE WHEN id % 2 = 0 THEN :j ELSE :l END, "
        "event_time FROM event_epc",
    ),
    (
        "record time edited",
        "UPDATE event SET record_time = record_time + interval '1 day' WHERE id = "
        "(SELECT min(event_pk) FROM event_epc WHERE batch_id = :l)",
    ),
    (
        "seq edited",
        "UPDATE event SET seq = seq + 1000 WHERE id = "
        "(SELECT max(event_pk) FROM event_epc WHERE batch_id = :j)",
    ),
    (
        "row moved",
        "UPDATE event_epc SET batch_id = :j WHERE id = "
        "(SELECT min(id) FROM event_epc WHERE batch_id = :l)",
    ),
    ("rows deleted", "DELETE FROM event_epc WHERE batch_id = :j"),
]


@pytest.mark.usefixtures("postgresql")
def test_the_row_follows_bulk_and_direct_writes_to_events(session: Session, chain: Chain) -> None:
    lot, juice = chain.batch.id, chain.juice.id
    for what, sql in DIRECT_WRITES:
        params = {name: value for name, value in (("l", lot), ("j", juice)) if f":{name}" in sql}
        assert _wrong(session, sql, **params) == [], what
    assert _row(session, juice).event_count == 0 and _row(session, juice).last_seq is None
    assert _row(session, lot).event_count > 0
    assert _wrong(session, "TRUNCATE event_epc CASCADE") == []
    assert _row(session, lot).event_count == 0


@pytest.mark.committed  # the migration runs on connections of its own
@pytest.mark.usefixtures("postgresql")
def test_the_migration_fills_the_row_for_data_that_was_there(app: Flask, chain: Chain) -> None:
    """Upgraded over existing data, the rows are made from the sources (0022's backfill)."""
    from trace import migrate

    engine = db.engine_for(app)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM batch_freshness"))
    migrate.downgrade(engine, "0021_page_lz4")
    migrate.upgrade(engine)
    with db.new_session(app) as session:
        assert _row(session, chain.batch.id) is not None
        assert _wrong(session) == []
