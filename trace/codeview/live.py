"""What one process remembers between page views, kept true by change notifications (PostgreSQL)
or by a change counter read before each view (SQLite).

- **Resolved codes** (:class:`Entry`): the code's batch, product and freshness, as read by one
  statement on the first view. Dropped when a notification names the batch (or everything), when
  this process commits a write (:func:`trace.codeview.changes.watch_local_writes`), and after
  ``PUBLIC_CACHE_SECONDS`` in any case. Whoever caches more of the pages (the public face's
  render cache) is told of the same changes by registering with :func:`on_change`.
- **Scan tallies** of unit codes (:class:`Tally`): the count, first scan and the distinct clients
  the copy warning needs, read with the code and then counted on in memory with every
  scan this process records. Every ``PUBLIC_SCAN_STATS_SECONDS`` (default 30) a tally is read
  again, which brings in the scans other processes recorded: the count shown is exact for this
  process's own views and at most that many seconds behind for the others'.
- **Scans** go to a :class:`~trace.codeview.scanbuffer.ScanBuffer`: written with ``COPY`` on
  PostgreSQL, with one ``executemany`` in one short write transaction on SQLite.

On SQLite the workers share one file and no notifications: each view first reads the counter
the triggers of ``0019_sqlite_change_seq`` move with every write to what a page shows
(:class:`~trace.codeview.changes.ChangeCounter`), and a moved counter drops every code
remembered. A file database only: an in-memory one is private to its connection.

A view that finds its code here does no database work at all. The state belongs to one process:
a gunicorn worker starts it when it has loaded the app and stops it when it exits
(``gunicorn.conf.py``: :func:`start`, :func:`stop`); elsewhere (the development server, tests)
the first page view starts it. It never crosses a fork.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from trace.codeview import scans
from trace.codeview.changes import ChangeCounter, ChangeFeed, Listener, watch_local_writes
from trace.codeview.scanbuffer import ScanBuffer, ScanRow, Writer
from trace.db import db, table_of, transaction
from trace.models import Scan, ScanClient
from trace.services import lookup

EXTENSION = "trace_public_live"
LISTENERS = EXTENSION + "_listeners"
FIRST_CONNECT_SECONDS = 2.0  # how long the first view waits for the feed before reading directly


@dataclass
class Tally:
    """A unit code's scans as far as its page needs them: the count of distinct client hashes
    (one client on one day), the first scan, ``recent``: the hashes first seen in the last day
    (so a repeat scan is not counted again; at most :data:`scans.RECENT_CLIENTS`), and
    ``clients``: the clients behind the copy warning, first seen after ``warning_since`` (the
    window, or the last clear), at most the threshold (beyond, the answer is known). Until the
    tally is read again, a repeat by a client not among ``recent`` counts again; the reread puts
    it right."""

    count: int
    first: dt.datetime | None
    recent: set[str]
    clients: set[str]
    warning_since: dt.datetime | None  # only later scans count towards the warning
    read_at: float

    def add(self, row: ScanRow, copy_clients: int) -> None:
        if row.client_hash in self.recent:
            return  # a repeat: counted once a day
        self.count += 1
        if len(self.recent) < scans.RECENT_CLIENTS:
            self.recent.add(row.client_hash)
        if self.first is None or row.at < self.first:
            self.first = row.at
        if len(self.clients) < copy_clients and (
            self.warning_since is None or row.at > self.warning_since
        ):
            self.clients.add(row.client_hash)

    def stats(self, copy_clients: int) -> scans.ScanStats:
        return scans.stats_from(self.count, self.first, len(self.clients), copy_clients)


@dataclass
class Entry:
    target: lookup.Target
    read_at: float
    tally: Tally | None = None


@dataclass(frozen=True)
class Registry:
    """When the registry was last edited (``None``: it is empty), and when that was read."""

    edited: dt.datetime | None
    read_at: float


@dataclass
class LiveState:
    """One process's remembered codes, its change feed and its scan buffer."""

    feed: ChangeFeed | ChangeCounter | None
    buffer: ScanBuffer
    ttl: float
    stats_ttl: float
    max_entries: int
    known: KnownClients
    #: told of every change after the codes are forgotten (:func:`on_change`)
    listeners: list[Listener] = field(default_factory=list)
    pid: int = field(default_factory=os.getpid)
    generation: int = 0
    #: changes that may touch any page (a registry edit, a truncation, a write of this process)
    everything: int = 0
    _registry: Registry | None = None
    _entries: OrderedDict[str, Entry] = field(default_factory=OrderedDict)
    _by_batch: dict[int, set[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def listening(self) -> bool:
        return self.feed is not None and self.feed.healthy

    def get(self, code: str) -> Entry | None:
        with self._lock:
            entry = self._entries.get(code)
            if entry is None:
                return None
            if time.monotonic() - entry.read_at > self.ttl:
                self._forget(code)
                return None
            self._entries.move_to_end(code)
            return entry

    def put(self, code: str, entry: Entry, generation: int) -> None:
        """Remember ``entry`` unless something changed since it was read (``generation``)."""
        with self._lock:
            if generation != self.generation:
                return
            self._forget(code)
            self._entries[code] = entry
            self._by_batch.setdefault(entry.target.batch_id, set()).add(code)
            while len(self._entries) > self.max_entries:
                self._forget(next(iter(self._entries)))

    def changed(self, batches: frozenset[int] | None) -> None:
        """Forget the codes of ``batches`` (all codes when ``None``), then tell the listeners."""
        with self._lock:
            self.generation += 1
            if batches is None:
                self.everything += 1
                self._registry = None
                self._entries.clear()
                self._by_batch.clear()
            else:
                for batch_id in batches:
                    for code in self._by_batch.pop(batch_id, ()):
                        self._entries.pop(code, None)
        for listener in self.listeners:
            listener(batches)

    def registry(self) -> Registry | None:
        """The latest edit of an organisation, facility or product, as a first view read it
        (:meth:`keep_registry`), until a change that may touch any page; at most ``ttl``
        seconds. ``None``: read it again.

        An edit (UPDATE, DELETE, TRUNCATE) notifies every process that any page may have
        changed, and so does a facility registered (migration ``0023``: earlier events may name
        its GLN). A new organisation or product notifies nothing: pages reach them only through
        rows that already exist."""
        known = self._registry
        if known is not None and time.monotonic() - known.read_at <= self.ttl:
            return known
        return None

    def keep_registry(self, edited: dt.datetime | None, everything: int, read_at: float) -> None:
        """Keep what was read at ``read_at``, unless a change that may touch any page came
        since (``everything``: :attr:`everything` before the read)."""
        with self._lock:
            if everything == self.everything:
                self._registry = Registry(edited, read_at)

    def _forget(self, code: str) -> None:
        entry = self._entries.pop(code, None)
        if entry is not None:
            codes = self._by_batch.get(entry.target.batch_id)
            if codes is not None:
                codes.discard(code)
                if not codes:
                    del self._by_batch[entry.target.batch_id]

    def close(self) -> None:
        if self.feed is not None:
            self.feed.stop()
        self.buffer.close()


# The new clients among written scans (scans.py: one row per code and client hash). In key
# order, so two processes inserting the same keys wait for each other instead of deadlocking.
CLIENTS_SQL = """
INSERT INTO scan_client (code_id, client_hash, first_at)
SELECT c, h, min(a) FROM unnest(%s::integer[], %s::text[], %s::timestamptz[]) AS u(c, h, a)
GROUP BY c, h ORDER BY c, h
ON CONFLICT DO NOTHING
"""


class KnownClients:
    """The (code, client hash) pairs this process has written to ``scan_client``. A repeat scan
    needs no insert there (it would only conflict), and on a code scanned often nearly every
    scan is a repeat: sending them all cost the page about a tenth of its throughput. A client's
    hash changes every day, so old pairs do not come back: the set is emptied when it grows past
    ``limit``, which costs at most one more conflicting insert per pair."""

    def __init__(self, limit: int = 200_000) -> None:
        self.pairs: set[tuple[int, str]] = set()
        self.limit = limit

    def new(self, rows: list[ScanRow]) -> list[ScanRow]:
        """The first scan of each pair among ``rows`` not written before."""
        fresh: dict[tuple[int, str], ScanRow] = {}
        for row in rows:
            if row.code_id is None:
                continue
            key = (row.code_id, row.client_hash)
            if key not in self.pairs and (key not in fresh or row.at < fresh[key].at):
                fresh[key] = row
        return list(fresh.values())

    def written(self, rows: list[ScanRow]) -> None:
        """``rows`` (from :meth:`new`) are committed."""
        if len(self.pairs) + len(rows) > self.limit:
            self.pairs.clear()
        self.pairs.update((r.code_id, r.client_hash) for r in rows if r.code_id is not None)


def _copy_writer(engine: Engine, known: KnownClients) -> Writer:
    """Write scans with one ``COPY`` and their new clients with one insert, in one transaction
    of its own (a named commit boundary), through the driver's own cursor (no SQLAlchemy
    statement events: these writes change no page, so they must not drop the cache)."""
    columns = ", ".join(ScanRow._fields)

    def write(rows: list[ScanRow]) -> None:
        keyed = known.new(rows)
        with transaction(write=True, bind=engine) as connection:
            try:
                driver = connection.connection.driver_connection
                assert driver is not None
                with driver.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
                    with cursor.copy(f"COPY scan ({columns}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                    if keyed:
                        cursor.execute(CLIENTS_SQL, ([r.code_id for r in keyed],
                                                     [r.client_hash for r in keyed],
                                                     [r.at for r in keyed]))  # fmt: skip
            except Exception:
                connection.invalidate()
                raise
        known.written(keyed)

    return write


_INSERT_SCANS: Any = table_of(Scan).insert()
_INSERT_CLIENTS: Any = sqlite_insert(table_of(ScanClient)).on_conflict_do_nothing()


def _sqlite_writer(engine: Engine, known: KnownClients) -> Writer:
    """SQLite: the scans and their new clients with one ``executemany`` each, in one short
    write transaction (``BEGIN IMMEDIATE``: it waits its turn on the busy timeout; views only
    read, and in WAL mode readers never wait for it). No change trigger fires on these tables,
    and no local-write watch runs on SQLite, so writing scans drops no remembered code."""

    def write(rows: list[ScanRow]) -> None:
        keyed = known.new(rows)
        with transaction(write=True, bind=engine) as connection:
            connection.execute(_INSERT_SCANS, [row._asdict() for row in rows])
            if keyed:
                connection.execute(
                    _INSERT_CLIENTS,
                    [{"code_id": r.code_id, "client_hash": r.client_hash, "first_at": r.at}
                     for r in keyed],
                )  # fmt: skip
        known.written(keyed)

    return write


def _feed_connection(engine: Engine) -> Any:
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    return engine.dialect.connect(*cargs, **cparams)


def _counter_connection(engine: Engine, busy_timeout_ms: int) -> Any:
    """A reading ``sqlite3`` connection of the calling thread's own, in autocommit mode (each
    read its own snapshot), closed by :meth:`ChangeCounter.stop` from another thread."""
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    connection = engine.dialect.connect(*cargs, **{**cparams, "check_same_thread": False})
    connection.isolation_level = None
    connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    return connection


def _file_sqlite(engine: Engine) -> bool:
    database = engine.url.database
    return engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")


def wanted(app: Flask, engine: Engine) -> bool:
    """Whether pages of ``app`` are served from a live state: PostgreSQL or a SQLite file,
    with ``PUBLIC_LIVE`` on."""
    usable = engine.dialect.name == "postgresql" or _file_sqlite(engine)
    return usable and bool(app.config["PUBLIC_LIVE"])


def state(app: Flask, engine: Engine) -> LiveState | None:
    """This process's live state, started on first use; ``None`` where pages must read the
    database on every view: neither PostgreSQL nor a SQLite file, ``PUBLIC_LIVE`` off, or the
    feed not listening (SQLite: the counter not read). On SQLite this reads the counter: call
    it once per view, before anything remembered is used."""
    if not wanted(app, engine):
        return None
    live = _ours(app) or _start(app, engine)
    if isinstance(live.feed, ChangeCounter):
        return live if live.feed.poll() else None
    return live if live.listening else None


_START_LOCK = threading.Lock()


def _start(app: Flask, engine: Engine) -> LiveState:
    with _START_LOCK:
        live = _ours(app)
        if live is not None:
            return live
        settings = app.config
        known = KnownClients()
        sqlite = engine.dialect.name == "sqlite"
        writer = (_sqlite_writer if sqlite else _copy_writer)(engine, known)
        buffer = ScanBuffer(writer, float(settings["PUBLIC_SCAN_FLUSH_SECONDS"]))
        live = LiveState(
            feed=None,
            buffer=buffer,
            ttl=float(settings["PUBLIC_CACHE_SECONDS"]),
            stats_ttl=float(settings["PUBLIC_SCAN_STATS_SECONDS"]),
            max_entries=int(settings["PUBLIC_LIVE_ENTRIES"]),
            known=known,
            listeners=app.extensions.setdefault(LISTENERS, []),
        )
        if sqlite:
            timeout = int(settings["SQLITE_BUSY_TIMEOUT_MS"])
            live.feed = ChangeCounter(lambda: _counter_connection(engine, timeout), live.changed)
        else:
            live.feed = ChangeFeed(lambda: _feed_connection(engine), live.changed)
        if not sqlite and not app.extensions.get(EXTENSION + "_watching"):
            watch_local_writes(engine, lambda: _local_write(app))
            app.extensions[EXTENSION + "_watching"] = True
        app.extensions[EXTENSION] = live
        buffer.start()
        live.feed.start()
        live.feed.wait_until_listening(FIRST_CONNECT_SECONDS)
        return live


def on_change(app: Flask, listener: Listener) -> None:
    """Call ``listener`` with the changed batches (``None``: any) whenever the app's live state
    learns of a change: what a face caches beyond the codes is dropped with them (a face
    registers here, codeview imports no face)."""
    app.extensions.setdefault(LISTENERS, []).append(listener)


def start(app: Flask) -> LiveState | None:
    """Start this process's live state now (a gunicorn worker's ``post_worker_init`` hook,
    ``gunicorn.conf.py``), rather than on the first page view; ``None`` where there is none."""
    return state(app, db.engine_for(app))


def _ours(app: Flask) -> LiveState | None:
    """The app's live state if this process started it (never one inherited through a fork)."""
    live: LiveState | None = app.extensions.get(EXTENSION)
    return live if live is not None and live.pid == os.getpid() else None


def _local_write(app: Flask) -> None:
    live = _ours(app)
    if live is not None:
        live.changed(None)


def flush(app: Flask) -> int:
    """Write this process's buffered scans now (tests, CLI); returns how many."""
    live = _ours(app)
    return live.buffer.flush() if live is not None else 0


def forget(app: Flask) -> None:
    """Write this process's buffered scans, then forget every code and client it remembers:
    for a database whose rows were deleted and whose ids start again (tests do that; a
    remembered (code id, client) pair of a deleted code would hide the new code's first scan)."""
    live = _ours(app)
    if live is not None:
        live.buffer.flush()
        live.known.pairs.clear()
        live.changed(None)


def stop(app: Flask) -> None:
    """Stop this process's feed and write its buffered scans."""
    live = _ours(app)
    if live is not None:
        del app.extensions[EXTENSION]
        live.close()


def health(app: Flask) -> tuple[bool, int, int] | None:
    """This process's live state as the admin's status page reports it: (listening to
    changes, scans not yet written, scans dropped); ``None`` when none runs in this process."""
    live = _ours(app)
    if live is None:
        return None
    return live.listening, len(live.buffer.unwritten()), live.buffer.dropped
