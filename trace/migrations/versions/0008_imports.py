"""Spreadsheet imports: the import record, and audit entries pointing to it

Revision ID: 0008_imports
Revises: 0007_page_store
Create Date: 2026-11-30 14:26:16.396628
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import trace.db

revision: str = "0008_imports"
down_revision: str | None = "0007_page_store"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "done",
                "failed",
                name="import_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_by_token_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("province_code", sa.String(length=2), nullable=True),
        sa.Column("created_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column(
            "counts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "errors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_token_id"],
            ["api_token.id"],
            name=op.f("fk_data_import_created_by_token_id_api_token"),
        ),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_data_import_job_id_job")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_data_import_organization_id_organization"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_import")),
    )
    with op.batch_alter_table("data_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_import_sha256"), ["sha256"], unique=False)

    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_entry_import_id"), ["import_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_audit_entry_import_id_data_import"), "data_import", ["import_id"], ["id"]
        )

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_audit_entry_import_id_data_import"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_audit_entry_import_id"))
        batch_op.drop_column("import_id")

    with op.batch_alter_table("data_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_import_sha256"))

    op.drop_table("data_import")
    # ### end Alembic commands ###
