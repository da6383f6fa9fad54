"""The continuous ledger verifier behind the public page's "checked at" mark.

The page used to check a batch's events against the ledger on a first view (every event
re-hashed, its chain link recomputed, what the page reads of it derived again from its
document): most of a first view's cost. The verifier does the same check
(:func:`lookup.verify_events`, so it covers what the page shows of the events too) for every
batch in turn, oldest check first, and records the result in ``batch_check``. The page states a
successful check with its time while it is at most :data:`MAX_AGE` old; a failed check takes the
mark off at the verifier's next pass, and a check grown too old states nothing (the page then
checks at view time, as before). Runs as the recurring job :data:`JOB_KIND`.

Incremental on PostgreSQL: a full check also records a digest of the rows it read
(:data:`DIGEST_SQL`: each event row whole, its predecessor's chain hash, its ``event_epc`` and
``batch_link`` rows, and the lot, product and creation time of each batch those name). A later
pass computes the digest again in the database (no row leaves it) and, when it is unchanged,
records the same result at the new time without re-hashing anything; a batch whose rows changed
in any way (a new event, an edit behind the service's back) is checked in full again. So a
restart or a deploy does not redo the checks, and a pass over 100,000 batches unchanged since
their last pass costs the database a few seconds, not the verifier half an hour. What the digest
does not cover: a ``code`` row an event's unit identifier resolves to (a full check of the batch,
after any change of its rows, still compares them).

Rows a batch's check cannot see (an ``event_epc`` row deleted or moved away from the batch, a
``batch_link`` row deleted or slipped in) are found by the walk over the whole event table,
:mod:`trace.codeview.chunkcheck`, run first in each pass; its findings fail the batches named.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, or_, select, text
from sqlalchemy.orm import Session

from trace.codeview import chunkcheck
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


def due(
    session: Session,
    before: dt.datetime,
    limit: int,
    among: Sequence[int] | None = None,
    share: chunkcheck.Share | None = None,
) -> list[int]:
    """Up to ``limit`` batches (``among`` these, if given; of this ``share`` of batch ids, if
    given) never checked or last checked before ``before``, oldest first."""
    stmt = (
        select(Batch.id)
        .outerjoin(BatchCheck, BatchCheck.batch_id == Batch.id)
        .where(or_(BatchCheck.checked_at.is_(None), BatchCheck.checked_at < before))
        .order_by(BatchCheck.checked_at.asc().nulls_first(), Batch.id)
        .limit(limit)
    )
    if among is not None:
        stmt = stmt.where(Batch.id.in_(list(among)))
    if share is not None:
        stmt = stmt.where(Batch.id % share[1] == share[0])
    return list(session.scalars(stmt))


# One row per batch: the SHA-256 of what a full check of it reads (see the module's docstring).
DIGEST_SQL = text("""
SELECT b.id, encode(sha256(convert_to(coalesce(string_agg(part, ',' ORDER BY seq), ''), 'UTF8')),
                    'hex')
FROM unnest(CAST(:ids AS integer[])) AS b(id)
LEFT JOIN LATERAL (
    SELECT e.seq, concat_ws('|', e::text, prev.chain_hash,
        (SELECT string_agg(concat_ws(':', ee::text, lot.product_id, lot.lot_code, lot.created_at,
                                     p.gtin), ';' ORDER BY ee.id)
         FROM event_epc ee LEFT JOIN batch lot ON lot.id = ee.batch_id
         LEFT JOIN product p ON p.id = lot.product_id
         WHERE ee.event_pk = e.id),
        (SELECT string_agg(bl::text, ';' ORDER BY bl.id) FROM batch_link bl
         WHERE bl.event_pk = e.id)) AS part
    FROM (SELECT DISTINCT event_pk FROM event_epc WHERE batch_id = b.id) mine
    JOIN event e ON e.id = mine.event_pk
    LEFT JOIN event prev ON prev.seq = e.seq - 1
) rows ON true
GROUP BY b.id
""").bindparams(bindparam("ids"))


def digests(session: Session, batch_ids: Sequence[int]) -> dict[int, str]:
    """The batches' digests (PostgreSQL; elsewhere none, and every check is a full one)."""
    if session.get_bind().dialect.name != "postgresql":
        return {}
    return {int(i): str(d) for i, d in session.execute(DIGEST_SQL, {"ids": list(batch_ids)})}


def check(session: Session, batch_ids: Sequence[int], now: dt.datetime) -> list[Check]:
    """Check these batches' events against the ledger and record each batch's result: again
    without re-hashing where the batch's digest is the one of its last full check, in full
    otherwise (all together: a few queries, whatever the number of batches)."""
    rows = {r.batch_id: r for r in session.scalars(
        select(BatchCheck).where(BatchCheck.batch_id.in_(batch_ids)))}  # fmt: skip
    # Read before the events: a change committed in between makes the next pass check again.
    current = digests(session, batch_ids)
    unchanged = {
        batch_id
        for batch_id in batch_ids
        if (row := rows.get(batch_id)) is not None
        and row.digest is not None
        and row.digest == current.get(batch_id)
    }
    results = {}
    for batch_id in unchanged:
        row = rows[batch_id]
        row.checked_at = now
        results[batch_id] = Check(row.ok, row.checked, row.problem, now)
    full = [b for b in batch_ids if b not in unchanged]
    if full:
        for found in _check_in_full(session, full, now, rows, current):
            results[found[0]] = found[1]
    # What the walk over the whole event table found (rows this check cannot see) fails the
    # batch too; no digest, so the check is made in full again once the finding is gone.
    for batch_id, problem in chunkcheck.flags(session, batch_ids).items():
        row = rows[batch_id]
        row.ok, row.problem, row.digest = False, problem, None
        results[batch_id] = Check(False, row.checked, problem, now)
    session.flush()
    return [results[batch_id] for batch_id in batch_ids]


def _check_in_full(
    session: Session,
    batch_ids: Sequence[int],
    now: dt.datetime,
    rows: dict[int, BatchCheck],
    current: dict[int, str],
) -> list[tuple[int, Check]]:
    pairs = session.execute(
        select(EventEpc.batch_id, EventEpc.event_pk)
        .where(EventEpc.batch_id.in_(batch_ids))
        .distinct()
    ).all()
    # As stored now, even where the session still holds these events from an earlier pass.
    fresh = select(Event).where(Event.id.in_({p for _, p in pairs}))
    events = {e.id: e for e in session.scalars(fresh.execution_options(populate_existing=True))}
    of_batch: dict[int, list[Event]] = defaultdict(list)
    for batch_id, event_pk in pairs:
        if batch_id is not None and event_pk in events:
            of_batch[batch_id].append(events[event_pk])
    chain, derived = lookup.event_problems(session, list(events.values()))
    results = []
    for batch_id in batch_ids:
        mine = of_batch.get(batch_id, [])
        problem = lookup.first_problem(mine, chain, derived)
        row = rows.get(batch_id)
        if row is None:
            row = rows[batch_id] = BatchCheck(batch_id=batch_id)
            session.add(row)
        row.checked_at, row.ok, row.checked, row.problem = now, problem is None, len(mine), problem
        row.digest = current.get(batch_id)
        results.append((batch_id, Check(row.ok, row.checked, row.problem, now)))
    return results


def forget_pages(session: Session, batch_id: int, token: str) -> None:
    """Delete the batch's stored pages of an older freshness ``token`` (unreachable anyway)."""
    session.execute(
        delete(StoredPage).where(StoredPage.batch_id == batch_id, StoredPage.token == token)
    )
