"""Product images stored in the database: the upload and its resized copies per version

Revision ID: 0016_product_images
Revises: 0015_centre_dashboard
Create Date: 2026-11-30 17:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trace.db

revision: str = "0016_product_images"
down_revision: str | None = "0015_centre_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "product_image",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", trace.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_product_image_product_id_product")
        ),
        sa.PrimaryKeyConstraint("product_id", "version", "width", name=op.f("pk_product_image")),
    )


def downgrade() -> None:
    op.drop_table("product_image")
