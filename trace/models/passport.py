"""The digital product passport's records: conformity certificates of an organisation, a
product line or one batch (Decree 37/2026/NĐ-CP Art. 32)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from trace.models.base import Archivable, Base, Timestamped, str_enum


class CertificateKind(enum.StrEnum):
    VIETGAP = "vietgap"
    GLOBALGAP = "globalgap"
    ORGANIC = "organic"
    OCOP = "ocop"
    GEOGRAPHICAL_INDICATION = "geographical_indication"
    HACCP = "haccp"
    ISO_22000 = "iso_22000"
    FOUR_C = "4c"
    RAINFOREST_ALLIANCE = "rainforest_alliance"
    LAB_TEST = "lab_test"
    OTHER = "other"


class Certificate(Timestamped, Archivable, Base):
    """Exactly one holder: an organisation, a product line or a batch. ``number`` is empty when
    the record came from free text that named no number."""

    __tablename__ = "certificate"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN organization_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN product_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN batch_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_holder",
        ),
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
            name="validity_ordered",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"), index=True)
    kind: Mapped[CertificateKind] = mapped_column(str_enum(CertificateKind, "certificate_kind"))
    number: Mapped[str] = mapped_column(String(100), default="")
    issuer: Mapped[str | None] = mapped_column(String(200))
    valid_from: Mapped[dt.date | None]
    valid_to: Mapped[dt.date | None]
    scope: Mapped[str | None] = mapped_column(String(500))
    document_url: Mapped[str | None] = mapped_column(String(500))
    #: the free text it was migrated from, kept word for word
    source_text: Mapped[str | None] = mapped_column(String(200))
