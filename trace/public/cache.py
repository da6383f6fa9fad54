"""A small per-process cache of rendered page parts, keyed by the data's freshness.

Not shared state: every view knows its batch's freshness (read from the database, or on
PostgreSQL remembered until a change notification drops it, :mod:`trace.codeview.live`) and the
key includes it, so a new event, a recall, a voided code or an edit of the batch, product or
producer misses at once, in every process. Entries also expire after ``PUBLIC_CACHE_SECONDS``
(default 60), which bounds how long an edit of something the key does not cover takes to show
where no notification reports it (SQLite). ``PUBLIC_CACHE_SECONDS = 0`` turns the cache off.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app

MAX_ENTRIES = 4096


class RenderCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def get_or_make(self, key: Hashable, ttl: float, make: Callable[[], Any]) -> Any:
        if ttl <= 0:
            return make()
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                self._entries.move_to_end(key)
                return hit[1]
        value = make()
        with self._lock:
            self._entries[key] = (now + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return value

    def put(self, key: Hashable, ttl: float, value: Any) -> None:
        if ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def cache() -> RenderCache:
    ext = current_app.extensions.get("trace_public_cache")
    if ext is None:
        ext = current_app.extensions["trace_public_cache"] = RenderCache()
    return ext


def cached(key: Hashable, make: Callable[[], Any]) -> Any:
    ttl = float(current_app.config.get("PUBLIC_CACHE_SECONDS", 60))
    return cache().get_or_make(key, ttl, make)
