"""Two producers side by side for the producer's console pages: ``own`` (signed in) and
``foreign`` (whose rows must stay out of reach), each with a product, facilities and a batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient

from tests.console.conftest import csrf_of
from trace.models import Batch, Facility, Organization, Product


@dataclass
class Side:
    org: Organization
    product: Product
    farm: Facility
    packing: Facility
    batch: Batch


def side(build: Any, name: str, province: str, lot: str) -> Side:
    org = build.organization(name=name, province_code=province, kind="producer")
    product = build.product(org, name_vi=f"Vải của {name}", shelf_life_days=10)
    farm = build.facility(org, name=f"Vườn {name}")
    packing = build.facility(org, name=f"Nhà sơ chế {name}", kind="packing_house")
    batch = build.batch(product, lot_code=lot, origin_facility_id=farm.id)
    return Side(org, product, farm, packing, batch)


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def post_form(client: FlaskClient, page: str, action: str, data: dict[str, Any]) -> Any:
    """Open ``page`` (for its CSRF token) and post ``data`` to ``action``."""
    token = csrf_of(text(client.get(page)))
    return client.post(action, data={"csrf_token": token, **data})
