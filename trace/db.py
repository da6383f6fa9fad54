"""Engine, per-request session and the declarative base.

One ``Database`` extension object holds the engine and session factory. A request (or CLI command)
gets one session. Every commit goes through :func:`transaction`, the one commit boundary, used by
the API's request hook, the public POST views, the CLI commands, the job worker and the buffered
scan ``COPY``; never inside models or services.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import decimal
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar, TypeVar, overload

import orjson
from flask import Flask, g, has_app_context, has_request_context, request
from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Engine,
    MetaData,
    Numeric,
    String,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import DateTime, TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware datetimes stored as UTC on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a timezone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(),
        decimal.Decimal: Numeric(18, 3),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        list[str]: JSONType,
        str: String(),
    }


def table_of(model: type[Base]) -> Table:
    """A mapped class's table, typed as the :class:`Table` it is (``__table__`` is declared as
    any ``FromClause``): for Core inserts and COPY where the ORM's per-object work is not wanted."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


# SQLite stores NUMERIC without a decimal type; SQLAlchemy converts and warns once per process.
warnings.filterwarnings(
    "ignore", message=".*does \\*not\\* support Decimal objects", category=SAWarning
)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_write_intent: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "write_intent", default=None
)


def _intends_to_write() -> bool:
    """Declared by :func:`write_intent`, else the request's method: GET, HEAD and OPTIONS read,
    other requests write. Outside both, a reader."""
    declared = _write_intent.get()
    if declared is not None:
        return declared
    return has_request_context() and request.method not in READ_METHODS


@contextmanager
def write_intent(intends_to_write: bool = True) -> Iterator[None]:
    """Mark the transactions begun inside as writers (SQLite: ``BEGIN IMMEDIATE``).

    Requests need not: their method declares it. CLI commands that write wrap themselves in it.
    """
    token = _write_intent.set(intends_to_write)
    try:
        yield
    finally:
        _write_intent.reset(token)


BOUNDARY = "trace_boundary"


@overload
def transaction(*, write: bool, bind: Engine) -> AbstractContextManager[Connection]: ...
@overload
def transaction(*, write: bool, bind: Session | None = None) -> AbstractContextManager[Session]: ...
def transaction(
    *, write: bool, bind: Session | Engine | None = None
) -> AbstractContextManager[Session] | AbstractContextManager[Connection]:
    """The one commit boundary: ``with transaction(write=True) as session: ...``.

    ``bind`` is a session (default: ``db.session``), or an engine for work done on a
    connection of its own (the buffered scan ``COPY``). Entering rolls back a read transaction
    the session left open (unflushed changes there are an error), so a writer begins afresh as
    a writer (SQLite: ``BEGIN IMMEDIATE``, the write lock up front). Leaving commits when
    ``write`` and nothing was raised; otherwise everything is rolled back, so nothing is ever
    half-written. A reading boundary (``write=False``) never commits.
    """
    if isinstance(bind, Engine):
        return _connection_transaction(bind, write)
    return _session_transaction(bind if bind is not None else db.session, write)


@contextmanager
def _session_transaction(session: Session, write: bool) -> Iterator[Session]:
    if session.info.get(BOUNDARY):
        raise RuntimeError("a transaction boundary cannot be nested")
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("unflushed changes outside a transaction boundary")
        session.rollback()
    session.info[BOUNDARY] = True
    try:
        with write_intent(write):
            try:
                yield session
                if write:
                    session.commit()
                else:
                    session.rollback()
            except BaseException:
                session.rollback()
                raise
    finally:
        session.info.pop(BOUNDARY, None)


@contextmanager
def _connection_transaction(engine: Engine, write: bool) -> Iterator[Connection]:
    with write_intent(write), engine.connect() as connection, connection.begin() as outer:
        yield connection
        if not write:
            outer.rollback()


def _tune_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for writers.

    pysqlite's own transaction handling begins lazily and upgrades a read lock to a write lock
    mid-transaction, which fails at once under concurrency instead of waiting. We take the
    transaction into our own hands: writers take the write lock when they begin, so concurrent
    writers queue on the busy timeout and ledger appends cannot interleave.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _intends_to_write() else "BEGIN")


def _dump_json(value: Any) -> str:
    # orjson: event documents are (de)serialised on every capture, query and export.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def build_engine(
    url: str | URL, *, echo: bool = False, busy_timeout_ms: int = 15000, pre_ping: bool = False
) -> Engine:
    """The engine for ``url``.

    ``pre_ping`` (``TRACE_DATABASE_PRE_PING``) tests every pooled connection with a round trip
    at checkout. Off by default: it would be one more round trip per request, and without it a
    database restart costs at most one failed request per worker process, since SQLAlchemy
    invalidates the whole pool on the first disconnect error it sees.
    """
    url = make_url(url)
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if url.get_backend_name() == "postgresql":
        kwargs.update(pool_pre_ping=pre_ping, pool_size=10, max_overflow=10)
        # PostgreSQL's JIT compiles plans it deems expensive: seconds for a one-off export or
        # a recursive trace, never repaid by this workload's short queries.
        kwargs["connect_args"] = {"options": "-c jit=off"}
    kwargs.update(json_serializer=_dump_json, json_deserializer=orjson.loads)
    # Batched INSERT … RETURNING (a flush of many new rows): psycopg parses each statement in
    # time that grows faster than its length, so pages of 100 rows beat the default 1,000.
    kwargs["insertmanyvalues_page_size"] = 100
    engine = create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        _tune_sqlite(engine, busy_timeout_ms)
    return engine


def _flag(value: Any) -> bool:
    """A boolean setting, from the environment (``"1"``, ``"true"``, ``"on"``…) or Python."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


class Database:
    """The Flask extension: ``db.init_app(app)``, then ``db.session`` inside a request."""

    def __init__(self) -> None:
        self._engines: dict[int, Engine] = {}
        self._factories: dict[int, sessionmaker[Session]] = {}

    def init_app(self, app: Flask) -> None:
        # Engines connect lazily: binding one here does no I/O.
        engine = build_engine(
            app.config["DATABASE_URL"],
            echo=bool(app.config.get("DATABASE_ECHO")),
            busy_timeout_ms=int(app.config["SQLITE_BUSY_TIMEOUT_MS"]),
            pre_ping=_flag(app.config.get("DATABASE_PRE_PING")),
        )
        self._engines[id(app)] = engine
        self._factories[id(app)] = sessionmaker(engine, expire_on_commit=False)
        app.extensions["trace_db"] = self
        app.teardown_appcontext(self._remove_session)

    def engine_for(self, app: Flask) -> Engine:
        return self._engines[id(app)]

    def use_factory(self, app: Flask, factory: sessionmaker[Session]) -> sessionmaker[Session]:
        """Make every new session of ``app`` come from ``factory``; the previous factory is
        returned. Tests bind all sessions to one connection whose transaction they roll back."""
        previous, self._factories[id(app)] = self._factories[id(app)], factory
        return previous

    def new_session(self, app: Flask) -> Session:
        """A session of ``app``'s own, outside any app context (the job worker's short
        transactions); the caller closes it."""
        return self._factories[id(app)]()

    @property
    def engine(self) -> Engine:
        from flask import current_app

        return self.engine_for(current_app._get_current_object())  # type: ignore[attr-defined]

    @property
    def session(self) -> Session:
        """The session of the current app context, created on first use."""
        if not has_app_context():
            raise RuntimeError("db.session needs an application context")
        session = g.get("_trace_session")
        if session is None:
            from flask import current_app

            factory = self._factories[id(current_app._get_current_object())]  # type: ignore[attr-defined]
            session = factory()
            g._trace_session = session
        return session

    def _remove_session(self, _exc: BaseException | None) -> None:
        session = g.pop("_trace_session", None)
        if session is not None:
            session.rollback()
            session.close()


db = Database()
T = TypeVar("T")


#: Values per ``IN (…)`` query where each value is a bind parameter (SQLite's limit, and
#: PostgreSQL's stack for tuple IN lists); on PostgreSQL a whole array is one parameter.
IN_CHUNK = 500
ARRAY_CHUNK = 20_000


def chunked(session: Session, values: Iterable[T]) -> list[list[T]]:
    """``values`` in the pieces that :func:`one_of` and :func:`pair_of` take in one query."""
    ordered = list(values)
    size = ARRAY_CHUNK if session.get_bind().dialect.name == "postgresql" else IN_CHUNK
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def one_of(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``. On PostgreSQL ``column = ANY(:array)``: one bind parameter, so the
    statement's text is the same whatever the number of values (psycopg splits a statement of
    hundreds of placeholders anew each time, and the planner sees one shape)."""
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(list(values))
    array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
    return column == any_(array)


def pair_of(session: Session, columns: Sequence[Any],
            pairs: Sequence[Sequence[Any]]) -> ColumnElement[bool]:  # fmt: skip
    """``(a, b) IN pairs``; on PostgreSQL against ``unnest`` of one array per column (a tuple IN
    of thousands of pairs runs out of stack there)."""
    if session.get_bind().dialect.name != "postgresql":
        return tuple_(*columns).in_([tuple(p) for p in pairs])
    arrays = [
        bindparam(None, [p[i] for p in pairs], type_=postgresql.ARRAY(c.type))
        for i, c in enumerate(columns)
    ]
    names = (f"k{i}" for i in range(len(columns)))
    keys = func.unnest(*arrays).table_valued(*names).render_derived()
    return tuple_(*columns).in_(select(*keys.c))


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows, each with the same keys, in the session's transaction: with COPY on
    PostgreSQL (several times faster than an INSERT per row for a bulk append such as an
    import's events), an executemany elsewhere. Columns left out get their server default, so
    a column with a client-side default must be given."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    names = list(rows[0])
    missing = [c.name for c in table.columns if c.name not in names and c.default is not None]
    if missing:
        raise ValueError(f"insert_rows: give {', '.join(missing)} (client-side defaults)")
    convert: list[Any] = []
    for name in names:
        kind = table.c[name].type
        if isinstance(kind, JSON):
            convert.append(lambda v: None if v is None else _dump_json(v))
        elif isinstance(kind, TypeDecorator):
            convert.append(lambda v, kind=kind: kind.process_bind_param(v, dialect))
        else:
            convert.append(None)
    columns = ", ".join(dialect.identifier_preparer.quote(n) for n in names)
    statement = f"COPY {dialect.identifier_preparer.format_table(table)} ({columns}) FROM STDIN"
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [row[n] if c is None else c(row[n]) for n, c in zip(names, convert, strict=True)]
            )
