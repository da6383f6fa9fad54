"""gunicorn settings and hooks for the service: ``gunicorn -c gunicorn.conf.py wsgi:app``
(``scripts/run.sh``, which ``scripts/serve.sh`` runs, uses it with the bind address, workers and
access log; gunicorn also reads it by itself when started from the checkout).

Each worker's public-page live state (the change feed's thread and the scan buffer's thread,
:mod:`trace.codeview.live`) is started when the worker has loaded the app, before its first
request, and stopped (buffered scans written) when the worker exits. Threads never cross the
fork: the arbiter loads no app (no ``preload_app``).
"""

from __future__ import annotations

from typing import Any


def post_worker_init(worker: Any) -> None:
    """After the worker loaded the app (``post_fork`` runs before it is loaded).

    Then the objects alive now (the app, its modules, templates and live state: about 180,000)
    are frozen out of the garbage collector, so its full collections, which pause a request,
    stop walking them on every pass; they live as long as the worker anyway."""
    from trace.codeview import live
    from trace.collector import freeze_startup_objects

    live.start(worker.wsgi)
    freeze_startup_objects()


def worker_exit(_server: Any, worker: Any) -> None:
    from trace.codeview import live

    app = getattr(worker, "wsgi", None)
    if app is not None:
        live.stop(app)
