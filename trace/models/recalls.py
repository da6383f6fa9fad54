"""Recalls of batches, and signed checkpoints of the ledger head."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trace.models.base import Base, utcnow


class Recall(Base):
    __tablename__ = "recall"

    id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(String(2000))
    #: what consumers must do, shown in the public page's recall banner in its language
    instruction_vi: Mapped[str | None] = mapped_column(String(1000))
    instruction_en: Mapped[str | None] = mapped_column(String(1000))
    include_downstream: Mapped[bool]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id"))
    created_by_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    closed_at: Mapped[dt.datetime | None]
    close_note: Mapped[str | None] = mapped_column(String(2000))
    closed_by_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id"))

    batches: Mapped[list[RecallBatch]] = relationship(back_populates="recall")


class RecallBatch(Base):
    """A batch a recall covers: named in the recall (``direct``) or reached downstream."""

    __tablename__ = "recall_batch"

    recall_id: Mapped[int] = mapped_column(ForeignKey("recall.id"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), primary_key=True, index=True)
    direct: Mapped[bool]

    recall: Mapped[Recall] = relationship(back_populates="batches")


class LedgerCheckpoint(Base):
    """The ledger head at a moment, signed with the service's Ed25519 key."""

    __tablename__ = "ledger_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(index=True)
    chain_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))
