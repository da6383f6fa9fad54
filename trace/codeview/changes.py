"""Knowing, without asking the database, that nothing a cached page shows has changed.

Why: on PostgreSQL a page view used to cost one round trip to read the batch's freshness. Under
load that round trip (and the database process it wakes) cost more than everything else the
view does. Now each process keeps what it resolved (:mod:`trace.codeview.live`) and is told when
it changes:

- **Other processes' writes** arrive as ``NOTIFY trace_changed`` from the triggers of migration
  ``0003_change_notify`` (the changed batches' ids, or ``*``). A :class:`ChangeFeed` thread per
  process listens on a connection of its own.
- **This process's own writes** are seen synchronously: :func:`watch_local_writes` marks a
  connection that ran an INSERT, UPDATE, DELETE or TRUNCATE and reports at its commit, so a
  producer who records an event and opens the page at once sees it, whatever the timing of the
  notification.

SQLite has no NOTIFY: a :class:`ChangeCounter` reads the one-row counter that triggers (migration
``0019_sqlite_change_seq``) move with every such write, once before each view, and drops
everything when it moved. One indexed read of one row, where resolving the code read a dozen.

While the feed is not listening (before it has connected, after the connection dropped) it
reports itself unhealthy and the pages read from the database as before; on (re)connecting it
drops everything, since notifications may have been missed.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

CHANNEL = "trace_changed"
ALL = None  # what a listener receives when any page may have changed

Listener = Callable[[frozenset[int] | None], None]

_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|TRUNCATE)\b", re.IGNORECASE)


def parse_payload(payload: str) -> frozenset[int] | None:
    """The batch ids of a notification, or ``None`` (:data:`ALL`) for ``*`` or anything odd."""
    try:
        return frozenset(int(part) for part in payload.split(",")) if payload != "*" else ALL
    except ValueError:
        return ALL


class ChangeFeed:
    """A daemon thread holding ``LISTEN trace_changed`` on its own connection.

    ``connect`` opens a DB-API (psycopg 3) connection; ``listener`` is called from the thread
    with the changed batch ids, or :data:`ALL`.
    """

    def __init__(self, connect: Callable[[], Any], listener: Listener, retry_seconds: float = 2.0):
        self._connect = connect
        self._listener = listener
        self._retry = retry_seconds
        self._healthy = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: Any = None

    @property
    def healthy(self) -> bool:
        return self._healthy.is_set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="trace-change-feed", daemon=True)
        self._thread.start()

    def wait_until_listening(self, timeout: float) -> bool:
        return self._healthy.wait(timeout)

    def stop(self) -> None:
        self._stopping.set()
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(Exception):  # best effort at shutdown
                connection.cancel()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._listen()
            except Exception as exc:  # any failure: drop the caches and retry
                if self._stopping.is_set():
                    break
                log.warning("change feed lost (%s); retrying", type(exc).__name__)
            finally:
                self._healthy.clear()
                self._listener(ALL)
                self._close()
            self._stopping.wait(self._retry)

    def _listen(self) -> None:
        self._connection = connection = self._connect()
        connection.autocommit = True
        connection.execute(f"LISTEN {CHANNEL}")
        # Anything cached before this point may have missed a notification.
        self._listener(ALL)
        self._healthy.set()
        while not self._stopping.is_set():
            for note in connection.notifies(timeout=1.0):
                self._listener(parse_payload(note.payload))

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # already broken
                connection.close()


SEQ_SQL = "SELECT seq FROM public_change WHERE id = 1"


class ChangeCounter:
    """SQLite's change feed: :meth:`poll` (before each view) reads ``public_change.seq`` on a
    connection of the calling thread's own (opened by ``connect``, a DB-API ``sqlite3``
    connection in autocommit mode) and calls ``listener`` with :data:`ALL` when it moved. A
    write is seen by the first view that begins after its commit, in every process: the
    triggers change the counter in the write's own transaction. Without the row (or when the
    read fails) it reports itself unhealthy, and pages read the database."""

    def __init__(self, connect: Callable[[], Any], listener: Listener) -> None:
        self._connect = connect
        self._listener = listener
        self._local = threading.local()
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        self._seen: int | None = None
        self._healthy = False

    @property
    def healthy(self) -> bool:
        return self._healthy

    def start(self) -> None:
        self.poll()

    def wait_until_listening(self, _timeout: float) -> bool:
        return self._healthy

    def poll(self) -> bool:
        """Read the counter; drop everything if it moved (or cannot be read). Whether it was
        read."""
        try:
            connection = getattr(self._local, "connection", None)
            if connection is None:
                connection = self._local.connection = self._connect()
                with self._lock:
                    self._connections.append(connection)
            row = connection.execute(SEQ_SQL).fetchone()
            seq = None if row is None else int(row[0])
        except Exception as exc:  # a broken connection: open another next time
            if self._healthy:  # once per outage, not on every view
                log.warning("change counter not read (%s)", type(exc).__name__)
            self._local.connection = None
            seq = None
        if seq is None or seq != self._seen:
            self._listener(ALL)
        self._seen = seq
        self._healthy = seq is not None
        return self._healthy

    def stop(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            with contextlib.suppress(Exception):  # best effort at shutdown
                connection.close()
        self._healthy = False


def watch_local_writes(engine: Engine, listener: Callable[[], None]) -> None:
    """Call ``listener`` when a transaction of ``engine`` that wrote commits (in this process).

    Statements are matched by their SQL text, so ORM flushes, Core statements and raw SQL all
    count. A read-only transaction (a page rendered from the database) drops nothing.
    """

    @event.listens_for(engine, "after_cursor_execute")
    def _mark(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if _WRITES.search(statement):
            conn.info["trace_wrote"] = True

    @event.listens_for(engine, "commit")
    def _committed(conn: Any) -> None:
        if conn.info.pop("trace_wrote", False):
            listener()

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn: Any) -> None:
        conn.info.pop("trace_wrote", None)
