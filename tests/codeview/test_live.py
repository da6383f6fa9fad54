"""Pages served from what a process remembers (PostgreSQL), kept true by change notifications;
scans written in batches.

"Another process" is played by a plain psycopg connection: its writes do not pass through the
app's engine, so only the triggers' NOTIFY can tell the app about them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from tests.codeview.support import live_state, scanned_before, until
from tests.public.conftest import Chain
from trace import create_app
from trace.codeview import live, pageview
from trace.codeview.changes import parse_payload
from trace.codeview.scanbuffer import ScanBuffer, ScanRow
from trace.db import db
from trace.models import Scan

# Other processes, LISTEN/NOTIFY and the scan COPY see only committed data.
pytestmark = pytest.mark.committed

NOW = dt.datetime(2026, 6, 8, 5, 30, tzinfo=dt.UTC)


def _row(code_id: int | None = 1, client: str = "c" * 64) -> ScanRow:
    return ScanRow(code_id, 1, NOW, client, None, "vi")


# Notification payloads and the buffer, on their own --------------------------------------------


def test_payloads_name_batches_or_everything() -> None:
    assert parse_payload("3,17,42") == frozenset({3, 17, 42})
    assert parse_payload("*") is None
    assert parse_payload("3,x") is None  # anything odd: assume everything changed


def test_buffer_writes_in_order_and_keeps_what_failed() -> None:
    written: list[list[ScanRow]] = []
    failing = [True]

    def write(rows: list[ScanRow]) -> None:
        if failing[0]:
            raise ConnectionError("database down")
        written.append(rows)

    buffer = ScanBuffer(write, interval=3600)
    first, second, third = _row(1), _row(2), _row(3)
    buffer.add(first)
    buffer.add(second)
    with pytest.raises(ConnectionError):
        buffer.flush()
    assert [r.code_id for r in buffer.unwritten(1)] == [1]  # kept, still counted for its code
    buffer.add(third)
    failing[0] = False
    assert buffer.flush() == 3
    assert written == [[first, second, third]]
    assert buffer.flush() == 0 and list(buffer.unwritten(1)) == []


def test_buffer_drops_the_oldest_beyond_its_bound_and_writes_the_rest_at_close() -> None:
    written: list[ScanRow] = []
    buffer = ScanBuffer(written.extend, interval=3600, max_pending=3)
    for code_id in range(5):
        buffer.add(_row(code_id))
    assert buffer.dropped == 2
    buffer.close()
    assert [r.code_id for r in written] == [2, 3, 4]


def test_buffer_thread_writes_every_interval() -> None:
    written: list[ScanRow] = []
    buffer = ScanBuffer(written.extend, interval=0.05)
    buffer.start()
    try:
        buffer.add(_row())
        deadline = time.monotonic() + 5
        while not written and time.monotonic() < deadline:
            time.sleep(0.02)
        assert written == [_row()]
    finally:
        buffer.close()


# The live path on PostgreSQL ---------------------------------------------------------------------


def _is_postgresql(app: Flask) -> bool:
    return db.engine_for(app).dialect.name == "postgresql"


@pytest.fixture
def pg(app: Flask) -> Flask:
    if not _is_postgresql(app):
        pytest.skip("LISTEN/NOTIFY needs PostgreSQL: this runs in CI's PostgreSQL pass")
    return app


@pytest.fixture
def other_process(pg: Flask) -> Iterator[psycopg.Connection[Any]]:
    url = make_url(pg.config["DATABASE_URL"]).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        yield conn


@pytest.fixture
def live_app(pg: Flask, other_apps: Callable[..., Flask]) -> Callable[..., Flask]:
    """``live_app(**settings)``: another app on the test database, with its own live state."""
    return other_apps


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements the page views send (spied on, still executed)."""
    sent: list[str] = []
    real = pageview._execute

    def spy(sql: str, params: dict[str, Any]) -> Any:
        sent.append(sql)
        return real(sql, params)

    monkeypatch.setattr(pageview, "_execute", spy)
    return sent


def _remembered(app: Flask, path: str, key: str) -> None:
    """View ``path`` until ``key`` stays remembered: the notifications of the set-up's own writes
    may arrive after the first view and drop what it read."""
    client = app.test_client()

    def settled() -> bool:
        assert client.get(path).status_code == 200
        time.sleep(0.1)
        return live_state(app).get(key) is not None

    assert until(settled)


def test_a_remembered_code_is_served_without_the_database(
    pg: Flask, chain: Chain, unit_code: Callable[..., str], statements: list[str]
) -> None:
    client = pg.test_client()
    code = unit_code(chain.batch)
    assert client.get(f"/q/{code}").status_code == 200
    assert len(statements) == 1  # the first view resolves the code
    _remembered(pg, f"/q/{code}", code)
    statements.clear()
    for n in range(5):
        page = client.get(f"/q/{code.lower()}?lang=en", environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})
        assert page.status_code == 200
    assert statements == []
    before = scanned_before(page.data)
    assert before == 5  # the first view and the settling ones (one client), then four others
    again = {"REMOTE_ADDR": "10.0.0.4"}  # counted in memory, and a repeat only once a day
    assert scanned_before(client.get(f"/q/{code}?lang=en", environ_base=again).data) == 6
    assert scanned_before(client.get(f"/q/{code}?lang=en", environ_base=again).data) == 6
    assert statements == []


def test_another_process_edit_shows_on_the_next_view(
    pg: Flask, chain: Chain, other_process: psycopg.Connection[Any], statements: list[str]
) -> None:
    client = pg.test_client()
    assert "Nhiễm khuẩn" not in client.get(f"/q/{chain.code}").data.decode()
    _remembered(pg, f"/q/{chain.code}", chain.code)
    state = live_state(pg)
    statements.clear()
    other_process.execute(
        "WITH r AS (INSERT INTO recall (reason, include_downstream, created_at) "
        "VALUES ('Nhiễm khuẩn', false, now()) RETURNING id) "
        "INSERT INTO recall_batch (recall_id, batch_id, direct) SELECT id, %s, true FROM r",
        (chain.batch.id,),
    )
    assert until(lambda: state.get(chain.code) is None), "no notification arrived"
    page = client.get(f"/q/{chain.code}?lang=en").data.decode()
    assert "Nhiễm khuẩn" in page and "recalled" in page.lower()
    assert len(statements) == 1  # read again once, then remembered


def test_a_change_to_another_batch_keeps_this_one(
    pg: Flask, chain: Chain, other_process: psycopg.Connection[Any]
) -> None:
    _remembered(pg, f"/q/{chain.code}", chain.code)
    _remembered(pg, f"/q/{chain.juice_code}", chain.juice_code)
    state = live_state(pg)
    other_process.execute("UPDATE batch SET quantity = 42 WHERE id = %s", (chain.juice.id,))
    assert until(lambda: state.get(chain.juice_code) is None)
    assert state.get(chain.code) is not None


def test_this_process_writes_show_at_once(
    pg: Flask, chain: Chain, recall: Callable[..., Any]
) -> None:
    client = pg.test_client()
    client.get(f"/q/{chain.code}")
    recall(chain.batch, "Dư lượng thuốc bảo vệ thực vật")  # through the app's engine
    page = client.get(f"/q/{chain.code}").data.decode()  # no waiting for the notification
    assert "Dư lượng thuốc bảo vệ thực vật" in page


def test_scans_are_buffered_then_written_together(
    live_app: Callable[..., Flask], chain: Chain, count: Callable[[type], int]
) -> None:
    app = live_app(PUBLIC_SCAN_FLUSH_SECONDS=3600)
    client = app.test_client()
    for _ in range(3):
        assert client.get(f"/q/{chain.code}").status_code == 200
    assert count(Scan) == 0  # ``count`` writes the test app's buffer, not this one's
    assert live.flush(app) == 3
    assert count(Scan) == 3


def test_buffered_scans_are_written_when_the_process_stops(
    live_app: Callable[..., Flask], chain: Chain, count: Callable[[type], int]
) -> None:
    app = live_app(PUBLIC_SCAN_FLUSH_SECONDS=3600)
    app.test_client().get(f"/q/{chain.code}")
    live.stop(app)
    assert count(Scan) == 1


def test_scan_counts_catch_up_with_other_processes(
    live_app: Callable[..., Flask],
    chain: Chain,
    unit_code: Callable[..., str],
    other_process: psycopg.Connection[Any],
) -> None:
    app = live_app(PUBLIC_SCAN_STATS_SECONDS=0, PUBLIC_SCAN_FLUSH_SECONDS=3600)
    client = app.test_client()
    code = unit_code(chain.batch)
    client.get(f"/q/{code}")  # one scan, still in this process's buffer
    other_process.execute(
        "INSERT INTO scan (code_id, batch_id, at, client_hash, language) "
        "SELECT id, batch_id, now(), 'other-' || n, 'vi' FROM code, generate_series(1, 11) n "
        "WHERE code = %s",
        (code,),
    )
    other_process.execute(
        "INSERT INTO scan_client (code_id, client_hash, first_at) "
        "SELECT code_id, client_hash, at FROM scan WHERE client_hash LIKE 'other-%%'"
    )
    page = client.get(f"/q/{code}?lang=en").data.decode()
    assert "scanned 12 times before" in page  # 11 from the database, 1 not yet written
    assert "This label may be a copy" in page  # 12 distinct clients


def test_without_the_feed_pages_read_the_database(
    live_app: Callable[..., Flask], chain: Chain, count: Callable[[type], int]
) -> None:
    app = live_app()
    client = app.test_client()
    client.get(f"/q/{chain.code}")
    live.flush(app)  # this app's buffer (its thread may have written the scan already)
    assert count(Scan) == 1
    state = live_state(app)
    assert state.feed is not None
    state.feed.stop()
    assert live.state(app, db.engine_for(app)) is None
    assert client.get(f"/q/{chain.code}").status_code == 200
    assert state.buffer.unwritten() == []  # nothing buffered: the fallback wrote its scan
    assert count(Scan) == 2


def test_the_feed_reconnects_after_losing_its_connection(
    live_app: Callable[..., Flask], chain: Chain, other_process: psycopg.Connection[Any]
) -> None:
    app = live_app()
    client = app.test_client()
    _remembered(app, f"/q/{chain.code}", chain.code)
    state = live_state(app)
    other_process.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE query = 'LISTEN trace_changed' AND pid <> pg_backend_pid()"
    )
    assert until(lambda: state.get(chain.code) is None)  # dropped: it may have missed changes
    assert until(lambda: state.listening, seconds=10)
    assert client.get(f"/q/{chain.code}").status_code == 200
    assert state.get(chain.code) is not None


def test_triggers_name_the_changed_batches(
    pg: Flask, chain: Chain, other_process: psycopg.Connection[Any]
) -> None:
    url = make_url(pg.config["DATABASE_URL"]).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as listener:
        listener.execute("LISTEN trace_changed")
        other_process.execute(
            "UPDATE code SET status = status WHERE batch_id = %s", [chain.juice.id]
        )
        other_process.execute(
            "UPDATE product SET name_en = name_en WHERE id = %s", [chain.product.id]
        )
        other_process.execute("UPDATE batch SET quantity = quantity WHERE id = -1")  # no rows
        other_process.execute(  # a unit code changes no page yet; a batch-level code does
            "INSERT INTO code (code, kind, batch_id, status, issued_at) "
            "VALUES ('TESTCODE0001', 'unit', %s, 'issued', now()), "
            "       ('TESTCODE0002', 'batch', %s, 'issued', now())",
            [chain.juice.id, chain.batch.id],
        )
        payloads = [n.payload for n in listener.notifies(timeout=1.0, stop_after=3)]
    assert payloads == [str(chain.juice.id), "*", str(chain.batch.id)]


def test_without_postgresql_or_when_turned_off_there_is_no_live_state(
    app: Flask, chain: Chain, count: Callable[[type], int]
) -> None:
    sqlite = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x"})
    assert live.state(sqlite, db.engine_for(sqlite)) is None
    off = create_app({**app.config, "PUBLIC_LIVE": False})
    try:
        assert live.state(off, db.engine_for(off)) is None
        assert off.test_client().get(f"/q/{chain.code}").status_code == 200
        assert count(Scan) == 1  # written by the view itself
    finally:
        db.engine_for(off).dispose()
        db.engine_for(sqlite).dispose()


def test_scans_written_while_a_tally_is_read_are_not_counted_again(
    live_app: Callable[..., Flask],
    chain: Chain,
    unit_code: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The buffer's thread may write a scan after the read's snapshot but before the view looks
    at what is still unwritten: that client's next scan is a repeat, not a new client (a
    cleared copy warning came back this way in CI)."""
    app = live_app(PUBLIC_SCAN_FLUSH_SECONDS=3600)
    client = app.test_client()
    code = unit_code(chain.batch)
    for n in range(10):
        client.get(f"/q/{code}", environ_base={"REMOTE_ADDR": f"10.0.1.{n}"})
    real = pageview._execute

    def read_then_flush(sql: str, params: dict[str, Any]) -> Any:
        row = real(sql, params)
        live.flush(app)  # the buffer's thread, just after the read
        return row

    monkeypatch.setattr(pageview, "_execute", read_then_flush)
    live_state(app).changed(None)  # forget the code: the next view reads it again
    page = client.get(f"/q/{code}?lang=en", environ_base={"REMOTE_ADDR": "10.0.1.0"})
    assert scanned_before(page.data) == 10
    monkeypatch.setattr(pageview, "_execute", real)
    live_state(app).changed(None)
    page = client.get(f"/q/{code}?lang=en", environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert scanned_before(page.data) == 10  # from the database alone: the same


def test_forgetting_lets_a_reused_code_id_record_its_first_client_again(
    live_app: Callable[..., Flask],
    chain: Chain,
    unit_code: Callable[..., str],
    other_process: psycopg.Connection[Any],
) -> None:
    """Tests empty the tables and start ids again: a (code id, client) pair this process
    remembers as written would keep the new code's first scan out of ``scan_client`` (two
    pages flaked that way, depending on which test ran before)."""
    app = live_app(PUBLIC_SCAN_FLUSH_SECONDS=3600)
    client = app.test_client()
    code = unit_code(chain.batch)
    client.get(f"/q/{code}")
    assert live.flush(app) == 1
    other_process.execute("DELETE FROM scan_client")  # as if the code's id were new again

    def clients() -> int:
        row = other_process.execute(
            "SELECT count(*) FROM scan_client JOIN code ON code.id = code_id WHERE code = %s",
            (code,),
        ).fetchone()
        return int(row[0]) if row else 0

    client.get(f"/q/{code}")
    live.flush(app)
    assert clients() == 0  # remembered as written: not sent again
    live.forget(app)
    client.get(f"/q/{code}")
    live.flush(app)
    assert clients() == 1
    assert "Lần quét đầu tiên" in client.get(f"/q/{code}").data.decode()
