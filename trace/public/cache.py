"""A small per-process cache of rendered page parts, keyed by the data's freshness.

Not shared state: every view knows its batch's freshness (read from the database, or remembered
until a change is reported, :mod:`trace.codeview.live`) and the key includes it, so a new event,
a recall, a voided code or an edit of the batch, product or producer misses at once, in every
process. A page also shows what its freshness token does not cover (the places of its stages,
its inputs' farms, certificates): where a live state runs, it reports every change it learns of
(:func:`drop_changed`, registered by :func:`init_app`) and the changed batches' entries are
dropped (every entry when the change's scope is unknown, as on SQLite's counter). Entries also
expire after ``PUBLIC_CACHE_SECONDS`` (default 60), which bounds how long such an edit takes to
show where no live state runs (``PUBLIC_LIVE`` off, an in-memory database, a feed not
listening). ``PUBLIC_CACHE_SECONDS = 0`` turns the cache off.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask import Flask, current_app

from trace.codeview import live

MAX_ENTRIES = 4096
EXTENSION = "trace_public_cache"
# How many batches' last drops are remembered for the parts being made meanwhile; beyond, the
# record is emptied and every part being made is treated as made before a drop (not stored).
MAX_DROPPED = 10_000


class RenderCache:
    """Entries tagged with their batch can be dropped by batch (:meth:`drop`). A part made while
    its batch (or everything) was dropped is returned but not kept: it may have been made from
    what the change replaced."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, Any, int | None]] = OrderedDict()
        self._by_batch: dict[int, set[Hashable]] = {}
        self._lock = threading.Lock()
        self._max = max_entries
        self._drops = 0  # how many drops so far
        self._all_dropped = 0  # the drop count after the last drop of everything
        self._dropped: dict[int, int] = {}  # batch -> the drop count after its last drop

    def get_or_make(
        self, key: Hashable, ttl: float, make: Callable[[], Any], batch: int | None = None
    ) -> Any:
        if ttl <= 0:
            return make()
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                self._entries.move_to_end(key)
                return hit[1]
            seen = self._drops
        value = make()
        with self._lock:
            if not self._dropped_since(seen, batch):
                self._keep(key, now + ttl, value, batch)
        return value

    def put(self, key: Hashable, ttl: float, value: Any, batch: int | None = None) -> None:
        if ttl <= 0:
            return
        with self._lock:
            self._keep(key, time.monotonic() + ttl, value, batch)

    def drop(self, batches: frozenset[int] | None) -> None:
        """Forget the entries of ``batches`` (every entry when ``None``)."""
        with self._lock:
            self._drops += 1
            if batches is None or len(self._dropped) + len(batches) > MAX_DROPPED:
                self._all_dropped = self._drops
                self._dropped.clear()
            if batches is None:
                self._entries.clear()
                self._by_batch.clear()
                return
            for batch in batches:
                self._dropped[batch] = self._drops
                for key in self._by_batch.pop(batch, ()):
                    self._entries.pop(key, None)

    def clear(self) -> None:
        self.drop(None)

    def _dropped_since(self, seen: int, batch: int | None) -> bool:
        if self._all_dropped > seen:
            return True
        return batch is not None and self._dropped.get(batch, 0) > seen

    def _keep(self, key: Hashable, expires: float, value: Any, batch: int | None) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._untag(key, old[2])
        self._entries[key] = (expires, value, batch)
        if batch is not None:
            self._by_batch.setdefault(batch, set()).add(key)
        while len(self._entries) > self._max:
            oldest, (_expires, _value, tag) = self._entries.popitem(last=False)
            self._untag(oldest, tag)

    def _untag(self, key: Hashable, batch: int | None) -> None:
        if batch is None:
            return
        keys = self._by_batch.get(batch)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_batch[batch]


def _of(app: Flask) -> RenderCache:
    ext: RenderCache | None = app.extensions.get(EXTENSION)
    if ext is None:
        ext = app.extensions[EXTENSION] = RenderCache()
    return ext


def cache() -> RenderCache:
    return _of(current_app)


def cached(key: Hashable, make: Callable[[], Any], batch: int | None = None) -> Any:
    """``make()`` kept under ``key``; ``batch``: the batch whose changes drop it."""
    ttl = float(current_app.config.get("PUBLIC_CACHE_SECONDS", 60))
    return cache().get_or_make(key, ttl, make, batch)


def init_app(app: Flask) -> None:
    """Drop what the app's live state learns has changed (codeview imports no face: the face
    registers)."""
    live.on_change(app, lambda batches: _of(app).drop(batches))
