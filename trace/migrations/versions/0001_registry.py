"""registry: organisations, facilities, products, batches, tokens, audit

Revision ID: 0001_registry
Revises:
Create Date: 2026-11-28 07:37:04.748927
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import trace.db

revision: str = "0001_registry"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organization",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "centre",
                "producer",
                "cooperative",
                "processor",
                "distributor",
                "retailer",
                "inspection_agency",
                name="organization_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tax_code", sa.String(length=14), nullable=False),
        sa.Column("gln", sa.String(length=13), nullable=True),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("website", sa.String(length=300), nullable=True),
        sa.Column("search_text", sa.String(length=600), nullable=False),
        sa.Column("created_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archived_at", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization")),
        sa.UniqueConstraint("gln", name=op.f("uq_organization_gln")),
        sa.UniqueConstraint("tax_code", name=op.f("uq_organization_tax_code")),
    )
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_province_code"), ["province_code"], unique=False
        )

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "centre",
                "producer",
                "inspector",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("province_code", sa.String(length=2), nullable=True),
        sa.Column("created_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_api_token_organization_id_organization"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_table(
        "facility",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "farm",
                "orchard",
                "growing_area",
                "packing_house",
                "factory",
                "cold_store",
                "warehouse",
                "shop",
                name="facility_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("gln", sa.String(length=13), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=True),
        sa.Column("latitude", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("longitude", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("search_text", sa.String(length=600), nullable=False),
        sa.Column("created_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archived_at", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name=op.f("ck_facility_latitude_range")),
        sa.CheckConstraint(
            "longitude BETWEEN -180 AND 180", name=op.f("ck_facility_longitude_range")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_facility_organization_id_organization"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facility")),
        sa.UniqueConstraint("gln", name=op.f("uq_facility_gln")),
    )
    with op.batch_alter_table("facility", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_facility_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_facility_province_code"), ["province_code"], unique=False
        )

    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("name_vi", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column(
            "category",
            sa.Enum(
                "fruit",
                "vegetable",
                "coffee",
                "tea",
                "rice",
                "seafood",
                "condiment",
                "processed",
                "other",
                name="product_category",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("ocop_stars", sa.Integer(), nullable=True),
        sa.Column("geographical_indication", sa.String(length=300), nullable=True),
        sa.Column(
            "standards",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("image", sa.String(length=300), nullable=True),
        sa.Column("unit", sa.String(length=3), nullable=False),
        sa.Column("shelf_life_days", sa.Integer(), nullable=True),
        sa.Column("description_vi", sa.String(length=2000), nullable=True),
        sa.Column("description_en", sa.String(length=2000), nullable=True),
        sa.Column("search_text", sa.String(length=600), nullable=False),
        sa.Column("created_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archived_at", trace.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("ocop_stars BETWEEN 1 AND 5", name=op.f("ck_product_ocop_stars_range")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_product_organization_id_organization"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
        sa.UniqueConstraint("gtin", name=op.f("uq_product_gtin")),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_product_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_organization_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column(
            "before",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "after",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["actor_organization_id"],
            ["organization.id"],
            name=op.f("fk_audit_entry_actor_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_token.id"], name=op.f("fk_audit_entry_token_id_api_token")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_entry_actor_organization_id"),
            ["actor_organization_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_entry_entity", ["entity_type", "entity_id"], unique=False)

    op.create_table(
        "batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("producer_id", sa.Integer(), nullable=False),
        sa.Column("lot_code", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=3), nullable=False),
        sa.Column("unit", sa.String(length=3), nullable=False),
        sa.Column("production_date", sa.Date(), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("origin_facility_id", sa.Integer(), nullable=True),
        sa.Column(
            "certifications",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "recalled",
                "closed",
                name="batch_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("search_text", sa.String(length=600), nullable=False),
        sa.Column("created_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_batch_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["origin_facility_id"],
            ["facility.id"],
            name=op.f("fk_batch_origin_facility_id_facility"),
        ),
        sa.ForeignKeyConstraint(
            ["producer_id"], ["organization.id"], name=op.f("fk_batch_producer_id_organization")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_batch_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch")),
        sa.UniqueConstraint("product_id", "lot_code", name=op.f("uq_batch_product_id_lot_code")),
    )
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.create_index("ix_batch_producer_status", ["producer_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_batch_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_batch_status"), ["status"], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_status"))
        batch_op.drop_index(batch_op.f("ix_batch_product_id"))
        batch_op.drop_index("ix_batch_producer_status")

    op.drop_table("batch")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_entity")
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_actor_organization_id"))

    op.drop_table("audit_entry")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_organization_id"))

    op.drop_table("product")
    with op.batch_alter_table("facility", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_facility_province_code"))
        batch_op.drop_index(batch_op.f("ix_facility_organization_id"))

    op.drop_table("facility")
    op.drop_table("api_token")
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_province_code"))

    op.drop_table("organization")
    # ### end Alembic commands ###
