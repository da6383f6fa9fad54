"""An import record may be a preview run as a job (a large file's ``?dry_run=true``)

Revision ID: 0013_import_preview
Revises: 0012_audit_keyset
Create Date: 2026-11-30 17:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_import_preview"
down_revision: str | None = "0012_audit_keyset"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("data_import", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dry_run", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("data_import", schema=None) as batch_op:
        batch_op.drop_column("dry_run")
