"""Stored pages compressed with LZ4 (PostgreSQL, where the server has it)

Revision ID: 0021_page_lz4
Revises: 0020_page_change_triggers
Create Date: 2026-12-01 00:40:00.000000

A first view of a batch reads its stored page (about 12 KB of HTML, 4–5 KB compressed, kept out
of line) in the same statement as its code. Decompressing it with PostgreSQL's own ``pglz`` was
a quarter of that statement's time in the database; LZ4 decompresses several times faster, for
about the same size. Pages stored from now on use it; those stored before keep ``pglz`` (both
read alike) until the verifier replaces them. A server built without LZ4 keeps ``pglz``; SQLite
has nothing to set.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021_page_lz4"
down_revision: str | None = "0020_page_change_triggers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HAS_LZ4 = "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"


def _compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if method == "lz4" and not bind.exec_driver_sql(HAS_LZ4).scalar():
        return
    op.execute(f"ALTER TABLE stored_page ALTER COLUMN body SET COMPRESSION {method}")


def upgrade() -> None:
    _compression("lz4")


def downgrade() -> None:
    _compression("pglz")
