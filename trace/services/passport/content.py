"""The passport document of a batch: every item of the Decree 37/2026/NĐ-CP Art. 32 minimum.

:func:`passport` is the one place the content is put together: the public ``linkType=gs1:dpp``
answer, the API and the national portal sync all send this dictionary, and
``schemas/passport.schema.json`` describes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from trace.gs1 import build_digital_link
from trace.models import Batch, Certificate, Organization, Product
from trace.provinces import province_name
from trace.services.events.history import history, local_iso
from trace.services.labels.issuance import live_batch_code
from trace.services.passport import completeness
from trace.services.passport.validity import today, validity
from trace.services.registry.certificates import certificates_for

DPP_LINK_TYPE = "gs1:dpp"
VERSION = "1.0"
LEGAL_BASIS = "Law 78/2025/QH15; Decree 37/2026/NĐ-CP, Art. 32"


def page_url(session: Session, batch: Batch, public_url: str) -> str | None:
    """The batch's public page as its label carries it (None: no GTIN and no live code)."""
    gtin = batch.product.gtin
    if gtin:
        return build_digital_link(public_url, ("01", gtin), [("10", batch.lot_code)])
    code = live_batch_code(session, batch)
    return f"{public_url.rstrip('/')}/q/{code.code}" if code is not None else None


def _identifier(org: Organization) -> dict[str, str]:
    if org.gln:
        return {"scheme": "gln", "value": org.gln}
    return {"scheme": "vn_tax_code", "value": org.tax_code}


def producer_section(org: Organization) -> dict[str, Any]:
    return {
        "name": org.name,
        "address": org.address,
        "province_code": org.province_code,
        "province": province_name(org.province_code),
        "tax_code": org.tax_code,
        "gln": org.gln,
        "identifier": _identifier(org),
    }


def product_section(product: Product, public_url: str) -> dict[str, Any]:
    province = product.origin_province_code
    return {
        "name_vi": product.name_vi,
        "name_en": product.name_en,
        "gtin": product.gtin,
        "category": str(product.category),
        "brand_owner": product.organization.name,
        "ocop_stars": product.ocop_stars,
        "geographical_indication": product.geographical_indication,
        "standards": list(product.standards or []),
        "image_url": (
            f"{public_url.rstrip('/')}/img/product/{product.id}/640.jpg" if product.image else None
        ),
        "origin": {
            "country": product.origin_country,
            "province_code": province,
            "province": province_name(province) if province else None,
        },
    }


def certificate_entry(certificate: Certificate, holder: str, on: dt.date) -> dict[str, Any]:
    return {
        "id": certificate.id,
        "holder": holder,
        "kind": str(certificate.kind),
        "number": certificate.number or None,
        "issuer": certificate.issuer,
        "valid_from": certificate.valid_from.isoformat() if certificate.valid_from else None,
        "valid_to": certificate.valid_to.isoformat() if certificate.valid_to else None,
        "scope": certificate.scope,
        "document_url": certificate.document_url,
        "status": str(validity(certificate, on)),
    }


def _holder(certificate: Certificate) -> str:
    if certificate.batch_id is not None:
        return "batch"
    if certificate.product_id is not None:
        return "product"
    return "organization"


def certificates_section(
    session: Session, product: Product, batch: Batch | None, on: dt.date
) -> list[dict[str, Any]]:
    """The live certificates of the batch, its product, its producer and the brand owner."""
    organizations = {product.organization_id}
    if batch is not None:
        organizations.add(batch.producer_id)
    records = certificates_for(
        session,
        organization_ids=organizations,
        product_ids=[product.id],
        batch_ids=[batch.id] if batch is not None else [],
    )
    return [certificate_entry(c, _holder(c), on) for c in _without_echoes(records)]


def certificates_sections(
    session: Session, pairs: Sequence[tuple[Product, Batch]], on: dt.date
) -> dict[int, list[dict[str, Any]]]:
    """:func:`certificates_section` of many batches (by batch id) in one query: the verifier
    prepares their pages together."""
    records = certificates_for(
        session,
        organization_ids={o for p, b in pairs for o in (p.organization_id, b.producer_id)},
        product_ids={p.id for p, _ in pairs},
        batch_ids={b.id for _, b in pairs},
    )
    sections = {}
    for product, batch in pairs:
        mine = [
            c
            for c in records
            if c.organization_id in (product.organization_id, batch.producer_id)
            or c.product_id == product.id
            or c.batch_id == batch.id
        ]
        sections[batch.id] = [certificate_entry(c, _holder(c), on) for c in _without_echoes(mine)]
    return sections


def _without_echoes(records: list[Certificate]) -> list[Certificate]:
    """Leave out a record read from free text that a full record already says: same scheme and
    number ("VietGAP VG-24-0153" beside the dated VietGAP certificate VG-24-0153), or the same
    scheme with no number ("OCOP 4 sao" beside the product's OCOP certificate)."""
    full = [c for c in records if c.source_text is None]

    def echoed(record: Certificate) -> bool:
        return record.source_text is not None and any(
            c.kind is record.kind and (not record.number or c.number == record.number) for c in full
        )

    return [c for c in records if not echoed(c)]


def safety_section(product: Product) -> dict[str, str | None]:
    return {"vi": product.safety_warning_vi, "en": product.safety_warning_en}


def _stages(session: Session, batch: Batch) -> list[dict[str, Any]]:
    stages = []
    for entry in history(session, batch.id):
        event = entry.event
        place = entry.facility
        stages.append(
            {
                "name": entry.stage,
                "time": local_iso(event.event_time, event.event_time_zone_offset or "+07:00"),
                "place": place.name if place is not None else None,
                "province": province_name(place.province_code) if place is not None else None,
                "location_gln": place.gln if place is not None else None,
                "corrected": entry.corrected,
            }
        )
    return stages


def passport(
    session: Session, batch: Batch, public_url: str, *, on: dt.date | None = None
) -> dict[str, Any]:
    """The passport of ``batch`` as published (``public_url``: ``TRACE_PUBLIC_URL``), with its
    completeness; certificate validity as of ``on`` (default: today in Vietnam)."""
    on = on or today()
    product = batch.product
    page = page_url(session, batch, public_url)
    stages = _stages(session, batch)
    document: dict[str, Any] = {
        "passport_version": VERSION,
        "legal_basis": LEGAL_BASIS,
        "url": f"{page}?linkType={DPP_LINK_TYPE}" if page else None,
        "as_of": on.isoformat(),
        "product": product_section(product, public_url),
        "producer": producer_section(batch.producer),
        "batch": {
            "lot": batch.lot_code,
            "production_date": batch.production_date.isoformat(),
            "expiry_date": batch.expiry_date.isoformat() if batch.expiry_date else None,
            "quantity": str(batch.quantity),
            "unit": batch.unit,
            "status": str(batch.status),
        },
        "traceability": {"page": page, "events": len(stages), "stages": stages},
        "certificates": certificates_section(session, product, batch, on),
        "safety_warnings": safety_section(product),
    }
    missing = completeness.missing(document)
    document["completeness"] = {"complete": not missing, "missing": missing}
    return document
