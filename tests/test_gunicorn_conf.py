"""gunicorn.conf.py: each worker starts its public-page threads when it has loaded the app, and
stops them (buffered scans written) when it exits."""

from __future__ import annotations

import gc
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask

from trace import create_app
from trace.codeview import live
from trace.db import db

CONF = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"


def test_worker_hooks_start_and_stop_the_live_state(app: Flask) -> None:
    if db.engine_for(app).dialect.name != "postgresql":
        pytest.skip("the live state runs on PostgreSQL: this runs in CI's PostgreSQL pass")
    hooks = runpy.run_path(str(CONF))
    served = create_app({**app.config, "TESTING": True})
    worker = SimpleNamespace(wsgi=served)
    try:
        assert live._ours(served) is None
        hooks["post_worker_init"](worker)
        state = live._ours(served)
        assert state is not None and state.listening  # before any request
        hooks["worker_exit"](None, worker)
        assert live._ours(served) is None
    finally:
        live.stop(served)
        db.engine_for(served).dispose()


def test_the_hooks_do_nothing_without_a_live_state() -> None:
    hooks = runpy.run_path(str(CONF))
    served = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x"})
    worker = SimpleNamespace(wsgi=served)
    hooks["post_worker_init"](worker)
    assert live._ours(served) is None
    hooks["worker_exit"](None, worker)


def test_the_worker_freezes_what_it_loaded_out_of_the_collector() -> None:
    hooks = runpy.run_path(str(CONF))
    served = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x"})
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        hooks["post_worker_init"](SimpleNamespace(wsgi=served))
        assert gc.get_freeze_count() > 0
        assert not any(served is o for o in gc.get_objects())  # out of the tracked generations
    finally:
        gc.unfreeze()
