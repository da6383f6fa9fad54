"""The demo data set (``fixtures/demo.json``), loaded through the API's schemas and services.

Loading is idempotent: what already exists (same tax code, facility name, GTIN or product name,
lot code) is reused, never duplicated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import Schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.api import schemas
from trace.api.eudr_schemas import PlotSchema
from trace.api.event_schemas import StageForm
from trace.config import DEFAULTS
from trace.models import (
    Batch,
    Certificate,
    Facility,
    Organization,
    OrganizationKind,
    Product,
    Role,
)
from trace.services.accounts import passwords, users
from trace.services.actors import SYSTEM
from trace.services.eudr import plots
from trace.services.events import stages
from trace.services.registry import catalogue as registry
from trace.services.registry import certificates

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "demo.json"
#: How long after it happened a demo event is recorded: between these, fixed by its hash ID.
RECORD_DELAY_MINUTES = (10, 240)


@dataclass
class DemoIds:
    """Local ``ref`` names of the fixture mapped to database ids."""

    organizations: dict[str, int] = field(default_factory=dict)
    facilities: dict[str, int] = field(default_factory=dict)
    products: dict[str, int] = field(default_factory=dict)
    batches: dict[str, int] = field(default_factory=dict)
    certificates: dict[str, int] = field(default_factory=dict)


def read_fixture(path: Path = FIXTURES) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _load(
    session: Session,
    records: list[Mapping[str, Any]],
    schema: Schema,
    refs: dict[str, int],
    resolve: Callable[[dict[str, Any]], dict[str, Any]],
    find: Callable[[dict[str, Any]], Any],
    create: Callable[..., Any],
) -> None:
    for record in records:
        body = dict(record)
        ref = body.pop("ref")
        data = schema.load(resolve(body))
        existing = session.scalar(find(data))
        refs[ref] = existing if existing is not None else create(session, SYSTEM, data).id


def load_demo(
    session: Session, public_url: str, fixture: Mapping[str, Any] | None = None
) -> DemoIds:
    fixture = fixture if fixture is not None else read_fixture()
    ids = DemoIds()

    def org_refs(body: dict[str, Any]) -> dict[str, Any]:
        body["organization_id"] = ids.organizations[body.pop("organization")]
        return body

    def batch_refs(body: dict[str, Any]) -> dict[str, Any]:
        body["product_id"] = ids.products[body.pop("product")]
        body["producer_id"] = ids.organizations[body.pop("producer")]
        if "origin_facility" in body:
            body["origin_facility_id"] = ids.facilities[body.pop("origin_facility")]
        return body

    _load(
        session,
        fixture["organizations"],
        schemas.OrganizationSchema(),
        ids.organizations,
        lambda body: body,
        lambda d: select(Organization.id).where(Organization.tax_code == d["tax_code"]),
        registry.create_organization,
    )
    _load(
        session,
        fixture["facilities"],
        schemas.FacilitySchema(),
        ids.facilities,
        org_refs,
        lambda d: select(Facility.id).where(
            Facility.organization_id == d["organization_id"], Facility.name == d["name"]
        ),
        registry.create_facility,
    )
    _load_plots(session, fixture.get("plots", []), ids)
    _load(
        session,
        fixture["products"],
        schemas.ProductSchema(),
        ids.products,
        org_refs,
        lambda d: select(Product.id).where(
            Product.organization_id == d["organization_id"], Product.name_vi == d["name_vi"]
        ),
        registry.create_product,
    )
    _load(
        session,
        fixture["batches"],
        schemas.BatchSchema(),
        ids.batches,
        batch_refs,
        lambda d: select(Batch.id).where(
            Batch.product_id == d["product_id"], Batch.lot_code == d["lot_code"]
        ),
        registry.create_batch,
    )
    holders = {
        "organization": ids.organizations,
        "product": ids.products,
        "batch": ids.batches,
    }

    def certificate_refs(body: dict[str, Any]) -> dict[str, Any]:
        for name, refs in holders.items():
            if name in body:
                body[f"{name}_id"] = refs[body.pop(name)]
        return body

    _load(
        session,
        fixture.get("certificates", []),
        schemas.CertificateSchema(),
        ids.certificates,
        certificate_refs,
        lambda d: select(Certificate.id).where(
            *(
                getattr(Certificate, f"{name}_id") == d.get(f"{name}_id")
                if d.get(f"{name}_id") is not None
                else getattr(Certificate, f"{name}_id").is_(None)
                for name in holders
            ),
            Certificate.kind == d["kind"],
            Certificate.number == d["number"],
        ),
        certificates.create_certificate,
    )
    _load_events(session, public_url, fixture.get("events", []), ids)
    return ids


def _load_plots(session: Session, records: list[Mapping[str, Any]], ids: DemoIds) -> None:
    """Each plot's geolocation through the API's schema and the plot service (a plot already
    located the same way is left as it is)."""
    schema = PlotSchema()
    for record in records:
        body = dict(record)
        facility_id = ids.facilities[body.pop("facility")]
        plots.set_plot(
            session, SYSTEM, facility_id, schema.load(body), DEFAULTS["EUDR_AREA_TOLERANCE"]
        )


def plausible_record_time(event_time: dt.datetime, hash_id: str) -> dt.datetime:
    """When a demo event was recorded: 10 minutes to 4 hours after it happened, the same on
    every load (derived from its hash ID), so audits read like a season entered as it went
    rather than one loaded today (capture never lets it lie in the future)."""
    low, high = RECORD_DELAY_MINUTES
    spread = int.from_bytes(hashlib.sha256(hash_id.encode()).digest()[:4], "big")
    return event_time + dt.timedelta(minutes=low + spread % (high - low + 1))


def _load_events(
    session: Session, public_url: str, events: list[Mapping[str, Any]], ids: DemoIds
) -> None:
    """Each stage goes through the producers' form; an event already stored is a no-op."""
    form = StageForm()
    for record in events:
        body = dict(record)
        batch_id = ids.batches[body.pop("batch")]
        if "facility" in body:
            body["facility_id"] = ids.facilities[body.pop("facility")]
        if "to_organization" in body:
            body["to_organization_id"] = ids.organizations[body.pop("to_organization")]
        if "plot" in body:
            body["plot_id"] = ids.facilities[body.pop("plot")]
        if "inputs" in body:
            body["inputs"] = [
                {"batch_id": ids.batches[ref]}
                if isinstance(ref, str)
                else {"batch_id": ids.batches[ref["batch"]], "quantity": ref["quantity"]}
                for ref in body["inputs"]
            ]
        stages.record_stage(
            session,
            SYSTEM,
            batch_id,
            form.load(body),
            public_url,
            record_time=plausible_record_time,
        )


#: The demo's console accounts: role -> (login, password). Known passwords, for a demo only.
DEMO_ACCOUNTS: dict[str, tuple[str, str]] = {
    "admin": ("admin@example.com", "demo-admin-2026"),
    "centre": ("centre@example.com", "demo-centre-2026"),
    "producer": ("producer@example.com", "demo-producer-2026"),
    "inspector": ("inspector@example.com", "demo-inspector-2026"),
}


def load_demo_accounts(
    session: Session, producer: Organization, cost: passwords.Cost
) -> dict[str, dict[str, str]]:
    """One account per role (the producer's in ``producer``, the centre's in its province),
    with the known demo passwords; an account that exists is given its demo password again and
    reactivated. Returns ``{role: {"login": …, "password": …}}``."""
    centre_org = session.scalar(
        select(Organization.id)
        .where(
            Organization.kind == OrganizationKind.CENTRE,
            Organization.province_code == producer.province_code,
        )
        .order_by(Organization.id)
    )
    inspection_org = session.scalar(
        select(Organization.id)
        .where(Organization.kind == OrganizationKind.INSPECTION_AGENCY)
        .order_by(Organization.id)
    )
    organizations = {
        "admin": None,
        "centre": centre_org,
        "producer": producer.id,
        "inspector": inspection_org,
    }
    accounts: dict[str, dict[str, str]] = {}
    for role, (login, password) in DEMO_ACCOUNTS.items():
        hashed = passwords.hash_password(password, cost)
        user = users.find_by_login(session, login)
        if user is None:
            users.create_user(
                session,
                SYSTEM,
                role=Role(role),
                email=login,
                organization_id=organizations[role],
                province_code=producer.province_code if role == "centre" else None,
                name=f"Demo {role}",
                password_hash=hashed,
            )
        else:
            user.password_hash, user.active = hashed, True
        accounts[role] = {"login": login, "password": password}
    return accounts
