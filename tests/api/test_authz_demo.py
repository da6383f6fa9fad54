"""The write rule on the demo data: the issue's reproducer is refused, and the demo's supply
chains are accepted when each organisation records its own stages with its own token."""

from __future__ import annotations

import json

from sqlalchemy import select

from trace.demo import load_demo, read_fixture
from trace.epcis.export import epcis_document
from trace.models import ApiToken, Batch, Facility, Organization


def test_issue_reproducer_foreign_receipt_on_the_demo(app, client, session) -> None:
    """Issue 10 item 3: the demo producer receives another organisation's fish sauce lot,
    naming its own GLN as destination, then destroys it."""
    output = json.loads(app.test_cli_runner().invoke(args=["demo", "--json"]).output)
    producer = {"Authorization": f"Bearer {output['tokens']['producer']}"}
    org_id = session.scalar(
        select(ApiToken.organization_id).where(ApiToken.name == "demo producer")
    )
    own = session.get(Organization, org_id)
    lot = session.scalars(select(Batch).where(Batch.lot_code == "PQ2603-40N-01")).one()
    assert lot.producer_id != own.id and own.gln
    lot_uri = f"https://id.gs1.org/01/{lot.product.gtin}/10/{lot.lot_code}"
    before = client.get(f"/api/v1/batches/{lot.id}/events", headers=producer)
    assert before.status_code == 403  # item 9: not its lot, never held
    for step, extra in (
        ("receiving", {"destinationList": [{"type": "owning_party",
                                            "destination": f"https://trace.example.vn/417/{own.gln}"}]}),
        ("destroying", {"disposition": "destroyed"}),
    ):  # fmt: skip
        event = {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": step,
                 "eventTime": "2026-06-10T08:00:00+07:00", "eventTimeZoneOffset": "+07:00",
                 "quantityList": [{"epcClass": lot_uri}], **extra}  # fmt: skip
        response = client.post("/api/v1/capture", json=epcis_document([event]), headers=producer)
        assert response.status_code == 403, response.json
    page = client.get(f"/01/{lot.product.gtin}/10/{lot.lot_code}?lang=en").get_data(as_text=True)
    assert own.name not in page and "Destroying" not in page


def test_demo_chains_are_accepted_from_their_own_parties(app, client, session, token) -> None:
    """Every demo stage, recorded through the stage form by the organisation whose facility it
    happens at (shipments by the senders, receipts and sales by distributors and retailers)."""
    fixture = read_fixture()
    ids = load_demo(session, app.config["PUBLIC_URL"], fixture | {"events": []})
    session.commit()
    tokens: dict[int, dict[str, str]] = {}
    for record in fixture["events"]:
        body = dict(record)
        batch_id = ids.batches[body.pop("batch")]
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
        org_id = session.get(Facility, body["facility_id"]).organization_id
        headers = tokens.setdefault(org_id, token("producer", org_id))
        response = client.post(f"/api/v1/batches/{batch_id}/events", json=body, headers=headers)
        assert response.status_code == 201, (record, response.json)
    result = app.test_cli_runner().invoke(args=["audit", "custody", "--json"])
    assert json.loads(result.output) == {"findings": []}
    distributors = {o for o in tokens if session.get(Organization, o).kind == "distributor"}
    assert distributors  # receipts by distributors were part of the replay
