"""events and ledger, codes and print runs, scans and reports, recalls and checkpoints

Revision ID: 0002_events_labels
Revises: 0001_registry
Create Date: 2026-11-28 09:31:37.805583
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import trace.db

revision: str = "0002_events_labels"
down_revision: str | None = "0001_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.Column("at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_checkpoint")),
    )
    with op.batch_alter_table("ledger_checkpoint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_checkpoint_seq"), ["seq"], unique=False)

    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_head")),
    )
    op.create_table(
        "scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("client_hash", sa.String(length=64), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=True),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan")),
    )
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.create_index("ix_scan_batch_at", ["batch_id", "at"], unique=False)
        batch_op.create_index("ix_scan_code_at", ["code_id", "at"], unique=False)

    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("hash_id", sa.String(length=120), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=True),
        sa.Column("event_time", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event_time_zone_offset", sa.String(length=6), nullable=False),
        sa.Column("record_time", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("biz_step", sa.String(length=200), nullable=True),
        sa.Column("disposition", sa.String(length=200), nullable=True),
        sa.Column("read_point", sa.String(length=300), nullable=True),
        sa.Column("biz_location", sa.String(length=300), nullable=True),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "namespaces",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("declares_error", sa.Boolean(), nullable=False),
        sa.Column("captured_by_token_id", sa.Integer(), nullable=True),
        sa.Column("captured_by_organization_id", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["captured_by_organization_id"],
            ["organization.id"],
            name=op.f("fk_event_captured_by_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["captured_by_token_id"],
            ["api_token.id"],
            name=op.f("fk_event_captured_by_token_id_api_token"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
        sa.UniqueConstraint("seq", name=op.f("uq_event_seq")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index("ix_event_biz_location", ["biz_location"], unique=False)
        batch_op.create_index("ix_event_biz_step_time", ["biz_step", "event_time"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_event_captured_by_organization_id"),
            ["captured_by_organization_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_event_event_id"), ["event_id"], unique=False)
        batch_op.create_index("ix_event_event_time", ["event_time"], unique=False)
        batch_op.create_index("ix_event_hash_id", ["hash_id"], unique=False)
        batch_op.create_index("ix_event_read_point", ["read_point"], unique=False)
        batch_op.create_index("ix_event_record_time", ["record_time"], unique=False)
        batch_op.create_index(
            "uq_event_event_id_original",
            ["event_id"],
            unique=True,
            postgresql_where=sa.text("NOT declares_error"),
            sqlite_where=sa.text("NOT declares_error"),
        )
        batch_op.create_index(
            "uq_event_hash_id_original",
            ["hash_id"],
            unique=True,
            postgresql_where=sa.text("NOT declares_error"),
            sqlite_where=sa.text("NOT declares_error"),
        )

    op.create_table(
        "recall",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("include_downstream", sa.Boolean(), nullable=False),
        sa.Column("created_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_token_id", sa.Integer(), nullable=True),
        sa.Column("created_by_organization_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("close_note", sa.String(length=2000), nullable=True),
        sa.Column("closed_by_token_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["closed_by_token_id"],
            ["api_token.id"],
            name=op.f("fk_recall_closed_by_token_id_api_token"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_organization_id"],
            ["organization.id"],
            name=op.f("fk_recall_created_by_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_token_id"],
            ["api_token.id"],
            name=op.f("fk_recall_created_by_token_id_api_token"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall")),
    )
    op.create_table(
        "batch_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("input_batch_id", sa.Integer(), nullable=False),
        sa.Column("output_batch_id", sa.Integer(), nullable=False),
        sa.Column("event_pk", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_pk"], ["event.id"], name=op.f("fk_batch_link_event_pk_event")
        ),
        sa.ForeignKeyConstraint(
            ["input_batch_id"], ["batch.id"], name=op.f("fk_batch_link_input_batch_id_batch")
        ),
        sa.ForeignKeyConstraint(
            ["output_batch_id"], ["batch.id"], name=op.f("fk_batch_link_output_batch_id_batch")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_link")),
        sa.UniqueConstraint(
            "input_batch_id",
            "output_batch_id",
            "event_pk",
            name=op.f("uq_batch_link_input_batch_id_output_batch_id_event_pk"),
        ),
    )
    with op.batch_alter_table("batch_link", schema=None) as batch_op:
        batch_op.create_index(
            "ix_batch_link_input", ["input_batch_id", "output_batch_id"], unique=False
        )
        batch_op.create_index(
            "ix_batch_link_output", ["output_batch_id", "input_batch_id"], unique=False
        )

    op.create_table(
        "event_epc",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_pk", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("uri", sa.String(length=400), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("event_time", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_event_epc_batch_id_batch")
        ),
        sa.ForeignKeyConstraint(
            ["event_pk"], ["event.id"], name=op.f("fk_event_epc_event_pk_event")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_epc")),
    )
    with op.batch_alter_table("event_epc", schema=None) as batch_op:
        batch_op.create_index("ix_event_epc_batch_time", ["batch_id", "event_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_epc_event_pk"), ["event_pk"], unique=False)
        batch_op.create_index("ix_event_epc_uri", ["uri"], unique=False)

    op.create_table(
        "print_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column(
            "layout",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("serialised", sa.Boolean(), nullable=False),
        sa.Column("created_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_token_id", sa.Integer(), nullable=True),
        sa.Column("voided_at", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_print_run_batch_id_batch")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_token_id"],
            ["api_token.id"],
            name=op.f("fk_print_run_created_by_token_id_api_token"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_run")),
    )
    with op.batch_alter_table("print_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_print_run_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "recall_batch",
        sa.Column("recall_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("direct", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_recall_batch_batch_id_batch")
        ),
        sa.ForeignKeyConstraint(
            ["recall_id"], ["recall.id"], name=op.f("fk_recall_batch_recall_id_recall")
        ),
        sa.PrimaryKeyConstraint("recall_id", "batch_id", name=op.f("pk_recall_batch")),
    )
    with op.batch_alter_table("recall_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recall_batch_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "batch",
                "unit",
                name="code_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("print_run_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "issued",
                "printed",
                "voided",
                name="code_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("issued_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("voided_at", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name=op.f("fk_code_batch_id_batch")),
        sa.ForeignKeyConstraint(
            ["print_run_id"], ["print_run.id"], name=op.f("fk_code_print_run_id_print_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code")),
        sa.UniqueConstraint("code", name=op.f("uq_code_code")),
    )
    with op.batch_alter_table("code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_code_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            "ix_code_print_run_position", ["print_run_id", "position"], unique=False
        )

    op.create_table(
        "report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("message", sa.String(length=2000), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("client_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolved_at", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=2000), nullable=True),
        sa.Column("resolved_by_token_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name=op.f("fk_report_batch_id_batch")),
        sa.ForeignKeyConstraint(["code_id"], ["code.id"], name=op.f("fk_report_code_id_code")),
        sa.ForeignKeyConstraint(
            ["resolved_by_token_id"],
            ["api_token.id"],
            name=op.f("fk_report_resolved_by_token_id_api_token"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
    )
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_code_id"), ["code_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_code_id"))
        batch_op.drop_index(batch_op.f("ix_report_batch_id"))
        batch_op.drop_index(batch_op.f("ix_report_at"))

    op.drop_table("report")
    with op.batch_alter_table("code", schema=None) as batch_op:
        batch_op.drop_index("ix_code_print_run_position")
        batch_op.drop_index(batch_op.f("ix_code_batch_id"))

    op.drop_table("code")
    with op.batch_alter_table("recall_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recall_batch_batch_id"))

    op.drop_table("recall_batch")
    with op.batch_alter_table("print_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_print_run_batch_id"))

    op.drop_table("print_run")
    with op.batch_alter_table("event_epc", schema=None) as batch_op:
        batch_op.drop_index("ix_event_epc_uri")
        batch_op.drop_index(batch_op.f("ix_event_epc_event_pk"))
        batch_op.drop_index("ix_event_epc_batch_time")

    op.drop_table("event_epc")
    with op.batch_alter_table("batch_link", schema=None) as batch_op:
        batch_op.drop_index("ix_batch_link_output")
        batch_op.drop_index("ix_batch_link_input")

    op.drop_table("batch_link")
    op.drop_table("recall")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_event_hash_id_original",
            postgresql_where=sa.text("NOT declares_error"),
            sqlite_where=sa.text("NOT declares_error"),
        )
        batch_op.drop_index(
            "uq_event_event_id_original",
            postgresql_where=sa.text("NOT declares_error"),
            sqlite_where=sa.text("NOT declares_error"),
        )
        batch_op.drop_index("ix_event_record_time")
        batch_op.drop_index("ix_event_read_point")
        batch_op.drop_index("ix_event_hash_id")
        batch_op.drop_index("ix_event_event_time")
        batch_op.drop_index(batch_op.f("ix_event_event_id"))
        batch_op.drop_index(batch_op.f("ix_event_captured_by_organization_id"))
        batch_op.drop_index("ix_event_biz_step_time")
        batch_op.drop_index("ix_event_biz_location")

    op.drop_table("event")
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.drop_index("ix_scan_code_at")
        batch_op.drop_index("ix_scan_batch_at")

    op.drop_table("scan")
    op.drop_table("ledger_head")
    with op.batch_alter_table("ledger_checkpoint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_checkpoint_seq"))

    op.drop_table("ledger_checkpoint")
