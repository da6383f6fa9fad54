"""A batch's freshness facts in one row, kept by triggers (PostgreSQL)

Revision ID: 0022_batch_freshness
Revises: 0021_page_lz4
Create Date: 2026-12-01 04:00:00.000000

A first view of a batch reads its freshness with its code: the batch's event count, latest
ledger seq and record time, its open recall and its closed recalls. Read from their sources,
those were an aggregate over the batch's ``event_epc`` rows and their events plus two recall
lookups: a third of the buffers the view's statement touched, and most of what it read from
disk on a large data set. Here they are kept in ``batch_freshness``, one row per batch, by
triggers in the transaction of the write that changes them, so the row is exact whenever it is
read:

- ``event_epc`` inserted: the new rows are added to their batches' counts and maxima (one
  statement-level trigger: a bulk load updates each batch once, in batch order, so two loads
  cannot deadlock);
- ``event_epc`` updated or deleted, an event's ``seq`` or ``record_time`` updated: the batches
  concerned are counted again from the sources (edits behind the ledger's back, rare);
- ``recall_batch`` written or deleted, a recall updated: the recall columns of the batches
  concerned are read again (a recall is deleted with its ``recall_batch`` rows, or after them);
- a truncation of ``event_epc`` or ``recall_batch`` clears the columns it feeds.

A batch with no row has no events and no recalls (a row is made by its first). The row's
absence is never taken for a missing batch: the page reads it with a left join. No foreign key:
a batch deleted (after its events and recalls) leaves a row of zeros that nothing reads.

SQLite keeps no such row (its pages read the sources: a pilot's data is small); the table
exists there, empty, so both databases have one schema.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trace.db

revision: str = "0022_batch_freshness"
down_revision: str | None = "0021_page_lz4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The batches' event facts counted again from the sources, for the ids in ``ids``.
RECOUNT_EVENTS = """
CREATE FUNCTION trace_fresh_events(ids integer[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO batch_freshness (batch_id, event_count, last_seq, last_recorded_at)
    SELECT b.id, count(e.id), max(e.seq), max(e.record_time)
    FROM (SELECT DISTINCT id FROM unnest(ids) AS u(id) WHERE id IS NOT NULL) b
    LEFT JOIN (event_epc ee JOIN event e ON e.id = ee.event_pk) ON ee.batch_id = b.id
    GROUP BY b.id
    ORDER BY b.id
    ON CONFLICT (batch_id) DO UPDATE SET event_count = excluded.event_count,
        last_seq = excluded.last_seq, last_recorded_at = excluded.last_recorded_at
$$;
"""

RECOUNT_RECALLS = """
CREATE FUNCTION trace_fresh_recalls(ids integer[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO batch_freshness (batch_id, open_recall_id, closed_recalls)
    SELECT b.id,
           (SELECT max(r.id) FROM recall_batch rb JOIN recall r ON r.id = rb.recall_id
             WHERE rb.batch_id = b.id AND r.closed_at IS NULL),
           (SELECT count(*) FROM recall_batch rb JOIN recall r ON r.id = rb.recall_id
             WHERE rb.batch_id = b.id AND r.closed_at IS NOT NULL)
    FROM (SELECT DISTINCT id FROM unnest(ids) AS u(id) WHERE id IS NOT NULL) b
    ORDER BY b.id
    ON CONFLICT (batch_id) DO UPDATE SET open_recall_id = excluded.open_recall_id,
        closed_recalls = excluded.closed_recalls
$$;
"""

# Inserted event_epc rows added to their batches: no recount of what was there.
ADD_EVENTS = """
    INSERT INTO batch_freshness AS f (batch_id, event_count, last_seq, last_recorded_at)
    SELECT n.batch_id, count(*), max(e.seq), max(e.record_time)
    FROM changed n JOIN event e ON e.id = n.event_pk
    WHERE n.batch_id IS NOT NULL
    GROUP BY n.batch_id
    ORDER BY n.batch_id
    ON CONFLICT (batch_id) DO UPDATE SET event_count = f.event_count + excluded.event_count,
        last_seq = greatest(f.last_seq, excluded.last_seq),
        last_recorded_at = greatest(f.last_recorded_at, excluded.last_recorded_at);"""


def _recount(facts: str, batch_ids: str) -> str:
    """Count ``facts`` (``events`` or ``recalls``) again for the batches ``batch_ids`` selects."""
    return f"PERFORM trace_fresh_{facts}(ARRAY({batch_ids}));"


_OLD_AND_NEW = "SELECT batch_id FROM replaced UNION SELECT batch_id FROM changed"

# (table, event, body): one statement-level trigger each, ``trace_fresh_<table>_<event>``, its
# function of the same name, over the transition tables of its event (:data:`TRANSITIONS`).
TRIGGERS = [
    ("event_epc", "INSERT", ADD_EVENTS),
    ("event_epc", "UPDATE", _recount("events", _OLD_AND_NEW)),
    ("event_epc", "DELETE", _recount("events", "SELECT batch_id FROM replaced")),
    (
        "event",
        "UPDATE",
        _recount(
            "events",
            "SELECT ee.batch_id FROM event_epc ee JOIN changed c ON c.id = ee.event_pk "
            "JOIN replaced o ON o.id = c.id WHERE c.seq IS DISTINCT FROM o.seq "
            "OR c.record_time IS DISTINCT FROM o.record_time",
        ),
    ),
    ("event_epc", "TRUNCATE",
     "UPDATE batch_freshness SET event_count = 0, last_seq = NULL, last_recorded_at = NULL;"),
    ("recall_batch", "INSERT", _recount("recalls", "SELECT batch_id FROM changed")),
    ("recall_batch", "UPDATE", _recount("recalls", _OLD_AND_NEW)),
    ("recall_batch", "DELETE", _recount("recalls", "SELECT batch_id FROM replaced")),
    ("recall_batch", "TRUNCATE",
     "UPDATE batch_freshness SET open_recall_id = NULL, closed_recalls = 0;"),
    (
        "recall",
        "UPDATE",
        _recount(
            "recalls",
            "SELECT rb.batch_id FROM recall_batch rb JOIN changed c ON c.id = rb.recall_id",
        ),
    ),
]  # fmt: skip
TRANSITIONS = {
    "INSERT": "REFERENCING NEW TABLE AS changed ",
    "UPDATE": "REFERENCING OLD TABLE AS replaced NEW TABLE AS changed ",
    "DELETE": "REFERENCING OLD TABLE AS replaced ",
    "TRUNCATE": "",
}


def _name(table: str, event: str) -> str:
    return f"trace_fresh_{table}_{event.lower()}"


BACKFILL = """
SELECT trace_fresh_events(ARRAY(SELECT DISTINCT batch_id FROM event_epc));
SELECT trace_fresh_recalls(ARRAY(SELECT DISTINCT batch_id FROM recall_batch));
"""


def upgrade() -> None:
    op.create_table(
        "batch_freshness",
        sa.Column("batch_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=True),
        sa.Column("last_recorded_at", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("open_recall_id", sa.Integer(), nullable=True),
        sa.Column("closed_recalls", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_batch_freshness")),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(RECOUNT_EVENTS)
    op.execute(RECOUNT_RECALLS)
    for table, event, body in TRIGGERS:
        name = _name(table, event)
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n    {body}\n    RETURN NULL;\nEND $$;"
        )
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} {TRANSITIONS[event]}"
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    op.execute(BACKFILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, event, _body in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {_name(table, event)} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {_name(table, event)}()")
        op.execute("DROP FUNCTION IF EXISTS trace_fresh_events(integer[])")
        op.execute("DROP FUNCTION IF EXISTS trace_fresh_recalls(integer[])")
    op.drop_table("batch_freshness")
