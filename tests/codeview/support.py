"""Helpers shared by the live-state tests of both databases."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from flask import Flask

from trace.codeview import live


def scanned_before(html: bytes) -> int:
    """The scan count a unit code's page states."""
    match = re.search(rb"scanned (\d+) times? before", html)
    assert match, "no scan count on the page"
    return int(match.group(1))


def live_state(app: Flask) -> live.LiveState:
    """The app's live state (started)."""
    state = app.extensions.get(live.EXTENSION)
    assert state is not None
    return state  # type: ignore[no-any-return]


def until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Whether ``condition`` holds within ``seconds`` (a notification arrives, a thread writes)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()
