"""The append-only ledger: a hash chain over every stored event, and its verification.

Entry n holds ``chain_hash[n] = SHA-256(chain_hash[n-1] ‖ entry_digest[n])`` with
``chain_hash[0]`` = 64 zeros. The entry digest is the event hash ID; for an errorDeclaration,
which the CBV hash leaves out, the digest also covers the declaration itself, so a rewritten
declaration is caught too.

Appending locks the single ``ledger_head`` row (``SELECT … FOR UPDATE`` on PostgreSQL; on
SQLite the writer already holds the database write lock), so concurrent captures queue and the
chain never forks or skips a number.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trace.epcis.hashing import event_hash_id
from trace.models import Batch, BatchLink, Event, EventEpc, LedgerHead
from trace.services.events import derivation
from trace.services.events.identifiers import resolve

GENESIS = "0" * 64
HEAD_ID = 1


def entry_digest(hash_id: str, document: dict[str, Any]) -> str:
    declaration = document.get("errorDeclaration")
    if declaration is None:
        return hash_id
    canonical = json.dumps(declaration, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hash_id + "#" + hashlib.sha256(canonical.encode()).hexdigest()


def next_chain_hash(previous: str, digest: str) -> str:
    return hashlib.sha256((previous + digest).encode()).hexdigest()


def lock_head(session: Session) -> LedgerHead:
    """The ledger head, created on first use and locked for the rest of the transaction."""
    dialect = session.get_bind().dialect.name
    values = {"id": HEAD_ID, "seq": 0, "chain_hash": GENESIS}
    if dialect == "postgresql":
        session.execute(pg_insert(LedgerHead).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite_insert(LedgerHead).values(values).on_conflict_do_nothing())
    elif session.get(LedgerHead, HEAD_ID) is None:
        session.execute(insert(LedgerHead).values(values))
    head = session.scalars(
        select(LedgerHead).where(LedgerHead.id == HEAD_ID).with_for_update()
    ).one()
    session.refresh(head)
    return head


def chain(head: LedgerHead, rows: list[dict[str, Any]]) -> None:
    """Give event ``rows`` (with ``hash_id`` and ``document``) their ledger places after
    ``head`` — ``seq``, ``chain_hash`` and an ``id`` equal to ``seq`` — and move the head."""
    seq, previous = head.seq, head.chain_hash
    for row in rows:
        seq += 1
        previous = next_chain_hash(previous, entry_digest(row["hash_id"], row["document"]))
        row["id"] = row["seq"] = seq
        row["chain_hash"] = previous
    head.seq, head.chain_hash = seq, previous


@dataclass
class Finding:
    """An entry where the ledger stops being what was recorded.

    ``kind``: altered | deleted | inserted | reordered (the chain), or derived (a column of the
    event row is not what its document says: ``column`` names it) or index (its ``event_epc``
    or ``batch_link`` rows are not: ``column`` names the table)."""

    seq: int
    kind: str
    message: str
    event_id: str | None = None
    column: str | None = None


#: How many resolved identifiers a ledger walk keeps for the next entries.
RESOLVED_KEPT = 200_000
#: At most this many findings are listed (the count of mismatched entries is always given).
MAX_FINDINGS = 100


@dataclass
class Verification:
    ok: bool
    entries: int
    head_seq: int
    head_chain_hash: str
    finding: Finding | None = None
    findings: list[Finding] = field(default_factory=list)
    mismatched_entries: int = 0


def stored_hash(event: Event) -> str:
    """The CBV hash recomputed from the stored document, as captured."""
    context = [event.namespaces] if event.namespaces else None
    return event_hash_id(event.document, context)


def _entry_chunks(
    session: Session, batch: int = 2000, after: int = -1
) -> Iterator[Sequence[Event]]:
    last = after
    while True:
        rows = session.scalars(
            select(Event).where(Event.seq > last).order_by(Event.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield rows
        last = rows[-1].seq


def _entries(session: Session, batch: int = 2000, after: int = -1) -> Iterator[Event]:
    for rows in _entry_chunks(session, batch, after):
        yield from rows


def _checked_entries(session: Session) -> Iterator[tuple[Event, list[derivation.Mismatch]]]:
    """Every entry in ledger order, with what its derived columns and index rows get wrong."""
    resolved: dict[str, int | None] = {}
    for rows in _entry_chunks(session):
        mismatches = derived_mismatches(session, rows, resolved)
        for event in rows:
            yield event, mismatches.get(event.id, [])


def derived_mismatches(
    session: Session, events: Sequence[Event], resolved: dict[str, int | None] | None = None
) -> dict[int, list[derivation.Mismatch]]:
    """For each of ``events`` (by id) whose columns or index rows are not what its document
    derives (:mod:`trace.services.events.derivation`), what differs. A few queries per call,
    whatever the number of events: their ``event_epc`` and ``batch_link`` rows, the resolution
    of the identifiers their documents name, and (rarely) the facts of batches whose row differs.

    ``resolved``: identifiers resolved by earlier calls of the same walk (URI → batch or None),
    reused and added to, so a lot named by many events is looked up once."""
    ids = sorted(e.id for e in events)
    wanted_ids = set(ids)
    epcs: dict[int, list[derivation.StoredEpc]] = defaultdict(list)
    links: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for chunk in _id_groups(ids):
        for pk, role, uri, batch_id, moment in session.execute(
            select(EventEpc.event_pk, EventEpc.role, EventEpc.uri, EventEpc.batch_id,
                   EventEpc.event_time).where(chunk(EventEpc.event_pk)).order_by(EventEpc.id)
        ):  # fmt: skip
            if pk in wanted_ids:
                epcs[pk].append((role, uri, batch_id, moment))
        for pk, i, o in session.execute(
            select(BatchLink.event_pk, BatchLink.input_batch_id, BatchLink.output_batch_id).where(
                chunk(BatchLink.event_pk)
            )
        ):
            if pk in wanted_ids:
                links[pk].append((i, o))
    named: dict[int, list[tuple[str, str]]] = {}
    for event in events:
        try:
            named[event.id] = derivation.identifiers(event.document)
        except (AttributeError, TypeError, ValueError):
            continue  # an unreadable document: the comparison names it
    uris = {u for ns in named.values() for _, u in ns}
    if resolved is None:
        resolved = {}
    elif len(resolved) > RESOLVED_KEPT:
        resolved.clear()
    unseen = uris - resolved.keys()
    resolved.update(dict.fromkeys(unseen))
    resolved.update((uri, found.batch_id) for uri, found in resolve(session, unseen).items())
    batch_of = {uri: batch for uri in uris if (batch := resolved[uri]) is not None}
    # Facts only of batches where a stored row and the current resolution differ.
    wanted = {
        batch if batch is not None else batch_of.get(uri)
        for rows in epcs.values()
        for _, uri, batch, _ in rows
        if batch != batch_of.get(uri)
    }
    facts: dict[int, derivation.BatchFacts] = {}
    for batch_ids in _chunked(sorted(b for b in wanted if b is not None)):
        for batch_id, created_at, lot in session.execute(
            select(Batch.id, Batch.created_at, Batch.lot_code).where(Batch.id.in_(batch_ids))
        ):
            facts[batch_id] = derivation.BatchFacts(created_at, lot)
    found: dict[int, list[derivation.Mismatch]] = {}
    for event in events:
        stored = {name: getattr(event, name) for name in derivation.COLUMNS}
        mismatches = derivation.compare(
            stored, event.document, event.record_time, epcs.get(event.id, []),
            links.get(event.id, []), batch_of, facts, named.get(event.id),
        )  # fmt: skip
        if mismatches:
            found[event.id] = mismatches
    return found


def _digest(event: Event) -> str:
    return entry_digest(event.hash_id, event.document)


def entries_after(session: Session, seq: int, batch: int = 2000) -> Iterator[Event]:
    """The ledger's entries after ``seq``, in order, read ``batch`` at a time."""
    return _entries(session, batch, after=seq)


def replay(start: str, digests: Iterable[str]) -> str:
    """The chain hash reached from ``start`` by appending entries with these digests."""
    for digest in digests:
        start = next_chain_hash(start, digest)
    return start


@dataclass
class EntryCheck:
    """One entry checked on its own: its content still hashes to its hash ID, its chain hash
    follows from the entry before it (``predecessor_seq``; None when that entry is missing),
    and its derived columns and index rows are what its document says (``mismatches``)."""

    seq: int
    hash_ok: bool
    link_ok: bool
    predecessor_seq: int | None
    mismatches: list[derivation.Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.hash_ok and self.link_ok and not self.mismatches


def check_entries(session: Session, events: Iterable[Event]) -> dict[int, EntryCheck]:
    """Check each of ``events`` against its own hash, its predecessor's chain hash and its
    derived columns and index rows (a few queries, whatever the number of events)."""
    rows = list(events)
    wanted = {e.seq - 1 for e in rows if e.seq > 1}
    previous: dict[int, str] = {0: GENESIS}
    for chunk in _chunked(sorted(wanted)):
        found = session.execute(select(Event.seq, Event.chain_hash).where(Event.seq.in_(chunk)))
        previous.update((seq, chain_hash) for seq, chain_hash in found)
    mismatches = derived_mismatches(session, rows)
    checks = {}
    for event in rows:
        before = previous.get(event.seq - 1)
        link_ok = before is not None and next_chain_hash(before, _digest(event)) == event.chain_hash
        hash_ok = stored_hash(event) == event.hash_id
        checks[event.seq] = EntryCheck(
            event.seq,
            hash_ok,
            link_ok,
            event.seq - 1 if before is not None else None,
            # Columns are compared with a document that is still what was recorded.
            mismatches.get(event.id, []) if hash_ok else [],
        )
    return checks


def _id_groups(ids: list[int]) -> Iterator[Callable[[Any], Any]]:
    """Conditions selecting rows whose column is among the sorted ``ids``: one range when the
    ids are (nearly) consecutive, as a ledger walk's are (a range is cheaper than thousands of
    bound values); else lists of at most 500. A range can select rows of other ids too:
    callers key what they read by id."""
    if ids and ids[-1] - ids[0] < 2 * len(ids):
        yield lambda column: column.between(ids[0], ids[-1])
        return
    for chunk in _chunked(ids):
        yield _among(chunk)


def _among(ids: list[int]) -> Callable[[Any], Any]:
    return lambda column: column.in_(ids)


def _chunked(values: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def verify(session: Session) -> Verification:
    """Recompute the chain from the start and name the first entry that does not fit, and how:

    - altered: the stored event no longer hashes to its hash ID, or its chain hash no longer
      follows from its content;
    - deleted: a sequence number is missing (or entries at the end are gone);
    - inserted: an entry was slipped in: the chain skips it and continues from its predecessor
      (or entries sit past the ledger head);
    - reordered: entries are all there but their chain hashes only fit in another order.

    Every entry's derived columns and its ``event_epc`` / ``batch_link`` rows are compared with
    what its document says, too (:func:`derived_mismatches`): each difference is a finding of
    kind ``derived`` or ``index`` naming the event and the column or table. ``finding`` is the
    first finding in ledger order; the walk stops at a break of the chain.
    """
    previous, expected, count = GENESIS, 1, 0
    head = session.get(LedgerHead, HEAD_ID)
    head_seq, head_hash = (head.seq, head.chain_hash) if head else (0, GENESIS)
    findings: list[Finding] = []
    mismatched = 0

    def result(finding: Finding | None) -> Verification:
        listed = findings[:MAX_FINDINGS]
        if finding is not None:
            listed.append(finding)
        first = listed[0] if listed else None
        return Verification(first is None, count, head_seq, head_hash, first, listed,
                            mismatched + (finding is not None))  # fmt: skip

    entries = _checked_entries(session)
    current = next(entries, None)
    while current is not None:
        event, mismatches = current
        following_entry = next(entries, None)
        following = following_entry[0] if following_entry is not None else None
        count += 1
        if event.seq > head_seq:
            return result(
                Finding(event.seq, "inserted", f"entry {event.seq} lies past the ledger head "
                        f"({head_seq}): it was added behind the service's back", event.event_id)
            )  # fmt: skip
        if event.seq != expected:
            return result(
                Finding(expected, "deleted",
                        f"entry {expected} is missing: the ledger jumps to entry {event.seq}")
            )  # fmt: skip
        content_ok = stored_hash(event) == event.hash_id
        if not content_ok or next_chain_hash(previous, _digest(event)) != event.chain_hash:
            return result(_classify_break(event, previous, following, content_ok))
        if mismatches:
            mismatched += 1
            findings.extend(_named(event, m) for m in mismatches)
        previous, expected, current = event.chain_hash, event.seq + 1, following_entry
    if head_seq > count or head_hash != previous:
        return result(
            Finding(count + 1, "deleted", f"the ledger head is entry {head_seq} but the entries "
                    f"end at {count}: entries at the end were removed")
            if head_seq > count
            else Finding(head_seq, "altered", "the ledger head does not match the last entry")
        )  # fmt: skip
    return result(None)


def _named(event: Event, mismatch: derivation.Mismatch) -> Finding:
    return Finding(
        event.seq,
        mismatch.kind,
        f"entry {event.seq} (event {event.event_id}) was changed behind the service's back: "
        f"{mismatch.message}",
        event.event_id,
        mismatch.what,
    )


def _classify_break(
    event: Event, previous: str, following: Event | None, content_ok: bool
) -> Finding:
    """Name what happened at the first entry that does not fit, from how its neighbours fit."""
    seq, eid = event.seq, event.event_id
    if following is not None:
        if next_chain_hash(following.chain_hash, _digest(event)) == event.chain_hash:
            return Finding(seq, "reordered", f"entries {seq} and {following.seq} were swapped: "
                           f"entry {seq} follows from entry {following.seq}", eid)  # fmt: skip
        if next_chain_hash(previous, _digest(following)) == following.chain_hash:
            return Finding(seq, "inserted", f"entry {seq} (event {eid}) was inserted: the chain "
                           "skips it and continues from the entry before it", eid)  # fmt: skip
    if not content_ok:
        return Finding(seq, "altered", f"entry {seq} (event {eid}) was changed after it was "
                       "recorded: its content no longer matches its hash ID", eid)  # fmt: skip
    if following is not None and (
        next_chain_hash(event.chain_hash, _digest(following)) == following.chain_hash
    ):
        return Finding(seq, "altered", f"entry {seq} (event {eid}) does not follow from entry "
                       f"{seq - 1}: it was rewritten together with its hash ID, or entries "
                       "before it were deleted and the rest renumbered", eid)  # fmt: skip
    return Finding(seq, "reordered", f"entry {seq} (event {eid}) is out of place: its chain hash "
                   f"does not follow from entry {seq - 1}", eid)  # fmt: skip
