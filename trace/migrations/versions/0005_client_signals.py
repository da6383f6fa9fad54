"""client signals: copy warning clears, distinct clients of a code

Revision ID: 0005_client_signals
Revises: 0003_change_notify
Create Date: 2026-11-30 11:23:00.497367

A unit code's copy warning can be cleared (when, why; the audit log says who), and the scans of a
code are indexed by client, so its distinct clients are counted without reading repeat scans.
On PostgreSQL, an update of ``code`` already notifies the public pages (0003_change_notify).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trace.db

revision: str = "0005_client_signals"
down_revision: str | None = "0003_change_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("code", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("copy_warning_cleared_at", trace.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("copy_warning_clear_reason", sa.String(length=500), nullable=True)
        )

    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.create_index("ix_scan_code_client", ["code_id", "client_hash", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.drop_index("ix_scan_code_client")

    with op.batch_alter_table("code", schema=None) as batch_op:
        batch_op.drop_column("copy_warning_clear_reason")
        batch_op.drop_column("copy_warning_cleared_at")
