"""Registry resources: organisations, facilities, products, batches.

Each resource gets the same five routes (create, read, list, partial update, archive where the
thing can be archived); ``_register`` wires them so the views stay one line of work each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, url_for
from marshmallow import Schema

from trace.api import schemas as s
from trace.api.auth import current_actor
from trace.api.docs import documented
from trace.api.io import dump, list_page, load_body, public_url
from trace.db import db
from trace.models import Batch, Certificate, Facility, Organization, Product
from trace.services.registry import catalogue as svc
from trace.services.registry import certificates as certs


@dataclass(frozen=True)
class Resource:
    name: str
    plural: str
    title: str
    model: type[Any]
    schema: type[Schema]
    update_schema: type[Schema]
    query: type[Schema]
    create: Callable[..., Any]
    update: Callable[..., Any]
    listing: Callable[..., Any]
    archive: Callable[..., Any] | None
    #: ``(session, entities, public_url)`` -> what the schema dumps, when more than the rows
    describe: Callable[..., Sequence[Any]] | None = None


RESOURCES = [
    Resource(
        "organization", "organizations", "Organisations", Organization,
        s.OrganizationSchema, s.OrganizationSchema, s.OrganizationQuery,
        svc.create_organization, svc.update_organization, svc.list_organizations,
        svc.archive_organization,
    ),
    Resource(
        "facility", "facilities", "Facilities", Facility,
        s.FacilitySchema, s.FacilityUpdateSchema, s.FacilityQuery,
        svc.create_facility, svc.update_facility, svc.list_facilities, svc.archive_facility,
    ),
    Resource(
        "product", "products", "Products", Product,
        s.ProductSchema, s.ProductUpdateSchema, s.ProductQuery,
        svc.create_product, svc.update_product, svc.list_products, svc.archive_product,
    ),
    Resource(
        "batch", "batches", "Batches", Batch,
        s.BatchSchema, s.BatchUpdateSchema, s.BatchQuery,
        svc.create_batch, svc.update_batch, svc.list_batches, None, svc.batch_resources,
    ),
    Resource(
        "certificate", "certificates", "Certificates", Certificate,
        s.CertificateSchema, s.CertificateUpdateSchema, s.CertificateQuery,
        certs.create_certificate, certs.update_certificate, certs.list_certificates,
        certs.archive_certificate,
    ),
]  # fmt: skip


def _register(bp: Blueprint, r: Resource) -> None:
    one, update_one, query = r.schema(), r.update_schema(partial=True), r.query()
    page = s.page_of(r.schema)()
    base = f"/{r.plural}"

    def shown(entities: Sequence[Any]) -> Sequence[Any]:
        if r.describe is None:
            return entities
        return r.describe(db.session, entities, public_url())

    def shown_page(filters: dict[str, Any], limit: int, cursor: str | None) -> Any:
        items, next_cursor = r.listing(db.session, filters, limit, cursor)
        return shown(items), next_cursor

    @documented(summary=f"Register a {r.name}", tag=r.title, body=r.schema, response=r.schema,
                status=201, errors=(401, 403, 409, 422))  # fmt: skip
    def create() -> Response:
        entity = r.create(db.session, current_actor(), load_body(one))
        location = url_for(f".get_{r.name}", entity_id=entity.id)
        return dump(one, shown([entity])[0], 201, {"Location": location})

    @documented(summary=f"List {r.plural}", tag=r.title, query=r.query, response=page.__class__,
                errors=(401, 422))  # fmt: skip
    def listing() -> Response:
        current_actor()
        return list_page(query, page, shown_page)

    @documented(summary=f"Read a {r.name}", tag=r.title, response=r.schema, errors=(401, 404))
    def read(entity_id: int) -> Response:
        current_actor()
        return dump(one, shown([svc.get(db.session, r.model, entity_id)])[0])

    @documented(summary=f"Change a {r.name} (partial)", tag=r.title, body=update_one,
                response=r.schema, errors=(401, 403, 404, 409, 422))  # fmt: skip
    def update(entity_id: int) -> Response:
        actor = current_actor()
        return dump(one, shown([r.update(db.session, actor, entity_id, load_body(update_one))])[0])

    bp.add_url_rule(base, f"create_{r.name}", create, methods=["POST"])
    bp.add_url_rule(base, f"list_{r.plural}", listing, methods=["GET"])
    bp.add_url_rule(f"{base}/<int:entity_id>", f"get_{r.name}", read, methods=["GET"])
    bp.add_url_rule(f"{base}/<int:entity_id>", f"update_{r.name}", update, methods=["PATCH"])

    if r.archive is not None:
        archive_service = r.archive

        @documented(summary=f"Archive a {r.name} (history keeps it)", tag=r.title,
                    response=r.schema, errors=(401, 403, 404))  # fmt: skip
        def archive(entity_id: int) -> Response:
            return dump(one, shown([archive_service(db.session, current_actor(), entity_id)])[0])

        bp.add_url_rule(
            f"{base}/<int:entity_id>/archive", f"archive_{r.name}", archive, methods=["POST"]
        )


def register(bp: Blueprint) -> None:
    for resource in RESOURCES:
        _register(bp, resource)
