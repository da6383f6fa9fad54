"""eudr plots: facility kind plot, plot geolocation

Revision ID: 0009_eudr_plots
Revises: 0008_imports
Create Date: 2026-11-30 14:50:00

A facility may be a ``plot`` (a production place for EUDR due diligence); ``plot`` holds its
geolocation, area, farmer or owner and land-use right documents.

The facility kind's CHECK constraint gains ``plot``. On SQLite, rebuilding ``facility`` would
drop a table other rows reference (foreign keys are on, and cannot be switched off inside the
migration's transaction), so the constraint's text is widened in place in the schema, the
procedure SQLite documents for loosening a CHECK constraint (every stored row still passes).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import trace.db

revision: str = "0009_eudr_plots"
down_revision: str | None = "0008_imports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "farm",
    "orchard",
    "growing_area",
    "packing_house",
    "factory",
    "cold_store",
    "warehouse",
    "shop",
)
CONSTRAINT = "ck_facility_facility_kind"


def _listed(kinds: Sequence[str]) -> str:
    return "(" + ", ".join(f"'{k}'" for k in kinds) + ")"


def _kinds_check(kinds: Sequence[str]) -> str:
    return "kind IN " + _listed(kinds)


def _sqlite_replace(old: str, new: str) -> None:
    bind = op.get_bind()
    sql = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'facility'")
    ).scalar_one()
    if old not in sql:
        raise RuntimeError(f"facility's kind constraint is not {old!r}: {sql}")
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'facility'"),
        {"sql": sql.replace(old, new)},
    )
    bind.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))


def _set_kinds(old: Sequence[str], new: Sequence[str]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_replace(_listed(old), _listed(new))
        return
    op.execute(f"ALTER TABLE facility DROP CONSTRAINT {CONSTRAINT}")
    op.execute(f"ALTER TABLE facility ADD CONSTRAINT {CONSTRAINT} CHECK ({_kinds_check(new)})")


def upgrade() -> None:
    _set_kinds(KINDS, (*KINDS, "plot"))
    op.create_table(
        "plot",
        sa.Column("facility_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "geometry_type",
            sa.Enum(
                "Point",
                "Polygon",
                name="plot_geometry",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("geometry", trace.db.JSONType, nullable=False),
        sa.Column("area_ha", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("declared_area_ha", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("producer_name", sa.String(length=200), nullable=False),
        sa.Column("producer_country", sa.String(length=2), nullable=False),
        sa.Column("land_documents", trace.db.JSONType, nullable=False),
        sa.Column("created_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", trace.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facility.id"], name=op.f("fk_plot_facility_id_facility")
        ),
        sa.PrimaryKeyConstraint("facility_id", name=op.f("pk_plot")),
    )


def downgrade() -> None:
    op.drop_table("plot")
    op.execute("DELETE FROM facility WHERE kind = 'plot'")
    _set_kinds((*KINDS, "plot"), KINDS)
