"""stored public pages and the ledger verifier's batch checks

Revision ID: 0007_page_store
Revises: 0006_accounts
Create Date: 2026-11-30 14:27:06.377827

``stored_page``: public pages rendered once for every worker and node, keyed by the batch's
freshness token (trace.codeview.store); valid while no organisation, facility or product was
edited after they were made (hence the ``updated_at`` indexes: the latest edit is read with every
stored page). ``batch_check``: the ledger verifier's last result per batch
(trace.codeview.ledgercheck). Neither sends a notification: they change what is stored, not
what a page shows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trace.db

revision: str = "0007_page_store"
down_revision: str | None = "0006_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batch_check",
        sa.Column("batch_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("checked_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("problem", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_batch_check")),
    )
    with op.batch_alter_table("batch_check", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batch_check_checked_at"), ["checked_at"], unique=False)

    op.create_table(
        "stored_page",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("made_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_stored_page")),
    )
    with op.batch_alter_table("stored_page", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stored_page_batch_id"), ["batch_id"], unique=False)

    for table in ("organization", "facility", "product"):
        op.create_index(f"ix_{table}_updated_at", table, ["updated_at"], unique=False)


def downgrade() -> None:
    for table in ("organization", "facility", "product"):
        op.drop_index(f"ix_{table}_updated_at", table_name=table)

    with op.batch_alter_table("stored_page", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stored_page_batch_id"))

    op.drop_table("stored_page")
    with op.batch_alter_table("batch_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_check_checked_at"))

    op.drop_table("batch_check")
