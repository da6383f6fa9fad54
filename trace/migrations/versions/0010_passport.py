"""passport: certificates, product origin and safety warnings

Revision ID: 0010_passport
Revises: 0009_eudr_plots
Create Date: 2026-11-30 14:40:00

The digital product passport (Decree 37/2026/NĐ-CP Art. 32). Certificates become records of an
organisation, a product or a batch; each batch's free-text ``certifications`` are read into
batch certificates and the column goes (``parse_certification`` of
``trace.services.registry.certificate_text``: kind and number where the text names a known
scheme, kind ``other`` with the text as scope where not; the text itself kept in
``source_text``). Products gain their origin (country,
default VN; province, filled with the brand owner's province) and safety warnings (vi/en).
Downgrade writes the batch certificates' texts back into ``certifications``.
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import trace.db
from trace.services.registry.certificate_text import parse_certification

revision: str = "0010_passport"
down_revision: str | None = "0009_eudr_plots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "vietgap",
                "globalgap",
                "organic",
                "ocop",
                "geographical_indication",
                "haccp",
                "iso_22000",
                "4c",
                "rainforest_alliance",
                "lab_test",
                "other",
                name="certificate_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("scope", sa.String(length=500), nullable=True),
        sa.Column("document_url", sa.String(length=500), nullable=True),
        sa.Column("source_text", sa.String(length=200), nullable=True),
        sa.Column("created_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archived_at", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(CASE WHEN organization_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN product_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN batch_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_certificate_one_holder"),
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
            name=op.f("ck_certificate_validity_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_certificate_batch_id_batch")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_certificate_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_certificate_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate")),
    )
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificate_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_certificate_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_certificate_product_id"), ["product_id"], unique=False)

    _certifications_to_records()
    # Not in batch mode: on SQLite that copies the table, and dropping the old copy fails while
    # other tables' rows refer to it (foreign keys are on). SQLite 3.35+ drops a column itself.
    op.drop_column("batch", "certifications")

    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("origin_country", sa.String(length=2), server_default="VN", nullable=False)
        )
        batch_op.add_column(sa.Column("origin_province_code", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("safety_warning_vi", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("safety_warning_en", sa.String(length=1000), nullable=True))
    op.execute(
        "UPDATE product SET origin_province_code = (SELECT organization.province_code"
        " FROM organization WHERE organization.id = product.organization_id)"
    )


JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_batch = sa.table("batch", sa.column("id", sa.Integer()), sa.column("certifications", JSON))
_certificate = sa.table(
    "certificate",
    *(sa.column(name, sa.String()) for name in ("kind", "number", "scope", "source_text")),
    sa.column("id", sa.Integer()),
    sa.column("batch_id", sa.Integer()),
    sa.column("created_at", trace.db.UTCDateTime()),
    sa.column("updated_at", trace.db.UTCDateTime()),
)


def _certifications_to_records() -> None:
    connection = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    rows = []
    for batch_id, texts in connection.execute(
        sa.select(_batch.c.id, _batch.c.certifications).order_by(_batch.c.id)
    ):
        for text in dict.fromkeys(texts or []):
            parsed = parse_certification(str(text))
            rows.append(
                {
                    "batch_id": batch_id,
                    "kind": parsed.kind,
                    "number": parsed.number,
                    "scope": parsed.scope,
                    "source_text": parsed.source_text[:200],
                    "created_at": now,
                    "updated_at": now,
                }
            )
    for start in range(0, len(rows), 1000):
        connection.execute(sa.insert(_certificate), rows[start : start + 1000])


def _records_to_certifications() -> None:
    connection = op.get_bind()
    texts: dict[int, list[str]] = {}
    for batch_id, kind, number, scope, source in connection.execute(
        sa.select(
            _certificate.c.batch_id,
            _certificate.c.kind,
            _certificate.c.number,
            _certificate.c.scope,
            _certificate.c.source_text,
        )
        .where(_certificate.c.batch_id.is_not(None))
        .order_by(_certificate.c.id)
    ):
        text = source or " ".join(part for part in (kind, number, scope) if part)
        texts.setdefault(batch_id, []).append(text)
    for batch_id, values in texts.items():
        connection.execute(
            sa.update(_batch).where(_batch.c.id == batch_id).values(certifications=values)
        )


def downgrade() -> None:
    for column in (
        "safety_warning_en",
        "safety_warning_vi",
        "origin_province_code",
        "origin_country",
    ):
        op.drop_column("product", column)

    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("certifications", JSON, server_default="[]", nullable=False))
    _records_to_certifications()

    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_product_id"))
        batch_op.drop_index(batch_op.f("ix_certificate_organization_id"))
        batch_op.drop_index(batch_op.f("ix_certificate_batch_id"))

    op.drop_table("certificate")
