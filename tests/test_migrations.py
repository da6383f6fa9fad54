from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from trace.db import Base, db


def test_migrations_match_the_models(app) -> None:
    """The migrated database (the app fixture ran `upgrade head`) has exactly the models' schema."""
    engine = db.engine_for(app)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_migrations_are_one_linear_history() -> None:
    from alembic.script import ScriptDirectory

    from trace.db import build_engine
    from trace.migrate import MIGRATIONS, alembic_config

    config = alembic_config(build_engine("sqlite://"))
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1
    assert str(MIGRATIONS).endswith("trace/migrations")
