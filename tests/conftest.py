"""Fixtures: an app on a real database (SQLite by default, PostgreSQL when
``TRACE_TEST_DATABASE_URL`` names one), a client, a session, tokens and registry builders.

The schema is migrated once per test session. Each test runs inside one transaction that is
rolled back at its end (as pypa/warehouse does): the app's sessions and the test's own are bound
to that connection with ``join_transaction_mode="create_savepoint"``, so a commit only releases a
savepoint. A test marked ``committed`` (its data must be seen by other connections: a served
app, threads, LISTEN/NOTIFY, PostgreSQL's pooled page reads) commits for real and starts from
emptied tables instead.

Every ORM commit is checked while the suite runs: only the boundary (``trace.db.transaction``)
and the tests' own code may commit.
"""

from __future__ import annotations

import itertools
import os
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

import trace
from tests import database, seeds
from trace import create_app, migrate
from trace.api import schemas
from trace.codeview import live
from trace.db import Base, db
from trace.gs1.keys import check_digit
from trace.models import Batch, Facility, Organization, Product, Role
from trace.services.actors import SYSTEM
from trace.services.registry import catalogue as registry
from trace.services.registry.tokens import create_token

TEST_DB_ENV = "TRACE_TEST_DATABASE_URL"


def pytest_report_header() -> str:
    return f"trace test seed: {seeds.SEED} (repeat with {seeds.ENV}={seeds.SEED})"


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """This test's own random generator under the run's seed (see ``tests/seeds.py``)."""
    return seeds.rng_for(request.node.nodeid)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get(TEST_DB_ENV)
    if configured and make_url(configured).get_backend_name() == "postgresql":
        yield from database.throwaway_postgres(configured, "trace_test")
    else:
        yield configured or "sqlite:///" + str(tmp_path_factory.mktemp("db") / "trace.sqlite3")


@pytest.fixture(scope="session")
def migrated_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "PUBLIC_URL": "https://trace.example.vn",
            # argon2id at its cheapest: tests sign in hundreds of times (the cost is a setting)
            "PASSWORD_TIME_COST": 1,
            "PASSWORD_MEMORY_KIB": 1024,
        }
    )
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    migrate.upgrade(db.engine_for(app))
    yield app
    live.stop(app)
    db.engine_for(app).dispose()


def _empty_tables(app: Flask) -> None:
    engine = db.engine_for(app)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
            conn.execute(text("DELETE FROM sqlite_sequence")) if _has_sequence(conn) else None


def _has_sequence(conn: Any) -> bool:
    return bool(
        conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type='table' AND name='sqlite_sequence'")
        ).first()
    )


class CommitOutsideBoundary(AssertionError):
    """Application code committed somewhere else than ``trace.db.transaction``."""


_PACKAGE = Path(trace.__file__).resolve().parent
_BOUNDARY = str(_PACKAGE / "db.py")
_SQLALCHEMY = (
    os.path.dirname(sqlalchemy.__file__),
    str(Path(sqlalchemy.__file__).resolve().parent),
)


def _check_commit(session: Session) -> None:
    """``before_commit``: the first caller outside SQLAlchemy must be the boundary or a test.

    A savepoint released (``begin_nested()``) commits nothing: it is let through."""
    if session.in_nested_transaction():
        return
    frame = sys._getframe(1)
    # SQLAlchemy's own frames, and the ones its decorators compile (``<string>``).
    while frame is not None and frame.f_code.co_filename.startswith((*_SQLALCHEMY, "<")):
        frame = frame.f_back
    if frame is None:
        return
    caller = frame.f_code.co_filename
    if caller.startswith(str(_PACKAGE)) and caller != _BOUNDARY:
        where = Path(caller).relative_to(_PACKAGE.parent).as_posix()
        raise CommitOutsideBoundary(
            f"{where}:{frame.f_lineno} commits outside trace.db.transaction"
        )


# On PostgreSQL a public page reads through a connection its thread keeps (one round trip),
# the live state forgets a page when a write commits or a NOTIFY arrives, and scans are written
# by COPY on another connection; on SQLite the live state reads its change counter on a
# connection of its own and writes scans on another (which would wait for the test's write
# lock): none of these sees a test's rolled-back transaction, so tests that open public pages
# commit.
PUBLIC_PAGES = (
    "tests/public/",
    "tests/codeview/",
    "tests/services/events/test_ledger_derived.py::",
    "tests/api/test_authz.py::test_who_may_declare_the_growers_event_in_error",
    "tests/api/test_batch_links.py::test_a_batch_without_gtin_links_to_its_short_code",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(PUBLIC_PAGES):
            item.add_marker(pytest.mark.committed)


@pytest.fixture(scope="session", autouse=True)
def _commits_only_at_the_boundary() -> Iterator[None]:
    event.listen(Session, "before_commit", _check_commit)
    yield
    event.remove(Session, "before_commit", _check_commit)


class _SharedConnectionSession(Session):
    """A session on the test's one connection. All sessions share it, each in a savepoint of
    its own, so rolling back a savepoint that only read would also undo what other sessions
    committed since it began (a test's ``session.rollback()`` after requests wrote). A session
    that wrote nothing ends by releasing its savepoint instead, and forgets what it loaded, as
    a rollback would; one that wrote is rolled back."""

    def rollback(self) -> None:
        if self.in_transaction() and not self.info.get("wrote") and not self._unflushed():
            self.commit()
            self.expire_all()
        else:
            super().rollback()

    def close(self) -> None:
        self.rollback()
        super().close()

    def _unflushed(self) -> bool:
        return bool(self.new or self.dirty or self.deleted)


@event.listens_for(_SharedConnectionSession, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    session.info["wrote"] = True


@event.listens_for(_SharedConnectionSession, "do_orm_execute")
def _executed(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["wrote"] = True


@event.listens_for(_SharedConnectionSession, "after_transaction_end")
def _ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop("wrote", None)


@pytest.fixture
def app(request: pytest.FixtureRequest, migrated_app: Flask) -> Iterator[Flask]:
    live.forget(migrated_app)  # nothing of the previous test may land in this one's tables
    if request.node.get_closest_marker("committed"):
        _empty_tables(migrated_app)
        try:
            yield migrated_app
        finally:
            live.flush(migrated_app)
            _empty_tables(migrated_app)  # the next test may roll back instead of emptying
            live.forget(migrated_app)  # ids start again: remembered codes and clients are stale
        return
    connection = db.engine_for(migrated_app).connect()
    outer = connection.begin()
    bound = sessionmaker(
        connection,
        class_=_SharedConnectionSession,
        expire_on_commit=False,
        join_transaction_mode="create_savepoint",
    )
    previous = db.use_factory(migrated_app, bound)
    database.current = connection
    try:
        yield migrated_app
    finally:
        database.current = None
        db.use_factory(migrated_app, previous)
        outer.rollback()
        connection.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session of the test's own, outside any request: what it sets up, it commits (to the
    test's savepoint, or for real in a ``committed`` test).

    No app context stays pushed, so each request through the client gets its own context and
    session, as in production.
    """
    with db.new_session(app) as own:
        yield own
        own.rollback()


@pytest.fixture
def count(app: Flask) -> Callable[[type[Any]], int]:
    """Rows of a model, read on a session of its own (in a ``committed`` test a fresh
    connection: what another client would see), once the scans this process buffered are
    written."""

    def rows(model: type[Any]) -> int:
        live.flush(app)
        with db.new_session(app) as fresh:
            return fresh.scalar(select(func.count()).select_from(model)) or 0

    return rows


@pytest.fixture
def token(session: Session) -> Callable[..., dict[str, str]]:
    """``token(role, org=None, province=None)`` -> Authorization header for a fresh token."""

    def make(role: str | Role, org: Organization | int | None = None, province: str | None = None):
        org_id = org.id if isinstance(org, Organization) else org
        session.rollback()
        _, secret = create_token(
            session, SYSTEM, role=Role(role), organization_id=org_id, province_code=province
        )
        session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def actor_headers(token: Callable[..., dict[str, str]]) -> Callable[..., dict[str, dict[str, str]]]:
    """``actor_headers(org, neighbour)``: the headers of every actor of an authorisation matrix
    around producer ``org`` of province 24 (``neighbour`` is another producer there)."""

    def make(org: Organization, neighbour: Organization) -> dict[str, dict[str, str]]:
        return {
            "admin": token("admin"),
            "centre-own": token("centre", province="24"),
            "centre-foreign": token("centre", province="66"),
            "producer-own": token("producer", org),
            "producer-foreign": token("producer", neighbour),
            "inspector": token("inspector"),
            "anonymous": {},
        }

    return make


_counter = itertools.count(1)


def gtin13(seed: int) -> str:
    body = f"893{seed:09d}"
    return body + check_digit(body)


class Builder:
    """Registry rows with sensible defaults, loaded by the API's schemas and created by the
    services, as a request would; overrides are JSON values."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _create(self, schema: Any, service: Callable[..., Any], data: dict[str, Any]) -> Any:
        self.session.rollback()  # end any read snapshot the test left open
        entity = service(self.session, SYSTEM, schema().load(data))
        self.session.commit()
        return entity

    def organization(self, **overrides: Any) -> Organization:
        n = next(_counter)
        data = {
            "kind": "cooperative",
            "name": f"Hợp tác xã thử nghiệm {n}",
            "tax_code": f"{2400000000 + n}",
            "province_code": "24",
            "address": "Thôn Bến Cầu, xã Lục Ngạn, tỉnh Bắc Ninh",
        } | overrides
        return self._create(schemas.OrganizationSchema, registry.create_organization, data)

    def facility(self, org: Organization, **overrides: Any) -> Facility:
        n = next(_counter)
        data = {
            "organization_id": org.id,
            "kind": "orchard",
            "name": f"Vườn vải {n}",
            "address": "xã Lục Ngạn, tỉnh Bắc Ninh",
            "province_code": org.province_code,
        } | overrides
        return self._create(schemas.FacilitySchema, registry.create_facility, data)

    def product(self, org: Organization, **overrides: Any) -> Product:
        n = next(_counter)
        data = {
            "organization_id": org.id,
            "name_vi": f"Vải thiều Lục Ngạn {n}",
            "name_en": f"Luc Ngan lychee {n}",
            "category": "fruit",
            "unit": "KGM",
            "standards": ["VietGAP"],
            "shelf_life_days": 30,
        } | overrides
        return self._create(schemas.ProductSchema, registry.create_product, data)

    def batch(self, product: Product, **overrides: Any) -> Batch:
        n = next(_counter)
        data = {
            "product_id": product.id,
            "producer_id": product.organization_id,
            "lot_code": f"LN{n:05d}",
            "quantity": "1200.5",
            "production_date": "2026-06-12",
        } | overrides
        return self._create(schemas.BatchSchema, registry.create_batch, data)


@pytest.fixture
def build(session: Session) -> Builder:
    return Builder(session)


@pytest.fixture
def rendered(app: Flask, client: FlaskClient) -> Callable[..., Any]:
    """``rendered(url, headers)``: a job's result, as served: the first GET answers 202 while
    the job waits, a worker (this process, burst mode) runs every due job, then GET again."""
    from trace.jobs.worker import Worker

    def fetch(url: str, headers: dict[str, str]) -> Any:
        first = client.get(url, headers=headers)
        if first.status_code != 202:
            return first
        assert int(first.headers["Retry-After"]) >= 1
        assert first.json["status"] in {"queued", "running"}, first.json
        Worker(app).run(burst=True)
        return client.get(url, headers=headers)

    return fetch
