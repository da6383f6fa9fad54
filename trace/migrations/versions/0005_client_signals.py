"""client signals: copy warning clears, distinct clients of a code

Revision ID: 0005_client_signals
Revises: 0004_jobs
Create Date: 2026-11-30 11:36:37.171461

A unit code's copy warning can be cleared (when, why; the audit log says who); ``scan_client``
holds each code's distinct clients (a client hash is one client on one day) with their first
scan, filled from the scans so far. On PostgreSQL, an update of ``code`` already notifies the
public pages (0003_change_notify); ``scan_client`` changes no page, so it notifies nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trace.db

revision: str = "0005_client_signals"
down_revision: str | None = "0004_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scan_client",
        sa.Column("code_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("client_hash", sa.String(length=64), nullable=False),
        sa.Column("first_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code_id", "client_hash", name=op.f("pk_scan_client")),
    )
    with op.batch_alter_table("scan_client", schema=None) as batch_op:
        batch_op.create_index("ix_scan_client_code_first", ["code_id", "first_at"], unique=False)

    with op.batch_alter_table("code", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("copy_warning_cleared_at", trace.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("copy_warning_clear_reason", sa.String(length=500), nullable=True)
        )
    op.execute(
        "INSERT INTO scan_client (code_id, client_hash, first_at) "
        "SELECT code_id, client_hash, min(at) FROM scan WHERE code_id IS NOT NULL "
        "GROUP BY code_id, client_hash"
    )


def downgrade() -> None:
    with op.batch_alter_table("code", schema=None) as batch_op:
        batch_op.drop_column("copy_warning_clear_reason")
        batch_op.drop_column("copy_warning_cleared_at")

    with op.batch_alter_table("scan_client", schema=None) as batch_op:
        batch_op.drop_index("ix_scan_client_code_first")

    op.drop_table("scan_client")
