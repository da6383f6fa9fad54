"""The national portal outbox: one record per organisation, product and batch to send

Revision ID: 0011_portal_outbox
Revises: 0010_passport
Create Date: 2026-11-30 14:26:40.112334
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import trace.db

revision: str = "0011_portal_outbox"
down_revision: str | None = "0010_passport"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "organization",
                "product",
                "batch",
                name="portal_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sent",
                "accepted",
                "rejected",
                "retrying",
                "failed",
                name="portal_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("portal_message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sa.String(length=120), nullable=True),
        sa.Column("lease_until", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_version", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("sent_at", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("portal_id", sa.String(length=100), nullable=True),
        sa.Column("national_code", sa.String(length=100), nullable=True),
        sa.Column("accepted_version", sa.Integer(), nullable=True),
        sa.Column("accepted_at", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.Column("last_repeat_at", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("changed_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_portal_record_organization_id_organization"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_record")),
        sa.UniqueConstraint("kind", "entity_id", name="uq_portal_record_entity"),
    )
    with op.batch_alter_table("portal_record", schema=None) as batch_op:
        batch_op.create_index("ix_portal_record_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_portal_record_organization", ["organization_id"], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("portal_record", schema=None) as batch_op:
        batch_op.drop_index("ix_portal_record_organization")
        batch_op.drop_index("ix_portal_record_due")

    op.drop_table("portal_record")
    # ### end Alembic commands ###
