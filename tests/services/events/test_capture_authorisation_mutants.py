"""Who may record an EPCIS event of which batch, through ``POST /api/v1/capture``.

Written against the mutants the suite used to let through: above all a non-owner that names
itself as destination of a *shipping* event of another organisation's lot, which only the
bizStep check of the "addressed receipt" rule refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from trace.epcis.export import epcis_document
from trace.models import Event

PUBLIC_URL = "https://trace.example.vn"
GTIN = "08934567890120"


@pytest.fixture
def world(build, token) -> dict[str, Any]:
    coop = build.organization(name="HTX Vải thiều Phượng Sơn", gln="8935049500018")
    distributor = build.organization(kind="distributor", gln="8935049500025")
    stranger = build.organization(kind="distributor", province_code="01", gln="8935049500032")
    product = build.product(coop, gtin=GTIN[1:])
    batch = build.batch(product, lot_code="LN-AUTH-1")
    return {
        "coop": coop,
        "distributor": distributor,
        "stranger": stranger,
        "batch": batch,
        "lot": f"{PUBLIC_URL}/01/{GTIN}/10/LN-AUTH-1",
        "as_coop": token("producer", coop),
        "as_distributor": token("producer", distributor),
        "as_stranger": token("producer", stranger),
    }


def org_uri(org: Any, form: str) -> str:
    return f"{PUBLIC_URL}/417/{org.gln}" if form == "gln" else f"{PUBLIC_URL}/org/{org.id}"


_serial = iter(range(1, 10_000))


def event(world: dict[str, Any], biz_step: str, to: Any = None, form: str = "id",
          day: int = 12) -> dict[str, Any]:  # fmt: skip
    serial = next(_serial)  # in the ID and the time: no two events share their content
    doc: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:00000000-0000-4000-8000-{serial:012d}",
        "eventTime": f"2026-06-{day:02d}T06:{serial // 60 % 60:02d}:{serial % 60:02d}+07:00",
        "eventTimeZoneOffset": "+07:00",
        "action": "OBSERVE",
        "bizStep": biz_step,
        "quantityList": [{"epcClass": world["lot"], "quantity": 100, "uom": "KGM"}],
    }
    if to is not None:
        doc["destinationList"] = [{"type": "owning_party", "destination": org_uri(to, form)}]
    return doc


def post(client: FlaskClient, headers: dict[str, str], *events: dict[str, Any], **extra: str):
    return client.post(
        "/api/v1/capture", json=epcis_document(list(events)), headers=headers | extra
    )


def refused(response: Any, count: Callable[[type], int], stored: int, world: dict) -> None:
    assert response.status_code == 403, response.json
    assert response.mimetype == "application/problem+json"
    batches = f"batches [{world['batch'].id}]"
    reasons = ("belong to another organisation", "were not shipped to organisation")
    assert batches in response.json["detail"]
    assert any(reason in response.json["detail"] for reason in reasons), response.json
    assert count(Event) == stored  # nothing half-written


def ship_to(client: FlaskClient, world: dict[str, Any], to: Any, form: str = "id") -> None:
    response = post(client, world["as_coop"], event(world, "shipping", to, form, day=10))
    assert response.status_code == 201, response.json


@pytest.mark.parametrize("form", ["id", "gln"])
@pytest.mark.parametrize(
    "biz_step", ["shipping", "departing", "retail_selling", "storing", "commissioning"]
)
def test_non_owner_naming_itself_destination_is_refused(
    client: FlaskClient, world, count, biz_step: str, form: str
) -> None:
    """Only a receipt (receiving, accepting, arriving) addressed to the recorder is allowed on
    another organisation's lot; naming oneself as destination of anything else is not."""
    response = post(client, world["as_stranger"], event(world, biz_step, world["stranger"], form))
    refused(response, count, 0, world)


def test_non_owner_shipping_to_itself_is_refused_even_after_a_shipment_to_it(
    client: FlaskClient, world, count
) -> None:
    ship_to(client, world, world["distributor"])
    forged = event(world, "shipping", world["distributor"], day=11)
    refused(post(client, world["as_distributor"], forged), count, 1, world)


def test_refusal_with_proceed_keeps_the_good_events_only(client: FlaskClient, world, count) -> None:
    ship_to(client, world, world["distributor"])
    forged = event(world, "shipping", world["distributor"], day=11)
    receipt = event(world, "receiving", world["distributor"], day=11)
    mixed = post(client, world["as_distributor"], forged, receipt, **{
        "GS1-Capture-Error-Behaviour": "proceed"})  # fmt: skip
    assert mixed.status_code == 201, mixed.json
    assert [e["index"] for e in mixed.json["events"]] == [1]
    assert [e["pointer"] for e in mixed.json["errors"]] == ["/epcisBody/eventList/0"]
    assert count(Event) == 2


@pytest.mark.parametrize("biz_step", ["receiving", "accepting", "arriving"])
@pytest.mark.parametrize("form", ["id", "gln"])
def test_addressed_receipt_after_a_shipment_is_accepted(
    client: FlaskClient, world, count, biz_step: str, form: str
) -> None:
    ship_to(client, world, world["distributor"], form)
    receipt = event(world, biz_step, world["distributor"], form, day=11)
    response = post(client, world["as_distributor"], receipt)
    assert response.status_code == 201, response.json
    assert count(Event) == 2


@pytest.mark.parametrize("to", ["coop", "distributor", None])
def test_receipt_not_addressed_to_the_recorder_is_refused(
    client: FlaskClient, world, count, to: str | None
) -> None:
    ship_to(client, world, world["distributor"])
    receipt = event(world, "receiving", world[to] if to else None, day=11)
    refused(post(client, world["as_stranger"], receipt), count, 1, world)


def test_custody_after_receipt_is_the_receivers_only(client: FlaskClient, world, count) -> None:
    ship_to(client, world, world["distributor"])
    early = event(world, "retail_selling", day=11)
    refused(post(client, world["as_distributor"], early), count, 1, world)
    receipt = event(world, "receiving", world["distributor"], day=11)
    assert post(client, world["as_distributor"], receipt).status_code == 201
    # The receiver may go on; another organisation still may not, receipt or none.
    refused(
        post(client, world["as_stranger"], event(world, "retail_selling", day=13)), count, 2, world
    )
    sold = post(client, world["as_distributor"], event(world, "retail_selling", day=13))
    assert sold.status_code == 201, sold.json
    assert count(Event) == 3


def test_custody_of_one_lot_is_not_custody_of_another(
    client: FlaskClient, world, build, count
) -> None:
    """The distributor received lot 1; the coop's other lot, with events of its own, stays the
    coop's."""
    other = build.batch(world["batch"].product, lot_code="LN-AUTH-2")
    other_lot = f"{PUBLIC_URL}/01/{GTIN}/10/LN-AUTH-2"
    own = event(world, "inspecting")
    own["quantityList"][0]["epcClass"] = other_lot
    assert post(client, world["as_coop"], own).status_code == 201
    ship_to(client, world, world["distributor"])
    receipt = event(world, "receiving", world["distributor"], day=11)
    assert post(client, world["as_distributor"], receipt).status_code == 201
    onward = event(world, "shipping", day=13)
    onward["quantityList"][0]["epcClass"] = other_lot
    response = post(client, world["as_distributor"], onward)
    assert response.status_code == 403, response.json
    assert f"batches [{other.id}] belong to another organisation" in response.json["detail"]
    assert count(Event) == 3


def test_destination_that_resolves_to_nothing_is_no_address(
    client: FlaskClient, world, count
) -> None:
    """A destination naming no registered organisation addresses nobody: refused, not a 500."""
    receipt = event(world, "receiving")
    receipt["destinationList"] = [
        {"type": "owning_party", "destination": f"{PUBLIC_URL}/417/8935049500049"},
        {"type": "location", "destination": "urn:epc:id:sgln:8935049.50004.0"},
    ]
    refused(post(client, world["as_stranger"], receipt), count, 0, world)


def test_arrival_of_a_lot_shipped_elsewhere_gives_no_custody(
    client: FlaskClient, world, count
) -> None:
    """Arriving counts as a receipt only of a lot shipped to the one who arrives: a stranger's
    arrival of the distributor's consignment is refused, and gives it nothing to write on."""
    ship_to(client, world, world["distributor"])
    arrival = event(world, "arriving", world["stranger"], day=11)
    refused(post(client, world["as_stranger"], arrival), count, 1, world)
    refused(post(client, world["as_stranger"], event(world, "storing", day=12)), count, 1, world)


def test_roles_on_the_capture_path(client: FlaskClient, world, token, count) -> None:
    own = post(client, world["as_coop"], event(world, "inspecting"))
    assert own.status_code == 201
    assert post(client, token("centre", province="24"), event(world, "storing")).status_code == 201
    outside = post(client, token("centre", province="01"), event(world, "storing"))
    assert outside.status_code == 403
    assert f"batches [{world['batch'].id}] are outside province 01" in outside.json["detail"]
    inspector = post(client, token("inspector"), event(world, "storing"))
    assert inspector.status_code == 403 and "inspector" in inspector.json["detail"]
    assert post(client, token("admin"), event(world, "storing")).status_code == 201
    unknown = event(world, "storing")
    unknown["quantityList"][0]["epcClass"] = f"{PUBLIC_URL}/01/{GTIN}/10/NO-SUCH-LOT"
    nothing = post(client, world["as_coop"], unknown)
    assert nothing.status_code == 403
    assert (
        nothing.json["detail"] == "Event 0: the event names no registered batch or code of yours."
    )
    assert count(Event) == 3
