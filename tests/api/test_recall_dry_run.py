"""A recall's dry run answers its impact and writes nothing; the consumer instruction is part of
the recall resource; the KDE export's batch and organisation filters."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.api.inspection_support import build_chain
from tests.api.test_inspection_exports import read_csv
from trace.db import db
from trace.models import Base, Batch


def table_counts(app) -> dict[str, int]:
    with db.new_session(app) as fresh:
        return {
            table.name: fresh.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def batch_states(app) -> dict[int, str]:
    with db.new_session(app) as fresh:
        return {b.id: b.status.value for b in fresh.scalars(select(Batch))}


BODY = {
    "reason": "Dư lượng thuốc bảo vệ thực vật vượt ngưỡng",
    "instruction_vi": "Ngừng ăn, mang trả cửa hàng để được hoàn tiền.",
    "instruction_en": "Stop eating it; return it to the shop for a refund.",
    "include_downstream": True,
}


def test_dry_run_answers_the_impact_and_writes_nothing(app, client, build, token) -> None:
    chain = build_chain(client, build, token)
    inspector = token("inspector")
    before, states = table_counts(app), batch_states(app)
    answer = client.post(
        "/api/v1/recalls?dry_run=true",
        headers=inspector,
        json={**BODY, "batches": [chain["a"].id]},
    )
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["dry_run"] is True
    assert body["batches_total"] == 3
    assert {b["lot_code"] for b in body["batches"]} == {"LN2606-A01", "VS-2606-01", "HQ-2606-01"}
    assert {o["name"] for o in body["organizations"]} >= {"Công ty Nông sản Long Biên"}
    assert body["recall"]["instruction_en"] == BODY["instruction_en"]
    assert "id" not in body["recall"]
    # No row anywhere: recall, recall_batch, audit_entry, portal outbox, events (the ledger).
    assert table_counts(app) == before
    assert batch_states(app) == states
    assert client.get("/api/v1/recalls", headers=inspector).json["items"] == []
    # The same body without dry_run issues the recall the preview described.
    issued = client.post("/api/v1/recalls", headers=inspector,
                         json={**BODY, "batches": [chain["a"].id]})  # fmt: skip
    assert issued.status_code == 201
    assert issued.json["direct"] + issued.json["downstream"] == body["batches_total"]
    assert issued.json["instruction_vi"] == BODY["instruction_vi"]
    assert table_counts(app)["recall"] == before["recall"] + 1


def test_dry_run_keeps_the_rules_of_a_recall(app, client, build, token) -> None:
    chain = build_chain(client, build, token)
    body = {**BODY, "batches": [chain["a"].id]}
    hanoi, inspector = token("centre", province="01"), token("inspector")
    before = table_counts(app)
    # A Hà Nội centre may not recall Bắc Ninh's batch, not even as a dry run; a producer never.
    assert client.post("/api/v1/recalls?dry_run=1", headers=hanoi, json=body).status_code == 403
    producer = chain["grower"]
    assert client.post("/api/v1/recalls?dry_run=1", headers=producer, json=body).status_code == 403
    missing = client.post("/api/v1/recalls?dry_run=1", headers=inspector,
                          json={**BODY, "batches": [999999]})  # fmt: skip
    assert missing.status_code == 422
    bad = client.post("/api/v1/recalls?dry_run=maybe", headers=inspector, json=body)
    assert bad.status_code == 422
    long = {**body, "instruction_vi": "x" * 1001}
    assert client.post("/api/v1/recalls", headers=inspector, json=long).status_code == 422
    assert table_counts(app) == before


def test_kde_batch_and_organisation_filters(app, client, build, token) -> None:
    chain = build_chain(client, build, token)
    inspector = token("inspector")
    one = read_csv(client.get(f"/api/v1/exports/kde.csv?batch={chain['b'].id}", headers=inspector))
    assert {r["Mã lô truy xuất"] for r in one} == {"VS-2606-01"}
    org = chain["distributor"].id
    made = read_csv(client.get(f"/api/v1/exports/kde.csv?organization={org}", headers=inspector))
    assert {r["Mã lô truy xuất"] for r in made} == {"VS-2606-01", "HQ-2606-01"}
    # The read rule still applies: the shop's producer token sees none of the coop's batch.
    seller = read_csv(client.get(f"/api/v1/exports/kde.csv?batch={chain['a'].id}",
                                 headers=chain["seller"]))  # fmt: skip
    assert seller == []
    bad = client.get("/api/v1/exports/kde.csv?organization=abc", headers=inspector)
    assert bad.status_code == 422


def test_the_printable_audit_draws_its_boxes(app, client, build, token) -> None:
    """The genealogy's boxes have their size (the template reads NODE_W/NODE_H of the layout)."""
    chain = build_chain(client, build, token)
    page = client.get(f"/api/v1/batches/{chain['b'].id}/audit?format=html",
                      headers=token("inspector")).get_data(as_text=True)  # fmt: skip
    assert 'width="180" height="54"' in page and 'width=""' not in page
