"""the ledger verifier's walk over the whole event table, one row per chunk of event ids

Revision ID: 0018_chunk_check
Revises: 0017_check_digest
Create Date: 2026-11-30 19:05:00.000000

``event_chunk_check``: per chunk of event ids, the digest of its event, ``event_epc`` and
``batch_link`` rows when the verifier last re-derived them from the documents, and the batches
whose checks fail because of what it found (trace.codeview.chunkcheck): a batch's own check
cannot see an index row deleted or moved away from it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trace.db

revision: str = "0018_chunk_check"
down_revision: str | None = "0017_check_digest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_chunk_check",
        sa.Column("chunk", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("checked_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("batches", sa.Text(), nullable=False),
        sa.Column("problem", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("chunk", name=op.f("pk_event_chunk_check")),
    )


def downgrade() -> None:
    op.drop_table("event_chunk_check")
