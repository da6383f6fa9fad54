"""Scans recorded off the request path: kept in memory, written in batches.

A page view appends its scan to a :class:`ScanBuffer`; a daemon thread writes what accumulated
every ``PUBLIC_SCAN_FLUSH_SECONDS`` (default 1 s) in one transaction, and whatever is left when
the process exits. The issue allows it ("one insert, or buffered"), and it takes the last
database write off the page view: one ``COPY`` (PostgreSQL) or one ``executemany`` in one write
transaction (SQLite) of a second's scans costs the database far less than one transaction per
view.

What it costs: a process killed hard (SIGKILL, power loss) loses at most its last second of
scans, the same trade as ``synchronous_commit = off`` made before. When the database is
unreachable, scans wait in memory (at most :data:`MAX_PENDING`; beyond that the oldest are
dropped and counted in the log) and are written when it is back.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import NamedTuple

log = logging.getLogger(__name__)

MAX_PENDING = 200_000


class ScanRow(NamedTuple):
    code_id: int | None
    batch_id: int
    at: dt.datetime
    client_hash: str
    province_code: str | None
    language: str


Writer = Callable[[list[ScanRow]], None]
ByCode = dict[int | None, list[ScanRow]]


def _by_code(rows: list[ScanRow]) -> ByCode:
    index: ByCode = {}
    for row in rows:
        index.setdefault(row.code_id, []).append(row)
    return index


def unwritten_in(snapshot: tuple[ByCode, ByCode], code_id: int | None) -> list[ScanRow]:
    """The rows of ``code_id`` in a :meth:`ScanBuffer.snapshot`."""
    writing, pending = snapshot
    return [*writing.get(code_id, ()), *pending.get(code_id, ())]


class ScanBuffer:
    """Pending scans and the thread that writes them with ``write`` (one transaction a call)."""

    def __init__(self, write: Writer, interval: float, max_pending: int = MAX_PENDING) -> None:
        self._write = write
        self._interval = interval
        self._max = max_pending
        self._pending: list[ScanRow] = []
        self._writing: list[ScanRow] = []
        # The same rows by code: a first view asks for its code's, and a list of a second's
        # scans copied and filtered twice per view cost more than the view's other lookups.
        self._pending_codes: ByCode = {}
        self._writing_codes: ByCode = {}
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="trace-scan-buffer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def add(self, row: ScanRow) -> None:
        with self._lock:
            self._pending.append(row)
            self._pending_codes.setdefault(row.code_id, []).append(row)
            if len(self._pending) > self._max:
                excess = len(self._pending) - self._max
                del self._pending[:excess]
                self._pending_codes = _by_code(self._pending)
                self.dropped += excess

    def unwritten(self, code_id: int | None = None) -> list[ScanRow]:
        """The scans (of ``code_id``, if given) not yet in the database: pending or being
        written."""
        with self._lock:
            if code_id is None:
                return [*self._writing, *self._pending]
            return [*self._writing_codes.get(code_id, ()), *self._pending_codes.get(code_id, ())]

    def snapshot(self) -> tuple[ByCode, ByCode]:
        """What is unwritten now, by code, to look at later (:func:`unwritten_in`): the rows
        being written and pending, without copying them. Rows added after it may show in it."""
        with self._lock:
            return self._writing_codes, self._pending_codes

    def flush(self) -> int:
        """Write what is pending now; return how many scans were written."""
        with self._flush_lock:
            with self._lock:
                rows, self._pending = self._pending, []
                self._writing, self._writing_codes = rows, self._pending_codes
                self._pending_codes = {}
            if not rows:
                return 0
            try:
                self._write(rows)
            except Exception:
                with self._lock:  # keep them, in order, ahead of what arrived meanwhile
                    self._pending[:0] = rows
                    self._pending_codes = _by_code(self._pending)
                    self._writing, self._writing_codes = [], {}
                raise
            with self._lock:
                self._writing, self._writing_codes = [], {}
            return len(rows)

    def close(self) -> None:
        """Stop the thread and write what is left (called at exit)."""
        self._stopping.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(self._interval + 5)
        try:
            self.flush()
        except Exception as exc:  # at exit there is no one left to tell
            log.error("could not write %d buffered scans at exit (%s)", len(self._pending), exc)

    def _run(self) -> None:
        failures = 0
        while not self._stopping.wait(self._interval * min(2**failures, 30)):
            try:
                self.flush()
                failures = 0
            except Exception as exc:  # keep the scans, retry later
                failures += 1
                log.warning("buffered scans not written (%s); %d waiting", type(exc).__name__,
                            len(self._pending))  # fmt: skip
            if self.dropped:
                log.warning("scan buffer full: %d oldest scans dropped", self.dropped)
                self.dropped = 0
