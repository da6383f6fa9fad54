from __future__ import annotations

from pathlib import Path

import pytest

import trace
from trace import create_app
from trace.config import ConfigError, prepare_instance

CHECKOUT = Path(__file__).resolve().parent.parent


def test_package_is_the_checkout_not_the_standard_library() -> None:
    assert Path(trace.__file__).resolve().is_relative_to(CHECKOUT)
    assert hasattr(trace, "create_app")


def test_factory_reads_environment_and_does_no_io(tmp_path, monkeypatch) -> None:
    instance = tmp_path / "instance"
    monkeypatch.setenv("TRACE_PUBLIC_URL", "https://truyxuat.bacninh.gov.vn/")
    monkeypatch.setenv("TRACE_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    app = create_app({"TESTING": True})
    app.instance_path = str(instance)
    assert app.config["PUBLIC_URL"] == "https://truyxuat.bacninh.gov.vn"
    assert app.config["DATABASE_URL"].endswith("x.db")
    assert not instance.exists()
    assert not (tmp_path / "x.db").exists()


def test_default_database_is_sqlite_in_instance_folder(monkeypatch) -> None:
    monkeypatch.delenv("TRACE_DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["DATABASE_URL"] == "sqlite:///" + str(
        Path(app.instance_path) / "trace.sqlite3"
    )


def test_secret_key_is_generated_once_and_kept(tmp_path) -> None:
    first = create_app({"DATABASE_URL": "sqlite://"})
    first.instance_path = str(tmp_path)
    prepare_instance(first)
    second = create_app({"DATABASE_URL": "sqlite://"})
    second.instance_path = str(tmp_path)
    prepare_instance(second)
    assert len(first.config["SECRET_KEY"]) >= 48
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_without_secret_key_is_refused(tmp_path) -> None:
    app = create_app({"DATABASE_URL": "sqlite://", "ENV": "production"})
    app.instance_path = str(tmp_path)
    with pytest.raises(ConfigError, match="TRACE_SECRET_KEY"):
        prepare_instance(app)
    assert not (tmp_path / "secret_key").exists()


def test_healthz(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_unknown_api_route_is_problem_json(client) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 404


def test_sqlite_is_tuned_for_a_server(tmp_path) -> None:
    from trace.db import build_engine

    engine = build_engine(f"sqlite:///{tmp_path / 'tuned.db'}", busy_timeout_ms=15000)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
    engine.dispose()


def test_postgresql_urls_use_psycopg3() -> None:
    from trace.db import build_engine

    engine = build_engine("postgresql://postgres@127.0.0.1/test")
    assert engine.dialect.driver == "psycopg"


def test_environment_settings_are_typed_like_their_defaults() -> None:
    from trace.config import from_environment

    settings = from_environment(
        {"TRACE_DATABASE_PRE_PING": "false", "TRACE_LATE_ENTRY_HOURS": "48", "HOME": "/root",
         "TRACE_PUBLIC_URL": "https://truyxuat.bacninh.gov.vn"}
    )  # fmt: skip
    assert settings == {
        "DATABASE_PRE_PING": False,
        "LATE_ENTRY_HOURS": 48,
        "PUBLIC_URL": "https://truyxuat.bacninh.gov.vn",
    }
    with pytest.raises(ConfigError, match="TRACE_LATE_ENTRY_HOURS"):
        from_environment({"TRACE_LATE_ENTRY_HOURS": "soon"})
    with pytest.raises(ConfigError, match="true or false"):
        from_environment({"TRACE_DATABASE_PRE_PING": "maybe"})


def test_float_settings_from_the_environment_are_numbers() -> None:
    from trace.config import from_environment

    flush = from_environment({"TRACE_PUBLIC_SCAN_FLUSH_SECONDS": "2.5"})
    assert flush == {"PUBLIC_SCAN_FLUSH_SECONDS": 2.5}
    with pytest.raises(ConfigError, match="TRACE_PUBLIC_SCAN_FLUSH_SECONDS must be a number"):
        from_environment({"TRACE_PUBLIC_SCAN_FLUSH_SECONDS": "often"})
