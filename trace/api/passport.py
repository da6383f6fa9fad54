"""Passport completeness: per product, per batch, and per producer over a province."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from trace.api import schemas as s
from trace.api.auth import current_actor
from trace.api.docs import documented
from trace.api.io import dump, list_page, public_url
from trace.db import db
from trace.services.passport import readiness

_product = s.ProductCompletenessSchema()
_batch = s.BatchCompletenessSchema()
_readiness_page = s.page_of(s.ProducerReadinessSchema)()


@documented(summary="What the passports of a product's batches lack, whatever the batch",
            tag="Passport", response=s.ProductCompletenessSchema, errors=(401, 404))  # fmt: skip
def product_completeness(product_id: int) -> Response:
    current_actor()
    return dump(_product, readiness.product_check(db.session, product_id, public_url()))


@documented(summary="What a batch's digital product passport lacks (Decree 37 minimum)",
            tag="Passport", response=s.BatchCompletenessSchema, errors=(401, 404))  # fmt: skip
def batch_completeness(batch_id: int) -> Response:
    current_actor()
    return dump(_batch, readiness.batch_check(db.session, batch_id, public_url()))


@documented(summary="Producers and their products' passport gaps (a centre: its province)",
            tag="Passport", query=s.ReadinessQuery, response=_readiness_page.__class__,
            errors=(401, 403, 422))  # fmt: skip
def producer_readiness() -> Response:
    actor = current_actor()

    def listing(args: dict[str, Any], limit: int, cursor: str | None) -> Any:
        return readiness.readiness(db.session, actor, args, limit, cursor, public_url())

    return list_page(s.ReadinessQuery(), _readiness_page, listing)


def register(bp: Blueprint) -> None:
    rules = [
        ("/products/<int:product_id>/passport-completeness", "product_completeness",
         product_completeness),
        ("/batches/<int:batch_id>/passport-completeness", "batch_completeness",
         batch_completeness),
        ("/passport-readiness", "producer_readiness", producer_readiness),
    ]  # fmt: skip
    for rule, endpoint, view in rules:
        bp.add_url_rule(rule, endpoint, view, methods=["GET"])
