"""What a passport still lacks of the Decree 37 minimum, read from the passport document itself.

Each gap is named by the JSON pointer of the passport field that is missing, with a sentence a
centre officer can act on. A product's check (no batch yet) looks at the product, producer,
certificate and warning parts only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = tuple[str, Callable[[dict[str, Any]], bool], str]

PRODUCT_CHECKS: list[Check] = [
    ("/product/name_vi", lambda d: bool(d["product"]["name_vi"]), "the product has no name"),
    (
        "/product/gtin",
        lambda d: bool(d["product"]["gtin"]),
        "the product has no GTIN: the national portal registers products by GTIN",
    ),
    (
        "/product/origin/country",
        lambda d: bool(d["product"]["origin"]["country"]),
        "the product's country of origin is not set",
    ),
    (
        "/product/origin/province_code",
        lambda d: bool(d["product"]["origin"]["province_code"]),
        "the product's province of origin is not set",
    ),
    ("/producer/name", lambda d: bool(d["producer"]["name"]), "the producer has no name"),
    ("/producer/address", lambda d: bool(d["producer"]["address"]), "the producer has no address"),
    (
        "/producer/identifier",
        lambda d: bool(d["producer"]["identifier"]["value"]),
        "the producer has neither a tax code nor a GLN",
    ),
    (
        "/certificates",
        lambda d: any(c["status"] == "valid" for c in d["certificates"]),
        "no certificate in force (none recorded, or all expired or not yet valid)",
    ),
    (
        "/safety_warnings/vi",
        lambda d: bool(d["safety_warnings"]["vi"]),
        "no safety warning in Vietnamese (write 'Không có' when there is none to give)",
    ),
]

BATCH_CHECKS: list[Check] = [
    (
        "/batch/production_date",
        lambda d: bool(d["batch"]["production_date"]),
        "the batch has no production date",
    ),
    (
        "/batch/expiry_date",
        lambda d: bool(d["batch"]["expiry_date"]),
        "the batch has no expiry date (set it, or the product's shelf life)",
    ),
    (
        "/traceability/stages",
        lambda d: bool(d["traceability"]["stages"]),
        "no supply-chain event is recorded for the batch",
    ),
    (
        "/traceability/page",
        lambda d: bool(d["traceability"]["page"]),
        "the batch has no public page (no GTIN and its batch code is voided)",
    ),
]


def _run(checks: list[Check], document: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"field": pointer, "message": message}
        for pointer, present, message in checks
        if not present(document)
    ]


def missing_for_product(document: dict[str, Any]) -> list[dict[str, str]]:
    return _run(PRODUCT_CHECKS, document)


def missing(document: dict[str, Any]) -> list[dict[str, str]]:
    """Every gap of a batch's passport."""
    return _run(PRODUCT_CHECKS + BATCH_CHECKS, document)
