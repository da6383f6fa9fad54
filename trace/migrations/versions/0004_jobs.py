"""Background jobs: the job table any node's worker claims work from

Revision ID: 0004_jobs
Revises: 0003_change_notify
Create Date: 2026-11-30 11:21:28.203435
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import trace.db

revision: str = "0004_jobs"
down_revision: str | None = "0003_change_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                name="job_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("subject_type", sa.String(length=40), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sa.String(length=120), nullable=True),
        sa.Column("lease_until", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        sa.Column("result_file", sa.String(length=200), nullable=True),
        sa.Column("result_size", sa.Integer(), nullable=True),
        sa.Column("result_type", sa.String(length=100), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by_token_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_token_id"],
            ["api_token.id"],
            name=op.f("fk_job_created_by_token_id_api_token"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index("ix_job_status_run_after", ["status", "run_after"], unique=False)
        batch_op.create_index("ix_job_subject", ["subject_type", "subject_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_subject")
        batch_op.drop_index("ix_job_status_run_after")

    op.drop_table("job")
