"""Pages prepared in advance and the ledger verifier's "checked at" mark (trace.codeview.store,
trace.codeview.ledgercheck): a page is served from the store by a worker that never rendered it,
a change made through one worker shows on the next view from another at once, and tampering with
the database directly takes the mark off at the verifier's next pass, within the stated five
minutes.

Each test runs two apps on the test database, as two workers (or nodes) would: their data is
committed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from tests.codeview.support import until
from tests.public.conftest import Chain, record
from tests.public.test_page import visible
from tests.public.test_recall_lifecycle import BANNER_EN, issue
from trace import create_app
from trace.codeview import driver, ledgercheck, live, store
from trace.db import db
from trace.models import BatchCheck, Facility, Organization, StoredPage
from trace.public import cache as render_cache
from trace.public import skeleton

pytestmark = pytest.mark.committed

EN = {"Accept-Language": "en"}
CHECKED_AT = re.compile(r"checked at (\d\d:\d\d, \d\d/\d\d/\d{4})")


@pytest.fixture
def other(app: Flask) -> Iterator[Callable[[], Flask]]:
    """``other()``: another app on the test database (another worker, with its own caches)."""
    made: list[Flask] = []

    def make() -> Flask:
        made.append(create_app({**app.config, "TESTING": True}))
        return made[-1]

    yield make
    for each in made:
        live.stop(each)
        db.engine_for(each).dispose()


@pytest.fixture(autouse=True)
def _no_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry was written a moment ago: without the margin (which covers edits still
    committing while a page's data is read), pages made now count as made after it."""
    monkeypatch.setattr(store, "MADE_MARGIN", dt.timedelta(0))


def run_verifier(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return store.run_pass(app)


def page(app: Flask, code: str) -> str:
    response = app.test_client().get(f"/q/{code}", headers=EN)
    assert response.status_code == 200
    return visible(response.data)


def later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Every process's caches see ``seconds`` more pass (their clock is time.monotonic)."""
    now = render_cache.time.monotonic() + seconds
    monkeypatch.setattr(render_cache.time, "monotonic", lambda: now)


def test_the_verifier_checks_every_batch_and_the_page_states_when(
    app: Flask, chain: Chain, session: Session, other: Callable[[], Flask]
) -> None:
    before = dt.datetime.now(dt.UTC)
    checked, rendered = run_verifier(app)
    assert checked == 2  # the lychee lot and the juice
    assert rendered == 4  # each lot's batch-level code, in Vietnamese and English
    session.rollback()
    rows = session.scalars(select(BatchCheck)).all()
    assert {(r.batch_id, r.ok, r.checked) for r in rows} == {
        (chain.batch.id, True, 3),  # its two stages and the juice made from it
        (chain.juice.id, True, 1),
    }
    text_ = page(other(), chain.code)
    assert "History verified" in text_
    stated = CHECKED_AT.search(text_)
    assert stated is not None, text_
    shown = dt.datetime.strptime(stated.group(1), "%H:%M, %d/%m/%Y")
    vietnam = before.astimezone(dt.timezone(dt.timedelta(hours=7))).replace(tzinfo=None)
    assert abs(shown - vietnam) < dt.timedelta(minutes=2)
    body = other().test_client().get(f"/q/{chain.code}", headers={"Accept": "application/json"})
    assert body.json["history_verified"]["ok"] is True
    assert body.json["history_verified"]["checked_at"]
    assert run_verifier(app) == (0, 0)  # all checked within the interval: nothing due


def test_a_stored_page_is_served_by_a_worker_that_never_rendered_it(
    app: Flask,
    chain: Chain,
    other: Callable[[], Flask],
    monkeypatch: pytest.MonkeyPatch,
    unit_code: Callable[..., str],
) -> None:
    """The verifier's pages are found under the key a view computes (the same freshness token
    on either path), for batch-level and unit codes, in both languages."""
    unit = unit_code(chain.batch)
    run_verifier(app)

    def no_render(*_args: Any, **_kwargs: Any) -> str:
        raise AssertionError("rendered instead of read from the store")

    with monkeypatch.context() as patched:
        patched.setattr(skeleton, "render_skeleton", no_render)
        worker = other().test_client()
        pages = {(code, lang): worker.get(f"/q/{code}?lang={lang}")
                 for code in (chain.code, unit) for lang in ("vi", "en")}  # fmt: skip
    assert all(r.status_code == 200 for r in pages.values())
    for code in (chain.code, unit):  # each in its own language, whole
        english, vietnamese = visible(pages[(code, "en")].data), visible(pages[(code, "vi")].data)
        assert "Journey" in english and "Quantity:" in english and "Hành trình" not in english
        assert "Hành trình" in vietnamese and "Journey" not in vietnamese
        assert code in english and "History verified" in english


def test_a_recall_through_one_worker_shows_on_the_next_view_from_another(
    app: Flask, chain: Chain, other: Callable[[], Flask], token: Callable[..., dict[str, str]]
) -> None:
    run_verifier(app)
    worker_a, worker_b = other(), other()
    assert BANNER_EN not in page(worker_b, chain.code)  # seen, remembered, stored
    reason = "Phát hiện dư lượng thuốc bảo vệ thực vật vượt ngưỡng"
    issue(worker_a.test_client(), token("inspector"), [chain.batch.id], reason, False)
    state = live._ours(worker_b)
    # PostgreSQL: worker B learns of it by NOTIFY, a few ms later; SQLite: from the change
    # counter, read at the start of its next view.
    if state is not None and db.engine_for(app).dialect.name == "postgresql":
        assert until(lambda: state.get(chain.code) is None, 2), "no notification within 2 s"
    after = page(worker_b, chain.code)
    assert BANNER_EN in after and reason in after


def _tamper(session: Session) -> None:
    session.rollback()  # SQLite: a snapshot older than the verifier's writes cannot write
    session.execute(
        text("UPDATE event SET document = :doc WHERE seq = 1"),
        {"doc": '{"type": "ObjectEvent", "eventTime": "2026-06-08T05:30:00+07:00"}'},
    )
    session.commit()


def test_tampering_takes_the_mark_off_at_the_next_check(
    app: Flask,
    chain: Chain,
    session: Session,
    other: Callable[[], Flask],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app.config["PUBLIC_VERIFY_SECONDS"] = 0  # every batch is due at every pass
    try:
        run_verifier(app)
        worker = other()
        assert CHECKED_AT.search(page(worker, chain.code))
        _tamper(session)  # behind the services' back: no freshness changes
        assert run_verifier(app)[0] == 2
    finally:
        app.config["PUBLIC_VERIFY_SECONDS"] = 120.0
    session.rollback()
    row = session.get(BatchCheck, chain.batch.id)
    assert row is not None and row.ok is False and "entry 1" in (row.problem or "")
    fresh = page(other(), chain.code)
    assert "History could not be verified" in fresh and "History verified" not in fresh
    # The worker that read the good check before reads the batch's check again within
    # CHECK_SECONDS (30 s), well inside the five minutes the page promises.
    later(monkeypatch, 31)
    again = page(worker, chain.code)
    assert "History could not be verified" in again and not CHECKED_AT.search(again)


def test_a_check_older_than_five_minutes_states_nothing(
    app: Flask, chain: Chain, session: Session, other: Callable[[], Flask]
) -> None:
    """Without a recent check (the verifier stopped), the page checks at view time again."""
    run_verifier(app)
    session.rollback()
    session.execute(
        update(BatchCheck).values(
            checked_at=dt.datetime.now(dt.UTC) - ledgercheck.MAX_AGE - dt.timedelta(seconds=5)
        )
    )
    session.commit()
    _tamper(session)
    stale = page(other(), chain.code)
    assert "History could not be verified" in stale and not CHECKED_AT.search(stale)


def test_the_verifier_deletes_pages_of_an_older_freshness(
    app: Flask, chain: Chain, session: Session, other: Callable[[], Flask]
) -> None:
    run_verifier(app)
    session.rollback()
    old = set(
        session.scalars(select(StoredPage.token).where(StoredPage.batch_id == chain.batch.id))
    )
    record(session, chain.batch.id, stage="shipping", time="2026-06-09T05:00:00+07:00",
           facility_id=chain.cold_store.id)  # fmt: skip
    assert "Shipping" in page(other(), chain.code)  # rendered at once, not the stored page
    app.config["PUBLIC_VERIFY_SECONDS"] = 0
    try:
        run_verifier(app)
    finally:
        app.config["PUBLIC_VERIFY_SECONDS"] = 120.0
    session.rollback()
    now = set(
        session.scalars(select(StoredPage.token).where(StoredPage.batch_id == chain.batch.id))
    )
    assert now and not now & old


def _rename_orchard(session: Session, chain: Chain) -> None:
    """The orchard of the harvest stage renamed by direct SQL, as another process would."""
    session.rollback()
    session.execute(
        update(Facility)
        .where(Facility.id == chain.orchard.id)
        .values(name="Vườn vải Kiên Thành", updated_at=dt.datetime.now(dt.UTC))
    )
    session.commit()


def test_an_edit_of_a_place_the_page_shows_makes_stored_pages_stale(
    app: Flask, chain: Chain, session: Session, other: Callable[[], Flask]
) -> None:
    """The orchard of the harvest stage is not in the batch's freshness token: its edit must
    not leave the stored page (or the verifier's next pass) showing the old name."""
    run_verifier(app)
    assert "Vườn vải Phượng Sơn" in page(other(), chain.code)
    _rename_orchard(session, chain)
    shown = page(other(), chain.code)
    assert "Vườn vải Kiên Thành" in shown and "Vườn vải Phượng Sơn" not in shown
    app.config["PUBLIC_VERIFY_SECONDS"] = 0
    try:
        assert run_verifier(app)[1] == 3  # made again: all but the one the view above stored
    finally:
        app.config["PUBLIC_VERIFY_SECONDS"] = 120.0


def test_a_worker_that_knows_the_latest_registry_edit_learns_of_the_next_one(
    app: Flask,
    chain: Chain,
    session: Session,
    other: Callable[[], Flask],
    unit_code: Callable[..., str],
) -> None:
    """A worker keeps the time of the latest registry edit between first views (PostgreSQL);
    an edit by another process must make it refuse the pages stored before it, for codes it
    has not seen yet as for those it has."""
    unit = unit_code(chain.batch)
    run_verifier(app)
    worker = other()
    assert "Vườn vải Phượng Sơn" in page(worker, chain.code)  # the registry edit is kept now
    state = live._ours(worker)
    _rename_orchard(session, chain)
    if state is not None and db.engine_for(app).dialect.name == "postgresql":
        assert until(lambda: state.registry() is None, 2), "no notification within 2 s"
    for code in (unit, chain.code):  # not seen by this worker yet; seen
        shown = page(worker, code)
        assert "Vườn vải Kiên Thành" in shown and "Vườn vải Phượng Sơn" not in shown, code


def test_a_facility_registered_under_a_gln_the_events_name_shows_on_every_worker(
    app: Flask,
    chain: Chain,
    session: Session,
    other: Callable[[], Flask],
    build: Any,
    unit_code: Callable[..., str],
) -> None:
    """Migration 0023: a page names a stage's place by the GLN its event gives, looked up when
    the page is made; registering a facility under that GLN (an INSERT) must reach a worker that
    already served the page and keeps the latest registry edit, as an edit would."""
    unit = unit_code(chain.batch)
    gln = chain.orchard.gln
    session.rollback()
    session.execute(  # the orchard's GLN taken off: the events name a GLN nobody has
        update(Facility).where(Facility.id == chain.orchard.id).values(gln=None)
    )
    session.commit()
    run_verifier(app)
    worker = other()
    assert chain.code in page(worker, chain.code)
    state = live._ours(worker)
    if state is not None and db.engine_for(app).dialect.name == "postgresql":
        assert state.registry() is not None  # the latest registry edit is kept now
    coop = session.get(Organization, chain.orchard.organization_id)
    build.facility(coop, gln=gln, name="Vườn vải Kiên Thành")
    if state is not None and db.engine_for(app).dialect.name == "postgresql":
        assert until(lambda: state.registry() is None, 2), "no notification within 2 s"
    for code in (unit, chain.code):  # not seen by this worker yet; seen
        assert "Vườn vải Kiên Thành" in page(worker, code), code


def test_a_deploy_that_changes_the_page_finds_no_page_stored_before_it(
    app: Flask, chain: Chain, other: Callable[[], Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored pages outlive a deploy: one made by the previous release's templates must not be
    served by the new one (the copy warning's text changed in this very release)."""
    run_verifier(app)
    rendered: list[str] = []
    real = skeleton.render_skeleton

    def counting(*args: Any, **kwargs: Any) -> str:
        rendered.append("x")
        return real(*args, **kwargs)

    monkeypatch.setattr(skeleton, "render_skeleton", counting)
    assert chain.code in page(other(), chain.code)
    assert rendered == []  # the stored page, as made by this release
    monkeypatch.setattr(store, "release", lambda: "next-release")
    assert chain.code in page(other(), chain.code)
    assert rendered == ["x"]  # made again by the new release, not read from the store


def _full_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of events each full check re-hashes, call by call."""
    hashed: list[int] = []
    real = ledgercheck.lookup.event_problems

    def counting(session: Session, events: Any) -> Any:
        hashed.append(len(events))
        return real(session, events)

    monkeypatch.setattr(ledgercheck.lookup, "event_problems", counting)
    return hashed


@pytest.mark.parametrize(
    "tampering",
    [
        "UPDATE event SET document = jsonb_set(document, '{action}', '\"DELETE\"') WHERE seq = 1",
        "UPDATE event_epc SET event_time = event_time + interval '1 hour' "
        "WHERE event_pk = (SELECT id FROM event WHERE seq = 1)",
        "UPDATE event SET chain_hash = md5('x') WHERE seq = 1",  # breaks its successor's link
    ],
    ids=["document", "index row", "chain"],
)
def test_an_unchanged_batch_is_checked_again_without_rehashing_and_a_changed_one_in_full(
    app: Flask,
    chain: Chain,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    tampering: str,
) -> None:
    """PostgreSQL: the digest of what a full check read lets the next pass record the check
    again without re-hashing; any change of those rows (here behind the services' back) makes
    it check in full, and find the problem."""
    if db.engine_for(app).dialect.name != "postgresql":
        pytest.skip("the digest is computed by PostgreSQL: this runs in CI's PostgreSQL pass")
    hashed = _full_checks(monkeypatch)
    app.config["PUBLIC_VERIFY_SECONDS"] = 0  # every batch is due at every pass
    try:
        run_verifier(app)
        assert sum(hashed) == 3  # the two lots' events (the juice's one is among the lychee's)
        session.rollback()
        first = {r.batch_id: r.checked_at for r in session.scalars(select(BatchCheck))}
        assert all(r.digest for r in session.scalars(select(BatchCheck)))
        hashed.clear()
        assert run_verifier(app)[0] == 2
        assert hashed == []  # nothing changed: nothing re-hashed
        session.rollback()
        again = {r.batch_id: r for r in session.scalars(
            select(BatchCheck).execution_options(populate_existing=True))}  # fmt: skip
        assert all(again[b].checked_at > first[b] and again[b].ok for b in first)
        session.execute(text(tampering))
        session.commit()
        assert run_verifier(app)[0] == 2
        assert hashed != []
    finally:
        app.config["PUBLIC_VERIFY_SECONDS"] = 120.0
    session.rollback()
    checks = select(BatchCheck).execution_options(populate_existing=True)
    rows = {r.batch_id: r for r in session.scalars(checks)}
    assert rows[chain.batch.id].ok is False
    assert rows[chain.batch.id].problem


@pytest.mark.parametrize("kind", ["batch", "unit"])
def test_a_first_view_reads_its_code_page_and_check_in_one_statement(
    app: Flask,
    chain: Chain,
    other: Callable[[], Flask],
    monkeypatch: pytest.MonkeyPatch,
    unit_code: Callable[..., str],
    kind: str,
) -> None:
    """PostgreSQL: a worker's first view of a prepared batch is one round trip (the code, its
    freshness, the stored page and the batch's check together), and renders nothing."""
    if db.engine_for(app).dialect.name != "postgresql":
        pytest.skip("one statement is PostgreSQL's path: this runs in CI's PostgreSQL pass")
    code = unit_code(chain.batch) if kind == "unit" else chain.code
    run_verifier(app)
    worker = other()
    live.start(worker)
    statements: list[str] = []
    real = driver.execute

    def spy(sql: str, params: dict[str, Any]) -> Any:
        statements.append(sql)
        return real(sql, params)

    def no_render(*_args: Any, **_kwargs: Any) -> str:
        raise AssertionError("rendered instead of read from the store")

    monkeypatch.setattr(driver, "execute", spy)
    monkeypatch.setattr(skeleton, "render_skeleton", no_render)
    text_ = page(worker, code)
    assert "History verified" in text_ and CHECKED_AT.search(text_)
    assert code in text_
    assert len(statements) == 1 and "stored_page" in statements[0]


def test_stored_pages_are_compressed_with_lz4_where_the_server_has_it(
    app: Flask, chain: Chain
) -> None:
    """Migration 0021: a first view decompresses its stored page; LZ4 does it several times
    faster than PostgreSQL's default (a server built without LZ4 keeps its default)."""
    if db.engine_for(app).dialect.name != "postgresql":
        pytest.skip("TOAST compression is PostgreSQL's: this runs in CI's PostgreSQL pass")
    run_verifier(app)
    with db.engine_for(app).connect() as conn:
        has_lz4 = conn.exec_driver_sql(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        ).scalar()
        methods = conn.execute(
            text(
                "SELECT DISTINCT pg_column_compression(body) FROM stored_page WHERE batch_id = :b"
            ),
            {"b": chain.batch.id},
        ).scalars()
        assert set(methods) == {"lz4" if has_lz4 else "pglz"}


def test_public_prepare_checks_the_batches_listed_or_refuses_a_bad_list(
    app: Flask, chain: Chain, session: Session, tmp_path: Any
) -> None:
    listed = tmp_path / "batches.txt"
    listed.write_text(f"{chain.juice.id}\n")
    result = app.test_cli_runner().invoke(args=["public-prepare", "--batches", str(listed)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 batches checked, 2 pages stored")
    session.rollback()
    assert [r.batch_id for r in session.scalars(select(BatchCheck))] == [chain.juice.id]
    listed.write_text("7\nseven\n")
    result = app.test_cli_runner().invoke(args=["public-prepare", "--batches", str(listed)])
    assert result.exit_code == 2 and "one batch id a line" in result.output


def test_a_pass_shared_by_two_processes_checks_each_batch_once_and_its_pages_serve(
    app: Flask,
    chain: Chain,
    session: Session,
    other: Callable[[], Flask],
    monkeypatch: pytest.MonkeyPatch,
    unit_code: Callable[..., str],
) -> None:
    """``public-prepare --jobs 2``: each forked process walks its chunks, then checks and
    prepares its batches; together every batch once, and a worker serves the pages as stored.
    A tampered event still takes the mark off at the next shared pass."""
    unit = unit_code(chain.batch)
    lot, juice = chain.batch.id, chain.juice.id
    session.rollback()  # no connection of this process is in use while it forks
    with app.app_context():
        # The lot: its batch-level and unit code, in two languages; the juice: its batch code.
        assert store.run_pass(app, jobs=2) == (2, 6)
    rows = session.scalars(select(BatchCheck)).all()
    assert {(r.batch_id, r.ok) for r in rows} == {(lot, True), (juice, True)}
    with monkeypatch.context() as patched:
        patched.setattr(skeleton, "render_skeleton", _no_render)
        for code in (chain.code, unit, chain.juice_code):
            text_ = page(other(), code)
            assert code in text_ and CHECKED_AT.search(text_), code
    _tamper(session)
    app.config["PUBLIC_VERIFY_SECONDS"] = 0  # every batch is due at every pass
    try:
        with app.app_context():
            assert store.run_pass(app, jobs=2)[0] == 2
    finally:
        app.config["PUBLIC_VERIFY_SECONDS"] = 120.0
    session.rollback()
    row = session.get(BatchCheck, lot)
    assert row is not None and row.ok is False and "entry 1" in (row.problem or "")
    fresh = page(other(), chain.code)
    assert "History could not be verified" in fresh and "History verified" not in fresh


def _no_render(*_args: Any, **_kwargs: Any) -> str:
    raise AssertionError("rendered instead of read from the store")
