"""PostgreSQL: notify the public pages' caches of every change to what a page shows

Revision ID: 0003_change_notify
Revises: 0002_events_labels
Create Date: 2026-11-28 10:40:00

Statement-level triggers send ``NOTIFY trace_changed`` with the ids of the batches whose page
changed (comma-separated), or ``*`` when the change may touch any page (a product, producer or
facility edit, an event altered or deleted, a truncation, too many batches for one payload).
Every process serving public pages listens (:mod:`trace.codeview.changes`) and drops what it cached
for those batches. Being triggers, they also catch edits made behind the service's back.

SQLite has no NOTIFY: there the pages read their freshness on every view, and this migration
does nothing.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_change_notify"
down_revision: str | None = "0002_events_labels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "trace_changed"
MAX_PAYLOAD = 7000  # NOTIFY payloads must stay under 8,000 bytes


def _statement_function(column: str) -> str:
    """For UPDATE and DELETE statements, which may touch many rows (a print run's codes): once
    per statement, every batch id of the transition table "changed". Static SQL, so it is
    planned once per session, not on every firing."""
    return f"""
CREATE FUNCTION trace_notify_{column}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids text;
BEGIN
    SELECT string_agg(DISTINCT {column}::text, ',') INTO ids FROM changed;
    IF ids IS NOT NULL THEN
        PERFORM pg_notify('{CHANNEL}', CASE WHEN length(ids) > {MAX_PAYLOAD} THEN '*' ELSE ids END);
    END IF;
    RETURN NULL;
END $$;
"""


def _row_function(column: str) -> str:
    """For INSERTs: capture and issuance insert with executemany, where each row is a statement
    of its own, so a row trigger costs least (a statement trigger would build a transition table
    per row). pg_notify drops a payload already sent in the same transaction."""
    return f"""
CREATE FUNCTION trace_notify_row_{column}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', NEW.{column}::text);
    RETURN NULL;
END $$;
"""


NOTIFY_ALL = f"""
CREATE FUNCTION trace_notify_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '*');
    RETURN NULL;
END $$;
"""

# (table, event, batch id column): the batches named in the payload
BATCH_TRIGGERS = [
    ("event_epc", "INSERT", "batch_id"),
    ("batch", "UPDATE", "id"),
    ("code", "INSERT", "batch_id"),
    ("code", "UPDATE", "batch_id"),
    ("code", "DELETE", "batch_id"),
    ("recall_batch", "INSERT", "batch_id"),
    ("recall_batch", "UPDATE", "batch_id"),
    ("recall_batch", "DELETE", "batch_id"),
    ("batch_link", "INSERT", "output_batch_id"),
]
# Inserts that change no page need no notification: a new unit code has no page yet (only a
# lot's page shows a code, its batch-level one), and print runs insert tens of thousands.
INSERT_CONDITIONS = {"code": "NEW.kind = 'batch'"}
# (table, events): any page may have changed
ALL_TRIGGERS = [
    ("event", "UPDATE OR DELETE OR TRUNCATE"),
    ("event_epc", "UPDATE OR DELETE OR TRUNCATE"),
    ("batch", "DELETE OR TRUNCATE"),
    ("batch_link", "UPDATE OR DELETE OR TRUNCATE"),
    ("code", "TRUNCATE"),
    ("recall", "UPDATE OR DELETE OR TRUNCATE"),
    ("recall_batch", "TRUNCATE"),
    ("product", "UPDATE OR DELETE OR TRUNCATE"),
    ("organization", "UPDATE OR DELETE OR TRUNCATE"),
    ("facility", "UPDATE OR DELETE OR TRUNCATE"),
]


def _functions() -> list[tuple[str, str]]:
    """(name prefix, column) of the functions the triggers call: ``row_`` for INSERTs."""
    return sorted(
        {("row_" if event == "INSERT" else "", column) for _table, event, column in BATCH_TRIGGERS}
    )


def _batch_name(table: str, event: str) -> str:
    return f"trace_notify_{table}_{event.lower()}"


def _all_name(table: str) -> str:
    return f"trace_notify_{table}_any"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for prefix, column in _functions():
        op.execute((_row_function if prefix == "row_" else _statement_function)(column))
    op.execute(NOTIFY_ALL)
    for table, event, column in BATCH_TRIGGERS:
        name = _batch_name(table, event)
        if event == "INSERT":
            condition = " AND ".join(
                [f"NEW.{column} IS NOT NULL", *filter(None, [INSERT_CONDITIONS.get(table)])]
            )
            op.execute(
                f"CREATE TRIGGER {name} AFTER INSERT ON {table} FOR EACH ROW "
                f"WHEN ({condition}) EXECUTE FUNCTION trace_notify_row_{column}()"
            )
        else:
            transition = "OLD" if event == "DELETE" else "NEW"
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                f"REFERENCING {transition} TABLE AS changed FOR EACH STATEMENT "
                f"EXECUTE FUNCTION trace_notify_{column}()"
            )
    for table, events in ALL_TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {_all_name(table)} AFTER {events} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION trace_notify_all()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, event, _column in BATCH_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {_batch_name(table, event)} ON {table}")
    for table, _events in ALL_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {_all_name(table)} ON {table}")
    for prefix, column in _functions():
        op.execute(f"DROP FUNCTION IF EXISTS trace_notify_{prefix}{column}()")
    op.execute("DROP FUNCTION IF EXISTS trace_notify_all()")
