"""The JSON forms of the public pages (``Accept: application/json``): a code's lookup page,
a product (``/01/<gtin>``) and a facility (``/414/<gln>``)."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from flask import Response, jsonify

from trace.codeview import scans
from trace.models import Organization
from trace.services import lookup

JSON = "application/json"


def json_response(data: Any, status: int = 200, mimetype: str = JSON) -> Response:
    """A public JSON answer: readable from any origin (the pages are public)."""
    response = jsonify(data)
    response.status_code = status
    response.mimetype = mimetype
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def page_json(
    target: lookup.Target,
    data: lookup.PageData,
    stats: scans.ScanStats | None,
    public_url: str,
    verification: lookup.Verification,
) -> dict[str, Any]:
    verified: dict[str, Any] = {
        "ok": verification.ok,
        "checked": verification.checked,
        "problem": verification.problem,
    }
    if verification.checked_at is not None:  # by the ledger verifier, not at this view
        verified["checked_at"] = verification.checked_at
    body: dict[str, Any] = {
        "code": target.code,
        "kind": str(target.kind) if target.kind else None,
        "code_status": str(target.status) if target.status else None,
        "url": f"{public_url}/q/{target.code}" if target.code else None,
        "product": data.product,
        "producer": data.producer,
        "batch": data.batch,
        "origin_facility": asdict(data.origin_facility) if data.origin_facility else None,
        "stages": [asdict(stage) for stage in data.stages],
        "origins": [asdict(origin) for origin in data.origins],
        "history_verified": verified,
        "recall": asdict(data.recall) if data.recall else None,
        "certificates": data.certificates,
        "eudr": data.eudr,
    }
    if stats is not None:
        body["scans"] = {
            "count": stats.count,
            "capped": stats.capped,
            "first": stats.first,
            "possible_copy": stats.suspicious,
        }
    return _plain(body)


def product_json(gtin: str, info: lookup.ProductPage) -> dict[str, Any]:
    return {
        "gtin": gtin,
        "name_vi": info.product.name_vi,
        "name_en": info.product.name_en,
        "producer": info.producer.name,
        "batches": [
            {
                "lot": batch.lot_code,
                "production_date": batch.production_date.isoformat(),
                "status": str(batch.status),
                "code": code,
            }
            for batch, code in info.batches
        ],
    }


def facility_json(gln: str, place: lookup.Place, org: Organization) -> dict[str, Any]:
    return {
        "gln": gln,
        "name": place.name,
        "address": place.address,
        "province": place.province,
        "organization": org.name,
        "kind": place.kind,
    }
