"""Triggers that keep every page's caches true when what it shows is edited behind the services'
back: certificates, product images, plots, registry rows whose ``updated_at`` was left alone

Revision ID: 0020_page_change_triggers
Revises: 0019_sqlite_change_seq
Create Date: 2026-11-30 21:10:00.000000

A page is kept true by three things: its freshness token (the batch, product and producer
``updated_at``, among others), the guard of the stored pages (made after the latest
organisation, facility or product ``updated_at``) and the change notices (``0003_change_notify``
on PostgreSQL, ``0019_sqlite_change_seq`` on SQLite). All three read rows the services stamp;
these triggers do the same stamping for any writer, so a change made by direct SQL reaches them:

- an UPDATE of an organisation, facility or product that left ``updated_at`` unchanged sets it;
- a certificate written or deleted stamps its holder (organisation, product or batch), as the
  certificate service does; a product image its product; a plot its facility. The holder's
  own triggers then notify (PostgreSQL) or move the counter (SQLite).
- a batch's lot code, product, producer or farm changed stamps the batches made from it, as far
  as their pages show their inputs (``lookup.ORIGIN_DEPTH`` steps); a link between batches
  written or deleted stamps its output and the batches made from that. Their tokens change, so
  their stored pages and cached parts are not used again, and the stamp notifies them by id.
- PostgreSQL: a truncation of those tables notifies every page (``*``).

Batches are stamped, not notified as ``*``: the pages of other batches stay cached. SQLite's
triggers cannot hold a recursive query, so there the levels are spelled out; PostgreSQL walks
them with one recursive query per statement (a bulk load of links stamps each batch once).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020_page_change_triggers"
down_revision: str | None = "0019_sqlite_change_seq"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMPED = ["organization", "facility", "product"]
# (table, holder columns -> holder tables): whose updated_at a row's change stamps
HOLDERS = {
    "certificate": {
        "organization_id": "organization",
        "product_id": "product",
        "batch_id": "batch",
    },
    "product_image": {"product_id": "product"},
    "plot": {"facility_id": "facility"},
}
SHOWN_DOWNSTREAM = ["lot_code", "product_id", "producer_id", "origin_facility_id"]
ORIGIN_DEPTH = 6  # trace.services.lookup.ORIGIN_DEPTH when this was written

PG_NOW = "clock_timestamp()"
# SQLAlchemy's SQLite datetime text (UTC, six decimals), which compares as text
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f000', 'now')"


def _downstream(batch: str) -> str:
    """The ids of the batches made from ``batch`` (an SQL expression), up to ORIGIN_DEPTH steps."""
    level = f"SELECT output_batch_id FROM batch_link WHERE input_batch_id = {batch}"
    levels = [level]
    for _ in range(ORIGIN_DEPTH - 1):
        level = f"SELECT output_batch_id FROM batch_link WHERE input_batch_id IN ({level})"
        levels.append(level)
    return " UNION ".join(levels)


def _stamp_downstream(batch: str, now: str, itself: bool) -> str:
    """Stamp the batches made from ``batch`` (and ``batch`` itself when ``itself``)."""
    own = f"id = {batch} OR " if itself else ""
    return f"UPDATE batch SET updated_at = {now} WHERE {own}id IN ({_downstream(batch)})"


def _pg_upgrade() -> None:
    op.execute(
        f"""
CREATE FUNCTION trace_stamp_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := {PG_NOW};
    END IF;
    RETURN NEW;
END $$;
"""
    )
    for table in STAMPED:
        op.execute(
            f"CREATE TRIGGER trace_stamp_{table} BEFORE UPDATE ON {table} FOR EACH ROW "
            "EXECUTE FUNCTION trace_stamp_updated()"
        )
    for table, holders in HOLDERS.items():
        touches = []
        for row in ("OLD", "NEW"):
            skip = "DELETE" if row == "NEW" else "INSERT"
            for column, holder in holders.items():
                touches.append(
                    f"    IF TG_OP <> '{skip}' AND {row}.{column} IS NOT NULL THEN\n"
                    f"        UPDATE {holder} SET updated_at = {PG_NOW} "
                    f"WHERE id = {row}.{column};\n    END IF;"
                )
        body = "\n".join(touches)
        op.execute(
            f"""
CREATE FUNCTION trace_touch_{table}_holder() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{body}
    RETURN NULL;
END $$;
"""
        )
        op.execute(
            f"CREATE TRIGGER trace_touch_{table}_holder AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION trace_touch_{table}_holder()"
        )
        op.execute(
            f"CREATE TRIGGER trace_notify_{table}_any AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION trace_notify_all()"
        )
    op.execute(
        f"""
CREATE FUNCTION trace_stamp_batch_downstream() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_stamp_downstream("NEW.id", PG_NOW, itself=False)};
    RETURN NULL;
END $$;
"""
    )
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in SHOWN_DOWNSTREAM)
    op.execute(
        "CREATE TRIGGER trace_stamp_batch_downstream AFTER UPDATE ON batch FOR EACH ROW "
        f"WHEN ({changed}) EXECUTE FUNCTION trace_stamp_batch_downstream()"
    )
    # Statement triggers for links: a bulk load inserts them by the hundred thousand, and each
    # batch is stamped once per statement, not once per link that reaches it.
    for name, sources in (("", ["changed"]), ("_update", ["changed", "replaced"])):
        start = " UNION ".join(f"SELECT output_batch_id, 0 FROM {t}" for t in sources)
        op.execute(
            f"""
CREATE FUNCTION trace_stamp_links{name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE batch SET updated_at = {PG_NOW} WHERE id IN (
        WITH RECURSIVE down(id, depth) AS (
            {start}
            UNION
            SELECT l.output_batch_id, d.depth + 1 FROM batch_link l
            JOIN down d ON l.input_batch_id = d.id WHERE d.depth < {ORIGIN_DEPTH}
        )
        SELECT id FROM down
    );
    RETURN NULL;
END $$;
"""
        )
    for event, tables, function in (
        ("INSERT", "NEW TABLE AS changed", "trace_stamp_links"),
        ("DELETE", "OLD TABLE AS changed", "trace_stamp_links"),
        ("UPDATE", "OLD TABLE AS replaced NEW TABLE AS changed", "trace_stamp_links_update"),
    ):
        op.execute(
            f"CREATE TRIGGER trace_stamp_links_{event.lower()} AFTER {event} ON batch_link "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def _sqlite_upgrade() -> None:
    for table in STAMPED:
        op.execute(
            f"CREATE TRIGGER trace_stamp_{table} AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN NEW.updated_at IS OLD.updated_at BEGIN "
            f"UPDATE {table} SET updated_at = {SQLITE_NOW} WHERE id = NEW.id; END"
        )
    for table, holders in HOLDERS.items():
        for event in ("INSERT", "UPDATE", "DELETE"):
            rows = {"INSERT": ["NEW"], "UPDATE": ["OLD", "NEW"], "DELETE": ["OLD"]}[event]
            touches = " ".join(
                f"UPDATE {holder} SET updated_at = {SQLITE_NOW} WHERE id = {row}.{column};"
                for row in rows
                for column, holder in holders.items()
            )
            op.execute(
                f"CREATE TRIGGER trace_touch_{table}_{event.lower()} AFTER {event} ON {table} "
                f"FOR EACH ROW BEGIN {touches} END"
            )
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in SHOWN_DOWNSTREAM)
    op.execute(
        "CREATE TRIGGER trace_stamp_batch_downstream AFTER UPDATE ON batch FOR EACH ROW "
        f"WHEN {changed} BEGIN {_stamp_downstream('NEW.id', SQLITE_NOW, itself=False)}; END"
    )
    for event in ("INSERT", "UPDATE", "DELETE"):
        rows = {"INSERT": ["NEW"], "UPDATE": ["OLD", "NEW"], "DELETE": ["OLD"]}[event]
        stamps = " ".join(
            _stamp_downstream(f"{row}.output_batch_id", SQLITE_NOW, itself=True) + ";"
            for row in rows
        )
        op.execute(
            f"CREATE TRIGGER trace_stamp_link_{event.lower()} AFTER {event} ON batch_link "
            f"FOR EACH ROW BEGIN {stamps} END"
        )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _pg_upgrade()
    elif dialect == "sqlite":
        _sqlite_upgrade()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS trace_stamp_links_{event} ON batch_link")
        op.execute("DROP TRIGGER IF EXISTS trace_stamp_batch_downstream ON batch")
        op.execute("DROP FUNCTION IF EXISTS trace_stamp_links()")
        op.execute("DROP FUNCTION IF EXISTS trace_stamp_links_update()")
        op.execute("DROP FUNCTION IF EXISTS trace_stamp_batch_downstream()")
        for table in HOLDERS:
            op.execute(f"DROP TRIGGER IF EXISTS trace_notify_{table}_any ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS trace_touch_{table}_holder ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS trace_touch_{table}_holder()")
        for table in STAMPED:
            op.execute(f"DROP TRIGGER IF EXISTS trace_stamp_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS trace_stamp_updated()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS trace_stamp_batch_downstream")
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trace_stamp_link_{event}")
        for table in HOLDERS:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS trace_touch_{table}_{event}")
        for table in STAMPED:
            op.execute(f"DROP TRIGGER IF EXISTS trace_stamp_{table}")
