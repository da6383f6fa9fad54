"""The public pages' small supply chain (:mod:`tests.public.conftest`), for the read model of a
scanned code."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from tests.public.conftest import chain, recall, unit_code
from trace import create_app
from trace.codeview import live
from trace.db import db

__all__ = ["chain", "recall", "unit_code"]


@pytest.fixture
def other_apps(app: Flask) -> Iterator[Callable[..., Flask]]:
    """``other_apps(**settings)``: another app on the test database, with its own live state
    (another worker); stopped and disconnected at the end."""
    made: list[Flask] = []

    def make(**settings: Any) -> Flask:
        other = create_app({**app.config, "TESTING": True, **settings})
        made.append(other)
        return other

    yield make
    for other in made:
        live.stop(other)
        db.engine_for(other).dispose()
