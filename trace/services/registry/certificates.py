"""Certificates of organisations, product lines and batches.

The write rule is the holder's: a certificate of an organisation or a product is written by whoever
may change that organisation or product (its province's centre, admin), one of a batch by whoever
may change the batch (also its own producer). A change touches the holder's ``updated_at``, so the
public pages showing it are rendered afresh (their freshness reads it; on PostgreSQL the holder's
update trigger tells every worker).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from trace.models import Batch, Certificate, CertificateKind, Organization, Product
from trace.models.base import utcnow
from trace.services import audit
from trace.services.actors import Actor
from trace.services.errors import FieldError, InvalidInput, get_or_404, invalid
from trace.services.pagination import paginate, where_equal
from trace.services.registry.certificate_text import parse_certification

Holder = Organization | Product | Batch
HOLDERS: dict[str, type[Organization] | type[Product] | type[Batch]] = {
    "organization_id": Organization,
    "product_id": Product,
    "batch_id": Batch,
}


def holder_of(session: Session, certificate: Certificate) -> Holder:
    for column, model in HOLDERS.items():
        holder_id = getattr(certificate, column)
        if holder_id is not None:
            return get_or_404(session, model, holder_id)
    raise AssertionError("a certificate has exactly one holder")  # the table's check


def _may_write(actor: Actor, holder: Holder) -> bool:
    if isinstance(holder, Organization):
        return actor.may_manage_province(holder.province_code)
    if isinstance(holder, Product):
        return actor.may_manage_province(holder.organization.province_code)
    producer = holder.producer
    return actor.may_manage_organization(producer.id, producer.province_code)


def _require(actor: Actor, holder: Holder, what: str) -> None:
    actor.require(_may_write(actor, holder), f"{what} certificates of this {holder.__tablename__}")


def _referenced_holder(session: Session, data: Mapping[str, Any]) -> Holder:
    named = [column for column in HOLDERS if data.get(column) is not None]
    if len(named) != 1:
        raise InvalidInput(
            "A certificate belongs to exactly one organisation, product or batch.",
            errors=[FieldError(f"/{column}", "give exactly one holder") for column in HOLDERS],
        )
    column = named[0]
    holder = cast(Holder | None, session.get(HOLDERS[column], data[column]))
    if holder is None:
        raise invalid(f"/{column}", f"{column.removesuffix('_id')} {data[column]} does not exist")
    if getattr(holder, "archived_at", None) is not None:
        raise invalid(f"/{column}", f"{column.removesuffix('_id')} {data[column]} is archived")
    return holder


def _check_validity(data: Mapping[str, Any]) -> None:
    start, end = data.get("valid_from"), data.get("valid_to")
    if start is not None and end is not None and end < start:
        raise invalid("/valid_to", "the certificate ends before it starts")


def _touch(holder: Holder) -> None:
    holder.updated_at = utcnow()


def create_certificate(session: Session, actor: Actor, data: Mapping[str, Any]) -> Certificate:
    holder = _referenced_holder(session, data)
    _require(actor, holder, "add")
    _check_validity(data)
    certificate = Certificate(**data)
    session.add(certificate)
    _touch(holder)
    session.flush()
    audit.record(
        session, actor, "create", "certificate", certificate.id, after=audit.snapshot(certificate)
    )
    return certificate


def update_certificate(
    session: Session, actor: Actor, certificate_id: int, changes: Mapping[str, Any]
) -> Certificate:
    certificate = get_or_404(session, Certificate, certificate_id)
    holder = holder_of(session, certificate)
    _require(actor, holder, "change")
    _check_validity(
        {"valid_from": certificate.valid_from, "valid_to": certificate.valid_to, **changes}
    )
    return _change(session, actor, certificate, holder, changes, "update")


def archive_certificate(session: Session, actor: Actor, certificate_id: int) -> Certificate:
    """Withdraw a certificate: it leaves the passport; the record and its audit trail stay."""
    certificate = get_or_404(session, Certificate, certificate_id)
    holder = holder_of(session, certificate)
    _require(actor, holder, "withdraw")
    if certificate.archived_at is not None:
        return certificate
    return _change(session, actor, certificate, holder, {"archived_at": utcnow()}, "archive")


def _change(
    session: Session,
    actor: Actor,
    certificate: Certificate,
    holder: Holder,
    changes: Mapping[str, Any],
    action: str,
) -> Certificate:
    before = audit.snapshot(certificate)
    for key, value in changes.items():
        setattr(certificate, key, value)
    after = audit.snapshot(certificate)
    if after != before:
        _touch(holder)
        session.flush()
        audit.record(
            session, actor, action, "certificate", certificate.id, before=before, after=after
        )
    return certificate


def add_from_text(session: Session, actor: Actor, batch: Batch, texts: Iterable[str]) -> None:
    """Free-text certifications of a batch (the batch API's ``certifications``) as records;
    a text the batch already holds a live record of is not added twice."""
    known = set(
        session.scalars(
            select(Certificate.source_text).where(
                Certificate.batch_id == batch.id, Certificate.archived_at.is_(None)
            )
        )
    )
    for text in dict.fromkeys(texts):
        if text in known:
            continue
        parsed = parse_certification(text)
        certificate = Certificate(
            batch_id=batch.id,
            kind=CertificateKind(parsed.kind),
            number=parsed.number,
            scope=parsed.scope,
            source_text=parsed.source_text,
        )
        session.add(certificate)
        session.flush()
        audit.record(
            session,
            actor,
            "create",
            "certificate",
            certificate.id,
            after=audit.snapshot(certificate),
        )


def label(certificate: Certificate) -> str:
    """How the certificate reads in one line: its original text, else its kind and number."""
    if certificate.source_text:
        return certificate.source_text
    return " ".join(part for part in (str(certificate.kind), certificate.number) if part)


def list_certificates(
    session: Session, filters: Mapping[str, Any], limit: int, cursor: str | None
) -> tuple[Sequence[Certificate], str | None]:
    stmt: Select[Any] = where_equal(
        select(Certificate),
        filters,
        {
            "organization": Certificate.organization_id,
            "product": Certificate.product_id,
            "batch": Certificate.batch_id,
            "kind": Certificate.kind,
        },
    )
    if not filters.get("include_archived"):
        stmt = stmt.where(Certificate.archived_at.is_(None))
    return paginate(session, stmt, Certificate.id, limit, cursor)


def certificates_for(
    session: Session,
    organization_ids: Iterable[int] = (),
    product_ids: Iterable[int] = (),
    batch_ids: Iterable[int] = (),
) -> list[Certificate]:
    """The live certificates of these holders, in one query."""
    conditions = [
        column.in_(sorted(set(ids)))
        for column, ids in (
            (Certificate.organization_id, organization_ids),
            (Certificate.product_id, product_ids),
            (Certificate.batch_id, batch_ids),
        )
    ]
    return list(
        session.scalars(
            select(Certificate)
            .where(or_(*conditions), Certificate.archived_at.is_(None))
            .order_by(Certificate.id)
        )
    )
