"""Issue 16, "freshness stays exact": an edit of anything a page shows appears on the next view,
in the worker that made it and in another, whether it was made through the services or by
direct SQL on a connection of its own (behind the app's back), on SQLite and PostgreSQL.

The edits here are the ones the batch's freshness token does not cover (a stage's place, a
certificate, a product image): they reach the pages only through the change triggers
(``0003_change_notify``, ``0019_sqlite_change_seq``, ``0020_page_change_triggers``), the live
state that hears of them, and the render cache it tells (:mod:`trace.public.cache`).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from tests.public.conftest import Chain
from trace import create_app
from trace.codeview import live, store
from trace.db import db, transaction
from trace.public import skeleton
from trace.services.actors import SYSTEM
from trace.services.registry import catalogue, certificates

pytestmark = pytest.mark.committed

Sql = Callable[..., None]


def _postgresql(app: Flask) -> bool:
    return db.engine_for(app).dialect.name == "postgresql"


@pytest.fixture
def worker(app: Flask) -> Iterator[Callable[[], Flask]]:
    """``worker()``: another app on the test database (a gunicorn worker: its own engine, live
    state and render cache)."""
    made: list[Flask] = []

    def make() -> Flask:
        made.append(create_app({**app.config, "TESTING": True}))
        return made[-1]

    yield make
    for other in made:
        live.stop(other)
        db.engine_for(other).dispose()


@pytest.fixture
def sql(app: Flask) -> Iterator[Sql]:
    """``sql(statement, **params)`` on a connection of its own, committed at once
    (``%(name)s`` parameters)."""
    url = make_url(app.config["DATABASE_URL"])
    if _postgresql(app):
        pg = psycopg.connect(
            url.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
        )
        yield lambda statement, **params: pg.execute(statement, params) and None
        pg.close()
        return
    assert url.database
    lite = sqlite3.connect(url.database, isolation_level=None)
    lite.execute("PRAGMA busy_timeout = 15000")
    yield (
        lambda statement, **params: (
            lite.execute(re.sub(r"%\((\w+)\)s", r":\1", statement), params) and None
        )
    )
    lite.close()


def _shows(app: Flask, path: str, text: str, seconds: float) -> bool:
    """Whether a view of ``path`` shows ``text`` within ``seconds`` (SQLite: at once, the
    counter is read before each view; PostgreSQL: once the notification has arrived, which the
    views do not wait for)."""
    client = app.test_client()
    deadline = time.monotonic() + seconds
    while True:
        page = client.get(path)
        assert page.status_code == 200
        if text in page.data.decode():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _warm(*apps: Flask, path: str) -> None:
    """Views until each app serves ``path`` from what it remembers and has rendered (the set-up's
    own notifications may arrive after the first view and drop it)."""
    for app in apps:
        client = app.test_client()
        for _ in range(3):
            assert client.get(path).status_code == 200
            time.sleep(0.1)
        assert live.health(app) is not None


def _age_registry(app: Flask, sql: Sql) -> None:
    """Date every organisation, facility and product an hour back, so that the pages stored
    from now on pass the stored pages' guard (made after the latest registry edit, less a
    margin) and are used: the test must see them kept true, not bypassed."""
    hour_ago = (
        "now() - interval '1 hour'"
        if _postgresql(app)
        else "strftime('%Y-%m-%d %H:%M:%f000', 'now', '-1 hour')"
    )
    for table in ("organization", "facility", "product"):
        sql(f"UPDATE {table} SET updated_at = {hour_ago}")


def _wait(app: Flask) -> float:
    return 5.0 if _postgresql(app) else 0.0


def test_a_place_renamed_through_the_service_shows_in_both_workers(
    app: Flask, worker: Callable[[], Flask], chain: Chain
) -> None:
    first, second = worker(), worker()
    path = f"/q/{chain.code}?lang=en"
    _warm(first, second, path=path)
    assert "Kho lạnh Phượng Sơn" in first.test_client().get(path).data.decode()
    with first.app_context(), transaction(write=True) as session:
        catalogue.update_facility(session, SYSTEM, chain.cold_store.id, {"name": "Kho mát Bảo Đài"})
    assert _shows(first, path, "Kho mát Bảo Đài", 0.0)  # this worker's own write: at once
    assert _shows(second, path, "Kho mát Bảo Đài", _wait(app))


def test_a_place_renamed_by_direct_sql_shows_in_both_workers(
    app: Flask, worker: Callable[[], Flask], chain: Chain, sql: Sql
) -> None:
    """``updated_at`` left as it was: the triggers stamp it, or the stored pages would stay."""
    _age_registry(app, sql)
    first, second = worker(), worker()
    path = f"/q/{chain.code}?lang=en"
    _warm(first, second, path=path)
    sql("UPDATE facility SET name = 'Kho mát Bảo Đài' WHERE id = %(id)s", id=chain.cold_store.id)
    assert _shows(first, path, "Kho mát Bảo Đài", _wait(app))
    assert _shows(second, path, "Kho mát Bảo Đài", _wait(app))
    fresh = worker()  # a worker started now reads the stored page, if one is still used
    assert _shows(fresh, path, "Kho mát Bảo Đài", 0.0)


CERTIFICATE_SQL = (
    "INSERT INTO certificate (batch_id, product_id, organization_id, kind, number, issuer, "
    "created_at, updated_at) VALUES (%(batch)s, %(product)s, NULL, 'lab_test', %(number)s, "
    "'Trung tâm Kiểm nghiệm Bắc Giang', '2026-06-09 00:00:00', '2026-06-09 00:00:00')"
)


@pytest.mark.parametrize("holder", ["batch", "product"])
def test_a_certificate_added_by_direct_sql_shows_in_both_workers(
    app: Flask, worker: Callable[[], Flask], chain: Chain, sql: Sql, holder: str
) -> None:
    _age_registry(app, sql)
    first, second = worker(), worker()
    path = f"/q/{chain.code}?lang=en"
    _warm(first, second, path=path)
    number = f"KN-{holder}-0042"
    sql(
        CERTIFICATE_SQL,
        batch=chain.batch.id if holder == "batch" else None,
        product=chain.product.id if holder == "product" else None,
        number=number,
    )
    assert _shows(first, path, number, _wait(app))
    assert _shows(second, path, number, _wait(app))
    sql("UPDATE certificate SET number = 'KN-sua-0043' WHERE number = %(n)s", n=number)
    assert _shows(first, path, "KN-sua-0043", _wait(app))
    assert _shows(worker(), path, "KN-sua-0043", 0.0)
    sql("DELETE FROM certificate WHERE number = 'KN-sua-0043'")
    assert _shows(second, path, "Certificates", 0.0)
    deadline = time.monotonic() + _wait(app)
    while "KN-sua-0043" in second.test_client().get(path).data.decode():
        assert time.monotonic() < deadline, "a deleted certificate still shown"
        time.sleep(0.05)


def test_a_certificate_edited_through_the_service_shows_at_once(
    worker: Callable[[], Flask], chain: Chain
) -> None:
    first = worker()
    path = f"/q/{chain.code}?lang=en"
    _warm(first, path=path)
    with first.app_context(), transaction(write=True) as session:
        record = certificates.create_certificate(
            session, SYSTEM, {"organization_id": chain.product.organization_id,
                              "kind": "lab_test", "number": "KN-org-0007"},
        )  # fmt: skip
        record_id = record.id
    assert _shows(first, path, "KN-org-0007", 0.0)
    with first.app_context(), transaction(write=True) as session:
        certificates.update_certificate(session, SYSTEM, record_id, {"number": "KN-org-0008"})
    assert _shows(first, path, "KN-org-0008", 0.0)


def test_a_change_to_another_batch_keeps_this_ones_rendered_parts(
    app: Flask, worker: Callable[[], Flask], chain: Chain, sql: Sql, monkeypatch: Any
) -> None:
    """PostgreSQL names the changed batches: the others' pages are not rendered again."""
    if not _postgresql(app):
        pytest.skip("SQLite's counter does not say which batches changed")
    first = worker()
    path = f"/q/{chain.code}?lang=en"
    _warm(first, path=path)
    _warm(first, path=f"/q/{chain.juice_code}?lang=en")
    state = first.extensions[live.EXTENSION]
    sql("UPDATE batch SET quantity = 42 WHERE id = %(id)s", id=chain.juice.id)
    deadline = time.monotonic() + 5.0
    while state.get(chain.juice_code) is not None:
        assert time.monotonic() < deadline, "no notification arrived"
        time.sleep(0.02)
    rendered: list[int] = []
    real = skeleton.render_skeleton
    monkeypatch.setattr(
        skeleton,
        "render_skeleton",
        lambda target, *a: rendered.append(target.batch_id) or real(target, *a),
    )
    monkeypatch.setattr(store, "read", lambda *a: pytest.fail("read the store again"))
    assert first.test_client().get(path).status_code == 200
    assert rendered == []


def test_an_input_batch_renamed_by_direct_sql_shows_on_the_batches_made_from_it(
    app: Flask, worker: Callable[[], Flask], chain: Chain, sql: Sql
) -> None:
    """The juice's page shows its input's lot: the input's edit stamps the juice."""
    _age_registry(app, sql)
    first = worker()
    path = f"/q/{chain.juice_code}?lang=en"
    _warm(first, path=path)
    assert "LN2606-A01" in first.test_client().get(path).data.decode()
    sql("UPDATE batch SET lot_code = 'LN2606-Z09' WHERE id = %(id)s", id=chain.batch.id)
    assert _shows(first, path, "LN2606-Z09", _wait(app))
    assert _shows(worker(), path, "LN2606-Z09", 0.0)


def _updated(sql_app: Flask, table: str, row_id: int) -> Any:
    with db.engine_for(sql_app).connect() as connection:
        return connection.exec_driver_sql(
            f"SELECT updated_at FROM {table} WHERE id = {int(row_id)}"
        ).scalar_one()


def test_the_triggers_stamp_the_rows_the_pages_are_keyed_by(
    app: Flask, chain: Chain, sql: Sql
) -> None:
    _age_registry(app, sql)
    sql("UPDATE batch SET updated_at = '2026-01-01 00:00:00' WHERE id = %(id)s", id=chain.juice.id)
    aged = {
        ("product", chain.product.id): _updated(app, "product", chain.product.id),
        ("facility", chain.orchard.id): _updated(app, "facility", chain.orchard.id),
        ("batch", chain.juice.id): _updated(app, "batch", chain.juice.id),
    }
    sql(
        "INSERT INTO product_image (product_id, version, width, data, sha256, created_at) "
        "VALUES (%(id)s, 99, 0, %(data)s, %(sha)s, '2026-06-09 00:00:00')",
        id=chain.product.id,
        data=b"\xff\xd8",
        sha="0" * 64,
    )
    sql(
        "INSERT INTO plot (facility_id, geometry_type, geometry, area_ha, producer_name, "
        "producer_country, land_documents, created_at, updated_at) VALUES (%(id)s, 'Point', "
        "'{\"type\": \"Point\", \"coordinates\": [106.5, 21.4]}', 1.5, 'Hộ Nguyễn Văn A', 'VN', "
        "'[]', '2026-06-09 00:00:00', '2026-06-09 00:00:00')",
        id=chain.orchard.id,
    )
    sql("DELETE FROM batch_link WHERE output_batch_id = %(id)s", id=chain.juice.id)
    for (table, row_id), before in aged.items():
        assert _updated(app, table, row_id) > before, f"{table} {row_id} not stamped"
