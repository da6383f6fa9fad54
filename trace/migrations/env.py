"""Alembic environment: runs on the connection the CLI hands over (see trace.migrate)."""

from __future__ import annotations

from alembic import context

import trace.models  # noqa: F401  (registers every table on the metadata)
from trace.db import Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
