"""The garbage collector in long-lived processes: the gunicorn workers (``gunicorn.conf.py``), the
job worker and the CLI import.

A full collection walks every tracked object, and after start-up some 178,000 of them (the
application, its modules, schemas and compiled checks) live as long as the process and are
never garbage. At 100,000 import rows the preview spent ~4.2 s of its 21.7 s CPU in collections,
nearly all of it walking those; :func:`gc.freeze` moves them to a generation collections skip
(in a web worker, a full collection pauses whichever request triggers it).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

#: The young generation's threshold during an import (job or CLI). Measured at 100,000 event
#: rows on PostgreSQL (tests/bench/bench_imports.py, app frozen): preview 19.3 -> 17.4 s CPU
#: (collections 2.5 -> 0.7 s), commit 32.1 -> 26.0 s CPU (8.0 -> 2.5 s), the same peak memory.
IMPORT_YOUNG_THRESHOLD = 10_000


def freeze_startup_objects() -> int:
    """Collect once, then keep every object alive now out of later collections; returns how
    many are frozen. Call it when the process has loaded what it keeps (app, job kinds)."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


@contextlib.contextmanager
def young_threshold(allocations: int) -> Iterator[None]:
    """Collect the youngest generation only every ``allocations`` net container allocations
    (700 by default) while the block runs, then as before: bulk work makes many objects that
    live for a chunk, which frequent young collections would walk and promote again and again."""
    before = gc.get_threshold()
    gc.set_threshold(allocations, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
