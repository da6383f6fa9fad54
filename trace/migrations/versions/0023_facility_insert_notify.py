"""A facility registered tells every worker that any page may have changed

Revision ID: 0023_facility_insert_notify
Revises: 0022_batch_freshness
Create Date: 2026-12-01 04:00:00.000000

A page names the place of each stage by the GLN (or facility id) its event gives, looked up in
the registry when the page is made. A facility registered under a GLN that earlier events
already name therefore changes those pages, though none of their rows moved. Edits and deletions
of facilities told every worker (``*`` on PostgreSQL, ``0003_change_notify``; the change counter
on SQLite, ``0019_sqlite_change_seq``); an INSERT did not, so a worker kept serving what it had
remembered, and the latest registry edit it keeps for the stored pages' guard, for up to
``PUBLIC_CACHE_SECONDS``. Now an INSERT does the same as an edit. Organisations and products
need none: pages reach them only through rows that already exist.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023_facility_insert_notify"
down_revision: str | None = "0022_batch_freshness"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_TRIGGER = "trace_notify_facility_insert"
SQLITE_TRIGGER = "trace_change_facility_insert"  # named as 0019's triggers
BUMP = (  # 0019's statement
    "INSERT INTO public_change (id, seq) VALUES (1, random()) "
    "ON CONFLICT (id) DO UPDATE SET seq = seq + 1"
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            f"CREATE TRIGGER {PG_TRIGGER} AFTER INSERT ON facility "
            "FOR EACH STATEMENT EXECUTE FUNCTION trace_notify_all()"
        )
    elif dialect == "sqlite":
        op.execute(
            f"CREATE TRIGGER {SQLITE_TRIGGER} AFTER INSERT ON facility FOR EACH ROW "
            f"BEGIN {BUMP}; END"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {PG_TRIGGER} ON facility")
    elif dialect == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {SQLITE_TRIGGER}")
