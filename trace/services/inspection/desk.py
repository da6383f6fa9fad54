"""What the inspector's desk reads besides the audit report: who recorded each event (the audit
log names the console user when a person, not a token, captured it), and the ledger's state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.models import AuditEntry, LedgerCheckpoint, LedgerHead, User
from trace.services.events import ledger


def recorders(session: Session, event_pks: Sequence[int]) -> dict[int, str]:
    """Event row id -> the name of the console user who captured it, where the log knows one."""
    if not event_pks:
        return {}
    rows = session.execute(
        select(AuditEntry.entity_id, User.name, User.email, User.phone)
        .join(User, User.id == AuditEntry.user_id)
        .where(
            AuditEntry.entity_type == "event",
            AuditEntry.entity_id.in_([str(pk) for pk in event_pks]),
            AuditEntry.action.in_(["capture", "declare_error"]),
        )
    )
    return {int(entity): name or email or phone or "" for entity, name, email, phone in rows}


@dataclass(frozen=True)
class LedgerState:
    seq: int
    chain_hash: str
    latest_checkpoint: LedgerCheckpoint | None


def ledger_state(session: Session) -> LedgerState:
    head = session.get(LedgerHead, ledger.HEAD_ID)
    latest = session.scalars(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.id.desc()).limit(1)
    ).first()
    if head is None:
        return LedgerState(0, ledger.GENESIS, latest)
    return LedgerState(head.seq, head.chain_hash, latest)
