"""SQLite: a change counter kept true by triggers, so every worker sees a write at its next view

Revision ID: 0019_sqlite_change_seq
Revises: 0018_chunk_check
Create Date: 2026-11-30 21:00:00.000000

SQLite has no NOTIFY (migration ``0003_change_notify`` does nothing there). Workers that share
one SQLite file learn of each other's writes from ``public_change``: row triggers on the tables
``0003_change_notify`` watches on PostgreSQL change its one row's ``seq`` in the same transaction
as the write, so a change is visible exactly when the write is (:mod:`trace.codeview.changes`).
Scans and the verifier's tables have no trigger: they change no page's data. The table exists
on PostgreSQL too (the models are one schema), without triggers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_sqlite_change_seq"
down_revision: str | None = "0018_chunk_check"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A deleted row comes back at a random value, which no worker can have seen before.
BUMP = (
    "INSERT INTO public_change (id, seq) VALUES (1, random()) "
    "ON CONFLICT (id) DO UPDATE SET seq = seq + 1"
)

# (table, events): the same tables as PostgreSQL's change triggers (0003_change_notify)
TRIGGERS = [
    ("event", ("UPDATE", "DELETE")),
    ("event_epc", ("INSERT", "UPDATE", "DELETE")),
    ("batch", ("UPDATE", "DELETE")),
    ("batch_link", ("INSERT", "UPDATE", "DELETE")),
    ("code", ("INSERT", "UPDATE", "DELETE")),
    ("recall", ("UPDATE", "DELETE")),
    ("recall_batch", ("INSERT", "UPDATE", "DELETE")),
    ("product", ("UPDATE", "DELETE")),
    ("organization", ("UPDATE", "DELETE")),
    ("facility", ("UPDATE", "DELETE")),
]
# A new unit code has no page yet (a lot's page shows only its batch-level code); print runs
# insert tens of thousands.
CONDITIONS = {("code", "INSERT"): "NEW.kind = 'batch'"}


def _name(table: str, event: str) -> str:
    return f"trace_change_{table}_{event.lower()}"


def upgrade() -> None:
    op.create_table(
        "public_change",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_change")),
    )
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("INSERT INTO public_change (id, seq) VALUES (1, random())")
    for table, events in TRIGGERS:
        for event in events:
            condition = CONDITIONS.get((table, event))
            when = f" WHEN {condition}" if condition else ""
            op.execute(
                f"CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table} FOR EACH ROW"
                f"{when} BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, events in TRIGGERS:
            for event in events:
                op.execute(f"DROP TRIGGER IF EXISTS {_name(table, event)}")
    op.drop_table("public_change")
