"""The continuous ledger verifier behind the public page's "checked at" mark.

The page used to check a batch's events against the ledger on a first view (every event
re-hashed, its chain link recomputed, what the page reads of it derived again from its
document): most of a first view's cost. The verifier does the same check
(:func:`lookup.verify_events`, so it covers what the page shows of the events too) for every
batch in turn, oldest check first, and records the result in ``batch_check``. The page states a
successful check with its time while it is at most :data:`MAX_AGE` old; a failed check takes the
mark off at the verifier's next pass, and a check grown too old states nothing (the page then
checks at view time, as before). Runs as the recurring job :data:`JOB_KIND`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from trace.models import Batch, BatchCheck, Event, EventEpc, StoredPage
from trace.services import lookup

JOB_KIND = "ledger_check"
MAX_AGE = dt.timedelta(minutes=5)  # a check older than this is not stated on the page


@dataclass(frozen=True)
class Check:
    """A batch's last verifier result, as the page states it."""

    ok: bool
    checked: int
    problem: str | None
    checked_at: dt.datetime

    def current(self, now: dt.datetime) -> bool:
        """Recent enough to be stated (at most :data:`MAX_AGE` old)."""
        return now - self.checked_at <= MAX_AGE

    @property
    def verification(self) -> lookup.Verification:
        return lookup.Verification(self.ok, self.checked, self.problem, self.checked_at)


def latest(session: Session, batch_id: int) -> Check | None:
    """The batch's last check, if the verifier has run over it."""
    row = session.get(BatchCheck, batch_id)
    if row is None:
        return None
    return Check(row.ok, row.checked, row.problem, row.checked_at)


def due(session: Session, before: dt.datetime, limit: int) -> list[int]:
    """Up to ``limit`` batches never checked or last checked before ``before``, oldest first."""
    return list(
        session.scalars(
            select(Batch.id)
            .outerjoin(BatchCheck, BatchCheck.batch_id == Batch.id)
            .where(or_(BatchCheck.checked_at.is_(None), BatchCheck.checked_at < before))
            .order_by(BatchCheck.checked_at.asc().nulls_first(), Batch.id)
            .limit(limit)
        )
    )


def check(session: Session, batch_ids: Sequence[int], now: dt.datetime) -> list[Check]:
    """Check these batches' events against the ledger (all together: a few queries, whatever
    the number of batches) and record each batch's result."""
    pairs = session.execute(
        select(EventEpc.batch_id, EventEpc.event_pk)
        .where(EventEpc.batch_id.in_(batch_ids))
        .distinct()
    ).all()
    events = {
        e.id: e for e in session.scalars(select(Event).where(Event.id.in_({p for _, p in pairs})))
    }
    of_batch: dict[int, list[Event]] = defaultdict(list)
    for batch_id, event_pk in pairs:
        if batch_id is not None and event_pk in events:
            of_batch[batch_id].append(events[event_pk])
    chain, derived = lookup.event_problems(session, list(events.values()))
    rows = {r.batch_id: r for r in session.scalars(
        select(BatchCheck).where(BatchCheck.batch_id.in_(batch_ids)))}  # fmt: skip
    results = []
    for batch_id in batch_ids:
        mine = of_batch.get(batch_id, [])
        problem = lookup.first_problem(mine, chain, derived)
        row = rows.get(batch_id)
        if row is None:
            row = BatchCheck(batch_id=batch_id)
            session.add(row)
        row.checked_at, row.ok, row.checked, row.problem = now, problem is None, len(mine), problem
        results.append(Check(row.ok, row.checked, row.problem, now))
    session.flush()
    return results


def forget_pages(session: Session, batch_id: int, token: str) -> None:
    """Delete the batch's stored pages of an older freshness ``token`` (unreachable anyway)."""
    session.execute(
        delete(StoredPage).where(StoredPage.batch_id == batch_id, StoredPage.token == token)
    )
