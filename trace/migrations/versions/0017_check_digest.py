"""the verifier's digest of what it checked, per batch; a covering index for freshness

Revision ID: 0017_check_digest
Revises: 0016_product_images
Create Date: 2026-11-30 17:35:00.000000

``batch_check.digest``: a SHA-256, computed by PostgreSQL, of the rows a full check of the batch
read (its events, their predecessors' chain hashes, their index rows and the lots these name;
trace.codeview.ledgercheck). A later pass that finds the same digest knows the rows are those it
checked and records the check again without re-hashing them; a restart does not redo them.

``ix_event_freshness``: the page view's freshness (its batch's event count, latest seq and
record time) from the index alone on PostgreSQL (``INCLUDE``), not from the event rows, whose
documents make them large: a first view of a batch read its ten event rows from disk.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_check_digest"
down_revision: str | None = "0016_product_images"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("batch_check", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_event_freshness", "event", ["id"], postgresql_include=["seq", "record_time"]
    )


def downgrade() -> None:
    op.drop_index("ix_event_freshness", table_name="event")
    with op.batch_alter_table("batch_check", schema=None) as batch_op:
        batch_op.drop_column("digest")
