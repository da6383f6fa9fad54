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
from collections.abc import Iterator
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


def chain(head: LedgerHead, events: list[Event]) -> None:
    """Give ``events`` their ledger places after ``head`` and move the head past them."""
    seq, previous = head.seq, head.chain_hash
    for event in events:
        seq += 1
        previous = next_chain_hash(previous, entry_digest(event.hash_id, event.document))
        event.seq, event.chain_hash = seq, previous
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


def _entries(session: Session, batch: int = 2000) -> Iterator[Event]:
    last = -1
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
        if stored_hash(event) != event.hash_id:
            return result(
                Finding(event.seq, "altered", f"entry {event.seq} (event {event.event_id}) was "
                        "changed after it was recorded: its content no longer matches its hash "
                        "ID", event.event_id)
            )  # fmt: skip
        if next_chain_hash(previous, _digest(event)) != event.chain_hash:
            return result(_classify_break(event, previous, following))
        previous, expected, event = event.chain_hash, event.seq + 1, following
    if head_seq > count or head_hash != previous:
        return result(
            Finding(count + 1, "deleted", f"the ledger head is entry {head_seq} but the entries "
                    f"end at {count}: entries at the end were removed")
            if head_seq > count
            else Finding(head_seq, "altered", "the ledger head does not match the last entry")
        )  # fmt: skip
    return result(None)


def _classify_break(event: Event, previous: str, following: Event | None) -> Finding:
    seq, eid = event.seq, event.event_id
    if following is not None:
        if next_chain_hash(following.chain_hash, _digest(event)) == event.chain_hash:
            return Finding(seq, "reordered", f"entries {seq} and {following.seq} were swapped: "
                           f"entry {seq} follows from entry {following.seq}", eid)  # fmt: skip
        if next_chain_hash(previous, _digest(following)) == following.chain_hash:
            return Finding(seq, "inserted", f"entry {seq} (event {eid}) was inserted: the chain "
                           "skips it and continues from the entry before it", eid)  # fmt: skip
        if next_chain_hash(event.chain_hash, _digest(following)) == following.chain_hash:
            return Finding(seq, "altered", f"entry {seq} (event {eid}) does not follow from entry "
                           f"{seq - 1}: it was rewritten together with its hash ID, or entries "
                           "before it were deleted and the rest renumbered", eid)  # fmt: skip
    return Finding(seq, "reordered", f"entry {seq} (event {eid}) is out of place: its chain hash "
                   f"does not follow from entry {seq - 1}", eid)  # fmt: skip
