"""Recalls: through the genealogy, who may issue them, closing, and the impact report."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.api.inspection_support import add_codes, add_scans, at, build_chain
from trace.db import db
from trace.models import AuditEntry, Batch, RecallBatch


def statuses(app, *batches) -> list[str]:
    with db.new_session(app) as fresh:
        return [fresh.get(Batch, b.id).status.value for b in batches]


def recall(client, headers, batches, reason="Phát hiện dư lượng thuốc BVTV vượt ngưỡng",
           downstream=True):  # fmt: skip
    return client.post(
        "/api/v1/recalls",
        headers=headers,
        json={
            "batches": [b.id for b in batches],
            "reason": reason,
            "include_downstream": downstream,
        },
    )


def test_recall_reaches_every_batch_made_from_it(app, client, build, token) -> None:
    chain = build_chain(client, build, token)
    inspector = token("inspector")
    response = recall(client, inspector, [chain["a"]])
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "open" and body["direct"] == 1 and body["downstream"] == 2
    assert {(b["lot_code"], b["direct"]) for b in body["batches"]} == {
        ("LN2606-A01", True),
        ("VS-2606-01", False),
        ("HQ-2606-01", False),
    }
    assert statuses(app, chain["a"], chain["b"], chain["c"], chain["other"]) == [
        "recalled",
        "recalled",
        "recalled",
        "active",
    ]
    # The API reports the status, and onward movement is refused with a clear 409.
    batch = client.get(f"/api/v1/batches/{chain['c'].id}", headers=inspector).json
    assert batch["status"] == "recalled"
    refused = client.post(
        f"/api/v1/batches/{chain['b'].id}/events",
        headers=chain["processor"],
        json={"stage": "shipping", "to_organization_id": chain["shop"].id},
    )
    assert refused.status_code == 409 and "recalled" in refused.json["detail"]
    # Every status change is in the audit trail, with the recall.
    with db.new_session(app) as fresh:
        changes = fresh.scalars(select(AuditEntry).where(AuditEntry.action == "recall")).all()
        assert {e.entity_id for e in changes} == {str(chain[k].id) for k in "abc"}
        assert all(e.after["recall_id"] == body["id"] for e in changes)
        assert fresh.scalar(select(AuditEntry).where(AuditEntry.entity_type == "recall"))


def test_recall_without_downstream_and_public_banner_data(app, client, build, token) -> None:
    chain = build_chain(client, build, token)
    response = recall(client, token("admin"), [chain["b"]], downstream=False)
    assert response.status_code == 201
    assert statuses(app, chain["a"], chain["b"], chain["c"]) == ["active", "recalled", "active"]
    with db.new_session(app) as fresh:
        rows = fresh.scalars(select(RecallBatch)).all()
        assert [(r.batch_id, r.direct, r.recall.reason) for r in rows] == [
            (chain["b"].id, True, "Phát hiện dư lượng thuốc BVTV vượt ngưỡng")
        ]


def test_who_may_recall(app, client, build, token, count) -> None:
    chain = build_chain(client, build, token)
    a = chain["a"]  # produced in province 24
    assert recall(client, chain["grower"], [a]).status_code == 403
    assert recall(client, token("centre", province="01"), [a]).status_code == 403
    assert recall(client, {}, [a]).status_code == 401
    assert count(RecallBatch) == 0
    assert recall(client, token("centre", province="24"), [a]).status_code == 201
    bad = client.post(
        "/api/v1/recalls",
        headers=token("inspector"),
        json={"batches": [a.id, 99999], "reason": "x"},
    )
    assert bad.status_code == 422 and bad.json["errors"][0]["pointer"] == "/batches/1"
    assert bad.json["detail"] == "Some batches to recall do not exist."
    empty = client.post(
        "/api/v1/recalls", headers=token("inspector"), json={"batches": [], "reason": ""}
    )
    assert {e["pointer"] for e in empty.json["errors"]} == {"/batches", "/reason"}


def test_close_keeps_history_and_respects_other_open_recalls(app, client, build, token) -> None:
    chain = build_chain(client, build, token)
    inspector = token("inspector")
    first = recall(client, inspector, [chain["a"]]).json
    second = recall(client, inspector, [chain["c"]], reason="Bao bì lỗi", downstream=False).json
    closed = client.post(
        f"/api/v1/recalls/{first['id']}/close",
        headers=inspector,
        json={"note": "Kết quả kiểm nghiệm lại đạt"},
    )
    assert closed.status_code == 200, closed.json
    assert closed.json["status"] == "closed" and closed.json["close_note"].startswith("Kết quả")
    assert closed.json["reason"] == first["reason"]
    # C stays recalled: the second recall still covers it.
    assert statuses(app, chain["a"], chain["b"], chain["c"]) == ["active", "active", "recalled"]
    again = client.post(
        f"/api/v1/recalls/{first['id']}/close", headers=inspector, json={"note": "again"}
    )
    assert again.status_code == 409
    listing = client.get("/api/v1/recalls", headers=inspector).json["items"]
    assert [(r["id"], r["status"]) for r in listing] == [
        (first["id"], "closed"),
        (second["id"], "open"),
    ]
    only_open = client.get("/api/v1/recalls?status=open", headers=inspector).json["items"]
    assert [r["id"] for r in only_open] == [second["id"]]
    by_batch = client.get(f"/api/v1/recalls?batch={chain['b'].id}", headers=inspector).json
    assert [r["id"] for r in by_batch["items"]] == [first["id"]]
    # A producer reads the recalls of its own batches only.
    mine = client.get("/api/v1/recalls", headers=chain["grower"]).json["items"]
    assert [r["id"] for r in mine] == [first["id"]]
    assert client.get(f"/api/v1/recalls/{second['id']}", headers=chain["grower"]).status_code == 403
    assert client.get("/api/v1/recalls/999", headers=inspector).status_code == 404
    assert (
        client.post(
            f"/api/v1/recalls/{second['id']}/close", headers=chain["grower"], json={"note": "x"}
        ).status_code
        == 403
    )


def test_impact_report(app, client, build, token, session) -> None:
    chain = build_chain(client, build, token)
    b = chain["b"]
    add_codes(session, b.id, [("UNITB1", "printed"), ("UNITB2", "printed"),
                              ("UNITB3", "voided")])  # fmt: skip
    add_scans(session, [
        {"batch_id": b.id, "at": at("2026-06-18T09:00:00+07:00"), "province_code": "79"},
        {"batch_id": b.id, "at": at("2026-06-19T09:00:00+07:00"), "province_code": "79"},
        {"batch_id": b.id, "at": at("2026-06-19T10:00:00+07:00"), "province_code": "01"},
        {"batch_id": b.id, "at": at("2026-06-01T10:00:00+07:00"), "province_code": "01"},
        {"batch_id": chain["other"].id, "at": at("2026-06-19T09:00:00+07:00"),
         "province_code": "48"},
    ])  # fmt: skip
    made = recall(client, token("inspector"), [chain["a"]]).json
    centre = token("centre", province="24")
    response = client.get(f"/api/v1/recalls/{made['id']}/impact", headers=centre)
    assert response.status_code == 200, response.json
    impact = response.json
    assert {x["lot_code"] for x in impact["batches"]} == {"LN2606-A01", "VS-2606-01", "HQ-2606-01"}
    by_lot = {x["lot_code"]: x for x in impact["batches"]}
    assert by_lot["VS-2606-01"]["codes"] == {"issued": 1, "printed": 2, "voided": 1, "total": 4}
    assert by_lot["LN2606-A01"]["codes"]["issued"] == 1  # its batch-level code
    orgs = {o["name"]: o for o in impact["organizations"]}
    assert set(orgs) == {"Công ty Nông sản Long Biên", "Cửa hàng Đặc sản Sài Gòn"}
    assert orgs["Công ty Nông sản Long Biên"]["via"] == ["receiving", "shipping"]
    assert orgs["Cửa hàng Đặc sản Sài Gòn"]["batches"] == 1
    assert orgs["Công ty Nông sản Long Biên"]["batches"] == 1  # A, shipped to it and received
    assert {f["name"] for f in impact["facilities"]} == {"Kho Long Biên", "Cửa hàng Quận 1"}
    # Scans since production (B made on 15 June: the 1 June scan does not count).
    assert impact["scans"]["total"] == 3
    assert [(p["province_code"], p["scans"]) for p in impact["scans"]["by_province"]] == [
        ("79", 2),
        ("01", 1),
    ]
    assert impact["scans"]["by_province"][0]["province_name"] == "Hồ Chí Minh"
    assert impact["codes"]["total"] == 4 + 2  # A and C have their batch-level codes
    assert impact["batches_total"] == 3 and impact["batches_next_cursor"] is None
    assert [(p["name"], p["batches"]) for p in impact["producers"]] == [
        ("Công ty Nông sản Long Biên", 2),
        ("HTX Vải thiều Phượng Sơn", 1),
    ]
    first = client.get(f"/api/v1/recalls/{made['id']}/impact?limit=2", headers=centre).json
    assert len(first["batches"]) == 2 and first["batches_total"] == 3
    rest = client.get(f"/api/v1/recalls/{made['id']}/impact?limit=2&cursor="
                      f"{first['batches_next_cursor']}", headers=centre).json  # fmt: skip
    assert [x["lot_code"] for x in first["batches"] + rest["batches"]] == [
        "LN2606-A01",
        "VS-2606-01",
        "HQ-2606-01",
    ]
    assert rest["batches_next_cursor"] is None

    html = client.get(
        f"/api/v1/recalls/{made['id']}/impact?format=html", headers=token("inspector")
    )
    assert html.status_code == 200 and html.mimetype == "text/html"
    page = html.get_data(as_text=True)
    assert "Cửa hàng Đặc sản Sài Gòn" in page and "HQ-2606-01" in page
    assert not re.search(r"<(script|link|img)\b", page)
    assert (
        client.get(f"/api/v1/recalls/{made['id']}/impact", headers=chain["grower"]).status_code
        == 403
    )


def test_closing_a_recall_is_audited(app, client, build, token, session) -> None:
    """The mutation run's survivors: the close's own audit entry (who, which recall, before and
    after) and one per batch set active again (none for a batch another recall still holds)."""
    chain = build_chain(client, build, token)
    inspector = token("inspector")
    first = recall(client, inspector, [chain["a"]]).json
    recall(client, inspector, [chain["c"]], reason="Bao bì lỗi", downstream=False)
    closed = client.post(f"/api/v1/recalls/{first['id']}/close", headers=inspector,
                         json={"note": "Kết quả kiểm nghiệm lại đạt"})  # fmt: skip
    assert closed.status_code == 200
    session.rollback()
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    close = [e for e in entries if e.action == "close"]
    assert [(e.entity_type, e.entity_id) for e in close] == [("recall", str(first["id"]))]
    assert close[0].token_id is not None
    before, after = close[0].before, close[0].after
    assert before["closed_at"] is None and before["closed_by_token_id"] is None
    assert after["closed_at"] and after["close_note"] == "Kết quả kiểm nghiệm lại đạt"
    assert after["closed_by_token_id"] == close[0].token_id
    reopened = [e for e in entries if e.action == "recall_closed"]
    assert {(e.entity_type, e.entity_id) for e in reopened} == {
        ("batch", str(chain["a"].id)), ("batch", str(chain["b"].id))}  # fmt: skip
    for entry in reopened:
        assert entry.before == {"status": "recalled"}
        assert entry.after == {"status": "active", "recall_id": first["id"]}


def test_issuing_a_recall_is_audited(app, client, build, token, session) -> None:
    """The issue's own audit entry (who, for which organisation, what was named and covered) and
    one entry per batch it set recalled, none for a batch an earlier recall already held."""
    chain = build_chain(client, build, token)
    agency = build.organization(kind="inspection_agency", name="Chi cục Quản lý chất lượng")
    inspector = token("inspector", agency)
    earlier = recall(client, inspector, [chain["c"]], reason="Bao bì lỗi", downstream=False).json
    with db.new_session(app) as fresh:
        c_edited = fresh.get(Batch, chain["c"].id).updated_at
    body = {"batches": [chain["a"].id, chain["a"].id], "reason": "Dư lượng vượt ngưỡng",
            "instruction_vi": "Ngừng sử dụng", "instruction_en": "Stop using it",
            "include_downstream": True}  # fmt: skip
    issued = client.post("/api/v1/recalls", headers=inspector, json=body)
    assert issued.status_code == 201, issued.json
    made = issued.json
    session.rollback()
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    create = [e for e in entries if e.action == "create" and e.entity_type == "recall"]
    assert [e.entity_id for e in create] == [str(earlier["id"]), str(made["id"])]
    entry = create[1]
    assert entry.token_id is not None and entry.actor_organization_id == agency.id
    assert entry.before is None
    after = entry.after
    assert after["batches"] == [chain["a"].id] and after["covered"] == 3
    assert after["id"] == made["id"] and after["reason"] == "Dư lượng vượt ngưỡng"
    assert after["instruction_vi"] == "Ngừng sử dụng" and after["instruction_en"] == "Stop using it"
    assert after["include_downstream"] is True and after["closed_at"] is None
    assert after["created_by_token_id"] == entry.token_id
    assert after["created_by_organization_id"] == agency.id
    assert made["instruction_vi"] == "Ngừng sử dụng" and made["direct"] == 1
    assert made["downstream"] == 2
    recalled = [e for e in entries if e.action == "recall"]
    assert {(e.entity_type, e.entity_id, e.after["recall_id"]) for e in recalled} == {
        ("batch", str(chain["c"].id), earlier["id"]),
        ("batch", str(chain["a"].id), made["id"]),
        ("batch", str(chain["b"].id), made["id"]),
    }
    assert len(recalled) == 3  # C, already recalled by the earlier recall, is not audited again
    with db.new_session(app) as fresh:  # nor rewritten
        assert fresh.get(Batch, chain["c"].id).updated_at == c_edited
    for e in recalled:
        assert e.before == {"status": "active"}
        assert e.after["status"] == "recalled"
        assert e.token_id == entry.token_id and e.actor == entry.actor
        assert e.actor_organization_id == agency.id and e.at is not None
