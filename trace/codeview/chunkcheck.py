"""The ledger verifier's walk over the whole event table: index rows a batch's check cannot see.

A batch's check (:mod:`trace.codeview.ledgercheck`) reads the events still linked to the batch:
delete the ``event_epc`` row that links a harvest to its lot, or move it to another lot, and the
lot's remaining events still check out; a ``batch_link`` row deleted or slipped in changes the
lot's relations without touching its events. The full ``verify`` catches these by re-deriving
every event's rows from its document; this walk does the same, chunk by chunk of
:data:`SIZE` event ids, and only where something changed: each pass computes one digest per
chunk (every event row, ``event_epc`` row and ``batch_link`` row whose event falls in it), in
the database on PostgreSQL (:data:`DIGEST_SQL`, from the rows' versions), from the rows read
elsewhere (SQLite: a pilot centre's ledger is small), and re-checks in full only the chunks
whose digest is not the one recorded (normally the last chunk, where new events go).

A finding names the batches the event's document names (resolved against the registry, not
read from the tampered rows) and those its stored rows name; their checks fail (the page says
"could not be verified") while the chunk's finding stands, and come back once a later pass
finds the rows restored. What it cannot see: ``record_time`` and the capturing organisation are
outside the document and the chain (:mod:`trace.services.events.derivation`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from trace.db import table_of
from trace.models import BatchLink, Event, EventChunkCheck, EventEpc
from trace.services.events import derivation, ledger
from trace.services.events.identifiers import resolve

SIZE = 1000  # event ids per chunk
Share = tuple[int, int]  # (i, n): a process takes the chunks (or batches) whose number % n == i

# Each row's ``xmin`` (the transaction that wrote this version of it) stands for its content:
# any UPDATE, INSERT or DELETE changes the chunk's set of (row, xmin), so the digest changes
# without reading, serialising and hashing the documents (which made it ten times dearer).
DIGEST_SQL = text("""
SELECT chunk, encode(sha256(convert_to(string_agg(part, ',' ORDER BY part), 'UTF8')), 'hex')
FROM (
    SELECT e.id / :size AS chunk, 'e' || e.id || ':' || e.xmin AS part FROM event e
    UNION ALL
    SELECT ee.event_pk / :size, 'p' || ee.id || ':' || ee.xmin FROM event_epc ee
    UNION ALL
    SELECT bl.event_pk / :size, 'l' || bl.id || ':' || bl.xmin FROM batch_link bl
) parts
WHERE chunk % :shares = :share
GROUP BY chunk
""")


def digests(session: Session, share: Share | None = None) -> dict[int, str]:
    """Every chunk's digest (of this ``share`` of chunks, if given), by chunk number (event id
    // :data:`SIZE`)."""
    share_, shares = share if share is not None else (0, 1)
    if session.get_bind().dialect.name == "postgresql":
        params = {"size": SIZE, "share": share_, "shares": shares}
        return {int(c): str(d) for c, d in session.execute(DIGEST_SQL, params)}
    parts: dict[int, list[str]] = defaultdict(list)
    for tag, table, key in (
        ("e", table_of(Event), table_of(Event).c.id),
        ("p", table_of(EventEpc), table_of(EventEpc).c.event_pk),
        ("l", table_of(BatchLink), table_of(BatchLink).c.event_pk),
    ):
        for row in session.execute(select(table).order_by(table.c.id)):
            if row._mapping[key] // SIZE % shares == share_:
                parts[row._mapping[key] // SIZE].append(tag + repr(tuple(row)))
    return {
        chunk: hashlib.sha256("\n".join(sorted(rows)).encode()).hexdigest()
        for chunk, rows in parts.items()
    }


def _split(batches: str) -> set[int]:
    return {int(b) for b in batches.split()}


def walk(
    session: Session, now: dt.datetime, seconds: float | None = None, share: Share | None = None
) -> set[int]:
    """Re-check the chunks whose rows changed since their last check and record what each
    found; returns the batches whose failure came or went (or changed), to be checked again.

    ``seconds``: stop re-checking after this long (the rest keep their old digest, so the next
    pass takes them up). Chunks checked before come first: after a deploy onto a large ledger
    the first walk takes several passes, and rows changed behind the service's back in chunks
    already checked are found meanwhile. ``share``: only the chunks of this share (processes
    walking side by side)."""
    deadline = time.monotonic() + seconds if seconds is not None else None
    current = digests(session, share)
    rows = {r.chunk: r for r in session.scalars(select(EventChunkCheck))}
    affected: set[int] = set()
    if share is not None:
        rows = {chunk: row for chunk, row in rows.items() if chunk % share[1] == share[0]}
    for chunk in sorted(set(rows) - set(current)):  # every row of the chunk is gone
        affected |= _split(rows[chunk].batches)
        session.execute(delete(EventChunkCheck).where(EventChunkCheck.chunk == chunk))
    changed = [c for c, d in current.items() if c not in rows or rows[c].digest != d]
    for chunk in sorted(changed, key=lambda c: (c not in rows, c)):
        if deadline is not None and time.monotonic() > deadline:
            break
        batches, problem = _check_chunk(session, chunk)
        row = rows.get(chunk)
        if row is None:
            row = EventChunkCheck(chunk=chunk, batches="")
            session.add(row)
        before = (_split(row.batches), row.problem)
        if before != (batches, problem):
            affected |= before[0] | batches
        row.digest, row.checked_at, row.problem = current[chunk], now, problem
        row.batches = " ".join(str(b) for b in sorted(batches))
    session.flush()
    return affected


def _check_chunk(session: Session, chunk: int) -> tuple[set[int], str | None]:
    """The batches the chunk's unsound events belong to, and the first problem."""
    low, high = chunk * SIZE, chunk * SIZE + SIZE - 1
    fresh = select(Event).where(Event.id.between(low, high)).order_by(Event.seq)
    events = list(session.scalars(fresh.execution_options(populate_existing=True)))
    checks = ledger.check_entries(session, events)
    bad = [e for e in events if not checks[e.seq].ok]
    # Index rows of events missing from the chunk (the event row itself deleted) are unsound too.
    known = {e.id for e in events}
    stray_epc = session.execute(
        select(EventEpc.event_pk, EventEpc.batch_id).where(EventEpc.event_pk.between(low, high))
    ).all()
    stray_links = session.execute(
        select(BatchLink.event_pk, BatchLink.input_batch_id, BatchLink.output_batch_id).where(
            BatchLink.event_pk.between(low, high)
        )
    ).all()
    orphans = {pk for pk, _ in stray_epc if pk not in known}
    orphans |= {pk for pk, _, _ in stray_links if pk not in known}
    if not bad and not orphans:
        return set(), None
    named = _named_batches(session, bad)
    wanted = {e.id for e in bad} | orphans
    for pk, batch_id in stray_epc:
        if pk in wanted and batch_id is not None:
            named.add(batch_id)
    for pk, input_id, output_id in stray_links:
        if pk in wanted:
            named |= {input_id, output_id}
    if bad:
        return named, _problem(bad[0], checks[bad[0].seq])
    return named, f"index rows name event row {min(orphans)}, which is missing"


def _named_batches(session: Session, events: Sequence[Event]) -> set[int]:
    """The batches the events' documents name (as the registry resolves them now)."""
    uris: set[str] = set()
    for event in events:
        try:
            uris |= {uri for _, uri in derivation.identifiers(event.document)}
        except (AttributeError, TypeError, ValueError):
            continue  # an unreadable document: its stored rows still name batches
    return {
        found.batch_id for found in resolve(session, uris).values() if found.batch_id is not None
    }


def _problem(event: Event, check: ledger.EntryCheck) -> str:
    where = f"entry {event.seq} (event {event.event_id})"
    if not check.hash_ok:
        return f"{where} was changed after it was recorded"[:500]
    if not check.link_ok:
        return f"{where} does not follow from the entry before it"[:500]
    mismatch = check.mismatches[0]
    return f"{where} was changed behind the service's back: {mismatch.message}"[:500]


def flags(session: Session, batch_ids: Sequence[int]) -> dict[int, str]:
    """The batches among ``batch_ids`` that a chunk's finding fails, with its problem."""
    wanted = set(batch_ids)
    found: dict[int, str] = {}
    for batches, problem in session.execute(
        select(EventChunkCheck.batches, EventChunkCheck.problem)
        .where(EventChunkCheck.problem.is_not(None))
        .order_by(EventChunkCheck.chunk)
    ):
        for batch_id in _split(batches) & wanted:
            found.setdefault(batch_id, problem or "")
    return found
