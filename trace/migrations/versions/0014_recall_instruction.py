"""What consumers must do about a recall (Vietnamese and English); the folded lot code indexed
for the console's search box

Revision ID: 0014_recall_instruction
Revises: 0013_import_preview
Create Date: 2026-11-30 17:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_recall_instruction"
down_revision: str | None = "0013_import_preview"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recall", schema=None) as batch_op:
        batch_op.add_column(sa.Column("instruction_vi", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("instruction_en", sa.String(length=1000), nullable=True))
    op.create_index("ix_batch_search_text", "batch", ["search_text"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_batch_search_text", table_name="batch")
    with op.batch_alter_table("recall", schema=None) as batch_op:
        batch_op.drop_column("instruction_en")
        batch_op.drop_column("instruction_vi")
