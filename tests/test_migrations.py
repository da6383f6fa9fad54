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


def test_change_notify_triggers_go_down_and_up(app) -> None:
    """PostgreSQL: migration 0003 installs the change triggers and takes them away again; on
    SQLite migration 0019 installs the change counter's triggers (0003 does nothing there)."""
    from sqlalchemy import text

    from trace import migrate

    engine = db.engine_for(app)
    postgresql = engine.dialect.name == "postgresql"
    query = text(
        "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'trace_notify_%'"
        if postgresql
        else "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'trace_%'"
    )

    def triggers() -> int:
        with engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # 0020 adds the truncation notices of certificates, product images and plots (PostgreSQL)
    # and its stamping triggers (SQLite: 3 + 9 + 1 + 3); 0023 the notice of a facility
    # registered (one on each)
    assert triggers() == (23 if postgresql else 41)
    migrate.downgrade(engine, "0002_events_labels")
    try:
        assert triggers() == 0
    finally:
        migrate.upgrade(engine)
    assert triggers() == (23 if postgresql else 41)


def test_page_change_triggers_go_down_and_up(app) -> None:
    """Migration 0020 installs its stamping triggers on both databases and takes them away."""
    from sqlalchemy import text

    from trace import migrate

    engine = db.engine_for(app)
    query = text(
        "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'trace_stamp_%'"
        " OR tgname LIKE 'trace_touch_%'"
        if engine.dialect.name == "postgresql"
        else "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
        " AND (name LIKE 'trace_stamp_%' OR name LIKE 'trace_touch_%')"
    )

    def triggers() -> int:
        with engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    expected = 10 if engine.dialect.name == "postgresql" else 16
    assert triggers() == expected
    migrate.downgrade(engine, "0019_sqlite_change_seq")
    try:
        assert triggers() == 0
    finally:
        migrate.upgrade(engine)
    assert triggers() == expected
