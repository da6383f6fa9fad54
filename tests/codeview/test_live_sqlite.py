"""Pages served from what a process remembers on SQLite, kept true by the change counter that
triggers move (migration ``0019_sqlite_change_seq``); scans written in batches.

"Another worker" is another app on the same database file (its own engine and live state);
"another process" is a plain ``sqlite3`` connection, whose writes pass through no app at all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import make_url

from tests.codeview.support import live_state, scanned_before
from tests.public.conftest import Chain, record
from trace.codeview import live, pageview
from trace.codeview.changes import ChangeCounter
from trace.db import db
from trace.models import Scan, ScanClient

pytestmark = pytest.mark.committed


@pytest.fixture
def lite(app: Flask) -> Flask:
    if db.engine_for(app).dialect.name != "sqlite":
        pytest.skip("the change counter is SQLite's: PostgreSQL notifies (test_live.py)")
    return app


@pytest.fixture
def other_process(lite: Flask) -> Iterator[sqlite3.Connection]:
    path = make_url(lite.config["DATABASE_URL"]).database
    assert path
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA busy_timeout = 15000")
    yield connection
    connection.close()


@pytest.fixture
def worker(lite: Flask, other_apps: Callable[..., Flask]) -> Callable[..., Flask]:
    """``worker(**settings)``: another app on the test database, with its own live state."""
    return other_apps


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The codes the page views resolve from the database (spied on, still resolved)."""
    loaded: list[str] = []
    real = pageview._load

    def spy(code: str, *args: Any) -> Any:
        loaded.append(code)
        return real(code, *args)

    monkeypatch.setattr(pageview, "_load", spy)
    return loaded


def _statements(app: Flask) -> list[str]:
    """Statements sent through ``app``'s engine from now on (the counter has a connection of
    its own, outside the engine)."""
    sent: list[str] = []

    @event.listens_for(db.engine_for(app), "before_cursor_execute")
    def _sent(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    return sent


def test_a_remembered_code_costs_one_read_of_the_counter(
    worker: Callable[..., Flask], chain: Chain, unit_code: Callable[..., str], loads: list[str]
) -> None:
    app = worker(PUBLIC_SCAN_FLUSH_SECONDS=3600)
    client = app.test_client()
    code = unit_code(chain.batch)
    assert client.get(f"/q/{code}?lang=en").status_code == 200  # the page rendered, stored
    assert loads == [code]
    sent = _statements(app)
    for n in range(1, 5):
        page = client.get(f"/q/{code.lower()}?lang=en", environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})
        assert page.status_code == 200
    assert loads == [code] and sent == []  # neither resolved again nor any other statement
    assert scanned_before(page.data) == 4  # the first view's client, then three others
    again = {"REMOTE_ADDR": "10.0.0.4"}  # counted in memory, and a repeat only once a day
    assert scanned_before(client.get(f"/q/{code}?lang=en", environ_base=again).data) == 5
    assert scanned_before(client.get(f"/q/{code}?lang=en", environ_base=again).data) == 5
    assert sent == []
    assert isinstance(live_state(app).feed, ChangeCounter)


def test_another_process_recall_shows_on_the_next_view(
    worker: Callable[..., Flask], chain: Chain, other_process: sqlite3.Connection, loads: list[str]
) -> None:
    client = worker().test_client()
    assert "Nhiễm khuẩn" not in client.get(f"/q/{chain.code}").data.decode()
    client.get(f"/q/{chain.code}")
    assert loads == [chain.code]  # remembered
    other_process.execute(
        "INSERT INTO recall (reason, include_downstream, created_at) "
        "VALUES ('Nhiễm khuẩn', 0, '2026-06-09 00:00:00.000000')"
    )
    other_process.execute(
        "INSERT INTO recall_batch (recall_id, batch_id, direct) SELECT max(id), ?, 1 FROM recall",
        (chain.batch.id,),
    )
    page = client.get(f"/q/{chain.code}?lang=en").data.decode()  # no waiting
    assert "Nhiễm khuẩn" in page and "recalled" in page.lower()
    assert loads == [chain.code, chain.code]


def test_another_process_voiding_a_code_shows_on_the_next_view(
    worker: Callable[..., Flask], chain: Chain, unit_code: Callable[..., str],
    other_process: sqlite3.Connection,
) -> None:  # fmt: skip
    client = worker().test_client()
    code = unit_code(chain.batch)
    assert client.get(f"/q/{code}").status_code == 200
    assert client.get(f"/q/{code}").status_code == 200
    other_process.execute(
        "UPDATE code SET status = 'voided', void_reason = 'misprint' WHERE code = ?", (code,)
    )
    assert client.get(f"/q/{code}").status_code == 410


def test_another_workers_event_and_recall_show_on_the_next_view(
    worker: Callable[..., Flask],
    chain: Chain,
    session: Any,
    recall: Callable[..., Any],
) -> None:
    """Written through another engine (the test app's: another worker), not this one's."""
    first, second = worker().test_client(), worker().test_client()
    for client in (first, second):
        assert "Đóng gói tại kho" not in client.get(f"/q/{chain.code}").data.decode()
    record(session, chain.batch.id, stage="packing", time="2026-06-09T07:00:00+07:00",
           facility_id=chain.cold_store.id, quantity="1700", note="Đóng gói tại kho")  # fmt: skip
    for client in (first, second):
        assert "Đóng gói tại kho" in client.get(f"/q/{chain.code}").data.decode()
    recall(chain.batch, "Dư lượng thuốc bảo vệ thực vật")
    for client in (first, second):
        assert "Dư lượng thuốc bảo vệ thực vật" in client.get(f"/q/{chain.code}").data.decode()


def test_this_process_writes_show_at_once(
    lite: Flask, chain: Chain, recall: Callable[..., Any]
) -> None:
    client = lite.test_client()
    client.get(f"/q/{chain.code}")
    recall(chain.batch, "Dư lượng thuốc bảo vệ thực vật")  # through the app's engine
    assert "Dư lượng thuốc bảo vệ thực vật" in client.get(f"/q/{chain.code}").data.decode()


def test_scans_move_no_counter_and_drop_nothing(
    worker: Callable[..., Flask], chain: Chain, other_process: sqlite3.Connection,
    loads: list[str],
) -> None:  # fmt: skip
    app = worker(PUBLIC_SCAN_FLUSH_SECONDS=3600)
    client = app.test_client()
    client.get(f"/q/{chain.code}")
    seq = other_process.execute("SELECT seq FROM public_change").fetchone()
    assert live.flush(app) == 1
    other_process.execute(
        "INSERT INTO scan (code_id, batch_id, at, client_hash, language) "
        "SELECT id, batch_id, '2026-06-09 00:00:00.000000', 'other', 'vi' FROM code "
        "WHERE code = ?",
        (chain.code,),
    )
    assert other_process.execute("SELECT seq FROM public_change").fetchone() == seq
    client.get(f"/q/{chain.code}")
    assert loads == [chain.code]


def test_triggers_move_the_counter_for_what_a_page_shows(
    lite: Flask, chain: Chain, other_process: sqlite3.Connection
) -> None:
    def seq() -> int:
        return int(other_process.execute("SELECT seq FROM public_change").fetchone()[0])

    for statement, moves in (
        ("UPDATE facility SET name = name", True),
        ("UPDATE product SET name_en = name_en", True),
        ("UPDATE organization SET name = name", True),
        ("UPDATE batch SET quantity = 42 WHERE id = -1", False),  # no rows
        ("UPDATE event SET record_time = record_time", True),
        ("INSERT INTO code (code, kind, batch_id, status, issued_at) "
         "SELECT 'TESTCODE0001', 'unit', id, 'issued', '2026-06-09' FROM batch LIMIT 1", False),
        ("INSERT INTO code (code, kind, batch_id, status, issued_at) "
         "SELECT 'TESTCODE0002', 'batch', id, 'issued', '2026-06-09' FROM batch LIMIT 1", True),
        ("DELETE FROM batch_link", True),
        ("UPDATE scan_client SET first_at = first_at", False),
    ):  # fmt: skip
        before = seq()
        other_process.execute(statement)
        assert (seq() != before) is moves, statement


def test_a_deleted_counter_row_comes_back_at_a_value_not_seen(
    lite: Flask, chain: Chain, other_process: sqlite3.Connection
) -> None:
    other_process.execute("DELETE FROM public_change")
    other_process.execute("UPDATE batch SET quantity = quantity")
    values = {int(other_process.execute("SELECT seq FROM public_change").fetchone()[0])}
    for _ in range(3):
        other_process.execute("DELETE FROM public_change")
        other_process.execute("UPDATE batch SET quantity = quantity")
        values.add(int(other_process.execute("SELECT seq FROM public_change").fetchone()[0]))
    assert len(values) == 4


def test_without_the_counter_row_pages_read_the_database(
    worker: Callable[..., Flask], chain: Chain, other_process: sqlite3.Connection,
    count: Callable[[type], int],
) -> None:  # fmt: skip
    app = worker()
    client = app.test_client()
    client.get(f"/q/{chain.code}")
    other_process.execute("DELETE FROM public_change")
    assert live.state(app, db.engine_for(app)) is None
    assert client.get(f"/q/{chain.code}").status_code == 200
    live.flush(app)
    assert count(Scan) == 2  # the buffered first view and the fallback's own insert
    other_process.execute("UPDATE batch SET quantity = quantity")  # the row is back
    assert live.state(app, db.engine_for(app)) is not None


def test_scans_are_buffered_then_written_together_and_at_stop(
    worker: Callable[..., Flask], chain: Chain, unit_code: Callable[..., str],
    count: Callable[[type], int],
) -> None:  # fmt: skip
    app = worker(PUBLIC_SCAN_FLUSH_SECONDS=3600)
    client = app.test_client()
    code = unit_code(chain.batch)
    for n in range(3):
        assert (
            client.get(f"/q/{code}", environ_base={"REMOTE_ADDR": f"10.0.2.{n}"}).status_code == 200
        )
    assert count(Scan) == 0  # ``count`` writes the test app's buffer, not this one's
    assert live.flush(app) == 3
    assert count(Scan) == 3 and count(ScanClient) == 3
    client.get(f"/q/{code}")
    live.stop(app)
    assert count(Scan) == 4


def test_scan_counts_catch_up_with_other_workers(
    worker: Callable[..., Flask], chain: Chain, unit_code: Callable[..., str],
    other_process: sqlite3.Connection,
) -> None:  # fmt: skip
    app = worker(PUBLIC_SCAN_STATS_SECONDS=0, PUBLIC_SCAN_FLUSH_SECONDS=3600)
    client = app.test_client()
    code = unit_code(chain.batch)
    client.get(f"/q/{code}")  # one scan, still in this process's buffer
    for n in range(11):
        other_process.execute(
            "INSERT INTO scan_client (code_id, client_hash, first_at) "
            "SELECT id, ?, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM code WHERE code = ?",
            (f"other-{n}", code),
        )
    page = client.get(f"/q/{code}?lang=en").data.decode()
    assert "scanned 12 times before" in page  # 11 from the database, 1 not yet written
    assert "This label may be a copy" in page  # 12 distinct clients
