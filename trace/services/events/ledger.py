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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trace.epcis.hashing import event_hash_id
from trace.models import Event, LedgerHead

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
    """The first entry where the ledger stops being what was recorded."""

    seq: int
    kind: str  # altered | deleted | inserted | reordered
    message: str
    event_id: str | None = None


@dataclass
class Verification:
    ok: bool
    entries: int
    head_seq: int
    head_chain_hash: str
    finding: Finding | None = None


def stored_hash(event: Event) -> str:
    """The CBV hash recomputed from the stored document, as captured."""
    context = [event.namespaces] if event.namespaces else None
    return event_hash_id(event.document, context)


def _entries(session: Session, batch: int = 2000, after: int = -1) -> Iterator[Event]:
    last = after
    while True:
        rows = session.scalars(
            select(Event).where(Event.seq > last).order_by(Event.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


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
    """One entry checked on its own: its content still hashes to its hash ID, and its chain hash
    follows from the entry before it (``predecessor_seq``; None when that entry is missing)."""

    seq: int
    hash_ok: bool
    link_ok: bool
    predecessor_seq: int | None

    @property
    def ok(self) -> bool:
        return self.hash_ok and self.link_ok


def check_entries(session: Session, events: Iterable[Event]) -> dict[int, EntryCheck]:
    """Check each of ``events`` against its own hash and against its predecessor's chain hash
    (two queries, whatever the number of events)."""
    rows = list(events)
    wanted = {e.seq - 1 for e in rows if e.seq > 1}
    previous: dict[int, str] = {0: GENESIS}
    for chunk in _chunked(sorted(wanted)):
        found = session.execute(select(Event.seq, Event.chain_hash).where(Event.seq.in_(chunk)))
        previous.update((seq, chain_hash) for seq, chain_hash in found)
    checks = {}
    for event in rows:
        before = previous.get(event.seq - 1)
        link_ok = before is not None and next_chain_hash(before, _digest(event)) == event.chain_hash
        checks[event.seq] = EntryCheck(
            event.seq,
            stored_hash(event) == event.hash_id,
            link_ok,
            event.seq - 1 if before is not None else None,
        )
    return checks


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
    """
    previous, expected, count = GENESIS, 1, 0
    head = session.get(LedgerHead, HEAD_ID)
    head_seq, head_hash = (head.seq, head.chain_hash) if head else (0, GENESIS)

    def result(finding: Finding | None) -> Verification:
        return Verification(finding is None, count, head_seq, head_hash, finding)

    entries = _entries(session)
    event = next(entries, None)
    while event is not None:
        following = next(entries, None)
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
        previous, expected, event = event.chain_hash, event.seq + 1, following
    if head_seq > count or head_hash != previous:
        return result(
            Finding(count + 1, "deleted", f"the ledger head is entry {head_seq} but the entries "
                    f"end at {count}: entries at the end were removed")
            if head_seq > count
            else Finding(head_seq, "altered", "the ledger head does not match the last entry")
        )  # fmt: skip
    return result(None)


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
