"""The verifier's walk over the whole event table (trace.codeview.chunkcheck): an index row a
batch's own check cannot see — deleted, moved to another batch, slipped in — takes the mark off
the pages of the batches the event's document names, at the recurring job's next run (whenever
those batches were last checked), and the mark comes back once the row is restored.

Each case tampers with the database directly (no freshness changes, no notification), runs the
recurring job as a worker runs it, and reads the page through a new app (another worker)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from tests.codeview.test_store import other, page  # noqa: F401  (the ``other`` fixture)
from tests.public.conftest import Chain
from trace.codeview import chunkcheck, ledgercheck, store
from trace.db import transaction, write_intent
from trace.jobs import enqueue, queue
from trace.jobs.worker import Worker
from trace.models import BatchCheck, BatchLink, Event, EventChunkCheck, EventEpc

pytestmark = pytest.mark.committed

VERIFIED = "History verified"
NOT_VERIFIED = "History could not be verified"


@pytest.fixture(autouse=True)
def _no_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "MADE_MARGIN", dt.timedelta(0))


def run_job(app: Flask, session: Session) -> None:
    """One run of the recurring verifier, queued and claimed as a worker does."""
    queue.load_kinds()
    session.rollback()
    with write_intent():
        enqueue(session, ledgercheck.JOB_KIND, {})
        session.commit()
    assert Worker(app).run(once=True) == 1
    session.rollback()


def _event(session: Session, seq: int) -> int:
    return session.scalars(select(Event.id).where(Event.seq == seq)).one()


@dataclass
class Tampering:
    """``apply(session, chain)`` changes the rows behind the services' back and returns how to
    put them back; ``codes(chain)``: the pages that must lose their mark."""

    apply: Callable[[Session, Chain], Callable[[Session], None]]
    codes: Callable[[Chain], list[str]]


def _delete_epc(session: Session, chain: Chain) -> Callable[[Session], None]:
    """The row linking the harvest (entry 1) to its lot."""
    harvest = _event(session, 1)
    where = (EventEpc.event_pk == harvest, EventEpc.batch_id == chain.batch.id)
    rows = [dict(r._mapping) for r in session.execute(select(EventEpc.__table__).where(*where))]
    assert rows
    session.execute(delete(EventEpc).where(*where))

    def restore(s: Session) -> None:
        s.execute(insert(EventEpc.__table__), rows)

    return restore


def _move_epc(session: Session, chain: Chain) -> Callable[[Session], None]:
    """The harvest's row moved from the lychee lot to the juice."""
    harvest = _event(session, 1)
    where = (EventEpc.event_pk == harvest, EventEpc.batch_id == chain.batch.id)
    ids = list(session.scalars(select(EventEpc.id).where(*where)))
    assert ids
    session.execute(update(EventEpc).where(EventEpc.id.in_(ids)).values(batch_id=chain.juice.id))

    def restore(s: Session) -> None:
        s.execute(update(EventEpc).where(EventEpc.id.in_(ids)).values(batch_id=chain.batch.id))

    return restore


def _delete_link(session: Session, chain: Chain) -> Callable[[Session], None]:
    """The link saying the juice was made from the lot (the processing, entry 3)."""
    where = (
        BatchLink.input_batch_id == chain.batch.id,
        BatchLink.output_batch_id == chain.juice.id,
    )
    rows = [dict(r._mapping) for r in session.execute(select(BatchLink.__table__).where(*where))]
    assert rows
    session.execute(delete(BatchLink).where(*where))

    def restore(s: Session) -> None:
        s.execute(insert(BatchLink.__table__), rows)

    return restore


def _insert_link(session: Session, chain: Chain) -> Callable[[Session], None]:
    """A link the documents do not say: the lot made from the juice, by the harvest."""
    harvest = _event(session, 1)
    made = session.execute(
        insert(BatchLink)
        .values(input_batch_id=chain.juice.id, output_batch_id=chain.batch.id, event_pk=harvest)
        .returning(BatchLink.id)
    ).scalar_one()

    def restore(s: Session) -> None:
        s.execute(delete(BatchLink).where(BatchLink.id == made))

    return restore


CASES = {
    "deleted event_epc": Tampering(_delete_epc, lambda c: [c.code]),
    "moved event_epc": Tampering(_move_epc, lambda c: [c.code]),
    "deleted batch_link": Tampering(_delete_link, lambda c: [c.code, c.juice_code]),
    "inserted batch_link": Tampering(_insert_link, lambda c: [c.code]),
}


@pytest.fixture(params=list(CASES))
def tampering(request: pytest.FixtureRequest) -> Iterator[Tampering]:
    yield CASES[request.param]


def test_an_index_row_a_batch_check_cannot_see_takes_the_mark_off_until_restored(
    app: Flask,
    chain: Chain,
    session: Session,
    other: Callable[[], Flask],  # noqa: F811
    tampering: Tampering,
) -> None:
    run_job(app, session)
    codes = tampering.codes(chain)
    for code in codes:
        assert VERIFIED in page(other(), code)
    restore = tampering.apply(session, chain)
    session.commit()
    # The batches were checked a moment ago (not due for another minute): the walk's finding
    # makes this run check them again.
    run_job(app, session)
    for code in codes:
        text_ = page(other(), code)
        assert NOT_VERIFIED in text_ and VERIFIED not in text_, code
    row = session.scalars(
        select(BatchCheck)
        .where(BatchCheck.batch_id == chain.batch.id)
        .execution_options(populate_existing=True)
    ).one()
    assert row.ok is False and row.problem and "behind the service's back" in row.problem
    run_job(app, session)  # still there at the next run
    assert NOT_VERIFIED in page(other(), codes[0])
    restore(session)
    session.commit()
    run_job(app, session)
    for code in codes:
        assert VERIFIED in page(other(), code), code
    findings = session.scalars(
        select(EventChunkCheck).execution_options(populate_existing=True)
    ).all()
    assert findings and all(f.problem is None and f.batches == "" for f in findings)


def test_an_unchanged_chunk_is_not_checked_again(
    app: Flask, chain: Chain, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a chunk whose rows changed is re-derived from its documents; a new event changes
    its chunk's digest."""
    checked: list[int] = []
    real = chunkcheck._check_chunk

    def counting(s: Session, chunk: int) -> tuple[set[int], str | None]:
        checked.append(chunk)
        return real(s, chunk)

    monkeypatch.setattr(chunkcheck, "_check_chunk", counting)
    run_job(app, session)
    assert checked == [0]
    checked.clear()
    run_job(app, session)
    assert checked == []
    session.execute(
        update(EventEpc)
        .where(EventEpc.event_pk == _event(session, 2))
        .values(event_time=dt.datetime(2026, 6, 8, 5, 0, tzinfo=dt.UTC))
    )
    session.commit()
    run_job(app, session)
    assert checked == [0]
    row = session.scalars(select(EventChunkCheck).execution_options(populate_existing=True)).one()
    assert row.problem and str(chain.batch.id) in row.batches.split()


def test_a_walk_out_of_time_leaves_the_chunks_it_did_not_reach_to_the_next(
    app: Flask, chain: Chain, session: Session
) -> None:
    """A walk stopped by its time limit records nothing for the chunks it did not re-check
    (they keep their old digest, here none), so the next walk takes them up."""
    now = dt.datetime.now(dt.UTC)
    session.rollback()
    with app.app_context():
        with transaction(write=True) as walking:
            assert chunkcheck.walk(walking, now, seconds=-1) == set()
        assert session.scalars(select(EventChunkCheck)).all() == []
        with transaction(write=True) as walking:
            chunkcheck.walk(walking, now)
    session.rollback()
    assert [r.chunk for r in session.scalars(select(EventChunkCheck))] == [0]


def test_a_walk_shared_by_two_processes_still_fails_the_batch_it_names(
    app: Flask, chain: Chain, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``public-prepare --jobs 2``: one event a chunk, so the chunks fall to both processes;
    each walks its own, every finding is recorded before any batch is checked, and the batch a
    finding names fails whichever process checks it."""
    monkeypatch.setattr(chunkcheck, "SIZE", 1)  # inherited by the forked processes
    lot = chain.batch.id
    session.rollback()
    with app.app_context():
        assert store.run_pass(app, jobs=2)[0] == 2
    events = set(session.scalars(select(Event.id)))
    assert {r.chunk for r in session.scalars(select(EventChunkCheck))} == events
    assert {e % 2 for e in events} == {0, 1}  # both shares had chunks to walk
    _delete_epc(session, chain)
    session.commit()
    app.config["PUBLIC_VERIFY_SECONDS"] = 0  # every batch is due at every pass
    try:
        with app.app_context():
            store.run_pass(app, jobs=2)
    finally:
        app.config["PUBLIC_VERIFY_SECONDS"] = 120.0
    session.rollback()
    row = session.get(BatchCheck, lot)
    assert row is not None and row.ok is False, row and row.problem
