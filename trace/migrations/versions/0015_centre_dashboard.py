"""the province dashboard's rollups and flagged codes; report assignment

Revision ID: 0015_centre_dashboard
Revises: 0014_recall_instruction
Create Date: 2026-11-30 17:49:37.861159
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import trace.db

revision: str = "0015_centre_dashboard"
down_revision: str | None = "0014_recall_instruction"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flagged_code",
        sa.Column("code_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("as_of", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("scans", sa.Integer(), nullable=False),
        sa.Column("clients", sa.Integer(), nullable=False),
        sa.Column("first_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "provinces",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("code_id", name=op.f("pk_flagged_code")),
    )
    with op.batch_alter_table("flagged_code", schema=None) as batch_op:
        batch_op.create_index(
            "ix_flagged_code_province_clients", ["province_code", "clients"], unique=False
        )

    op.create_table(
        "province_figures",
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("as_of", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("producers", sa.Integer(), nullable=False),
        sa.Column("cooperatives", sa.Integer(), nullable=False),
        sa.Column("products", sa.Integer(), nullable=False),
        sa.Column("active_batches", sa.Integer(), nullable=False),
        sa.Column("recalled_batches", sa.Integer(), nullable=False),
        sa.Column("events_week", sa.Integer(), nullable=False),
        sa.Column("scans_30d", sa.Integer(), nullable=False),
        sa.Column("open_reports", sa.Integer(), nullable=False),
        sa.Column("flagged_codes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("province_code", name=op.f("pk_province_figures")),
    )
    op.create_table(
        "province_scan_day",
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("scans", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("province_code", "day", name=op.f("pk_province_scan_day")),
    )
    op.create_table(
        "province_scan_place",
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("place_code", sa.String(length=2), nullable=False),
        sa.Column("scans", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("province_code", "place_code", name=op.f("pk_province_scan_place")),
    )
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("assigned_at", trace.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("resolved_by_user_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_report_status_id", ["status", "id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_report_resolved_by_user_id_user_account"),
            "user_account",
            ["resolved_by_user_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_report_assignee_id_user_account"),
            "user_account",
            ["assignee_id"],
            ["id"],
        )

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_report_assignee_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_report_resolved_by_user_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_index("ix_report_status_id")
        batch_op.drop_column("resolved_by_user_id")
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("assignee_id")

    op.drop_table("province_scan_place")
    op.drop_table("province_scan_day")
    op.drop_table("province_figures")
    with op.batch_alter_table("flagged_code", schema=None) as batch_op:
        batch_op.drop_index("ix_flagged_code_province_clients")

    op.drop_table("flagged_code")
    # ### end Alembic commands ###
