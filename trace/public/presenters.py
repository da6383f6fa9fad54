"""The JSON form of a lookup page (``Accept: application/json``)."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from trace.services import lookup, scans


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
) -> dict[str, Any]:
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
        "history_verified": asdict(data.verification),
        "recall": asdict(data.recall) if data.recall else None,
    }
    if stats is not None:
        body["scans"] = {
            "count": stats.count,
            "capped": stats.capped,
            "first": stats.first,
            "possible_copy": stats.suspicious,
        }
    return _plain(body)
