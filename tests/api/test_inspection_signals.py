"""Consumer signals: reports to resolve, and unit codes scanned suspiciously."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.api.inspection_support import add_codes, add_scans
from trace.db import db
from trace.models import AuditEntry, Report

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def test_list_and_resolve_reports(app, client, build, token, session) -> None:
    org = build.organization(province_code="24")
    batch = build.batch(build.product(org))
    elsewhere = build.batch(build.product(build.organization(province_code="66")))
    session.add_all([
        Report(batch_id=batch.id, kind="quality", message="Quả bị dập", client_hash="a" * 64),
        Report(batch_id=batch.id, kind="fake", message="Tem nghi giả", client_hash="b" * 64),
        Report(batch_id=elsewhere.id, kind="quality", message="Hỏng", client_hash="c" * 64),
    ])  # fmt: skip
    session.commit()
    inspector = token("inspector")
    reports = client.get("/api/v1/reports", headers=inspector).json["items"]
    assert [r["message"] for r in reports] == ["Quả bị dập", "Tem nghi giả", "Hỏng"]
    centre = token("centre", province="24")
    assert len(client.get("/api/v1/reports", headers=centre).json["items"]) == 2
    first = reports[0]["id"]
    done = client.post(f"/api/v1/reports/{first}/resolve", headers=centre,
                       json={"resolution": "Đã kiểm tra, lô đạt chuẩn"})  # fmt: skip
    assert done.status_code == 200, done.json
    assert done.json["status"] == "resolved" and done.json["resolved_at"]
    assert client.post(f"/api/v1/reports/{first}/resolve", headers=centre,
                       json={"resolution": "again"}).status_code == 409  # fmt: skip
    open_ones = client.get("/api/v1/reports?status=open", headers=inspector).json["items"]
    assert [r["message"] for r in open_ones] == ["Tem nghi giả", "Hỏng"]
    assert client.post(f"/api/v1/reports/{reports[2]['id']}/resolve", headers=centre,
                       json={"resolution": "x"}).status_code == 403  # fmt: skip
    assert (
        client.post(
            f"/api/v1/reports/{reports[1]['id']}/resolve",
            headers=token("producer", org),
            json={"resolution": "x"},
        ).status_code
        == 403
    )
    assert client.post("/api/v1/reports/999/resolve", headers=inspector,
                       json={"resolution": "x"}).status_code == 404  # fmt: skip
    assert client.post(f"/api/v1/reports/{reports[1]['id']}/resolve", headers=inspector,
                       json={}).status_code == 422  # fmt: skip
    with db.new_session(app) as fresh:
        assert fresh.scalar(select(AuditEntry).where(AuditEntry.entity_type == "report"))


def test_suspicious_codes_with_evidence(app, client, build, token, session) -> None:
    batch = build.batch(build.product(build.organization()))
    calm, crowded, travelling, slow = add_codes(
        session, batch.id, [("CALM01", "printed"), ("CROWD1", "printed"),
                            ("TRAVEL", "printed"), ("SLOW01", "printed")])  # fmt: skip
    scans = []
    for i in range(2):  # one shopper, twice, at home
        scans.append({"code_id": calm.id, "at": NOW - dt.timedelta(hours=3 - i),
                      "client_hash": "1" * 64, "province_code": "24"})  # fmt: skip
    for i in range(6):  # six different phones in three hours: a copied label
        scans.append({"code_id": crowded.id, "at": NOW - dt.timedelta(hours=3, minutes=-30 * i),
                      "client_hash": f"{i}" * 64, "province_code": "01"})  # fmt: skip
    scans += [  # Hà Nội then Hồ Chí Minh City two hours later
        {"code_id": travelling.id, "at": NOW - dt.timedelta(hours=5), "client_hash": "7" * 64,
         "province_code": "01"},
        {"code_id": travelling.id, "at": NOW - dt.timedelta(hours=3), "client_hash": "8" * 64,
         "province_code": "79"},
        # Hà Nội, then Đà Nẵng three days later: a plausible journey
        {"code_id": slow.id, "at": NOW - dt.timedelta(days=4), "client_hash": "9" * 64,
         "province_code": "01"},
        {"code_id": slow.id, "at": NOW - dt.timedelta(days=1), "client_hash": "a" * 64,
         "province_code": "48"},
    ]  # fmt: skip
    add_scans(session, scans)
    response = client.get("/api/v1/signals/suspicious-codes", headers=token("inspector"))
    assert response.status_code == 200, response.json
    items = {i["code"]: i for i in response.json["items"]}
    assert set(items) == {"CROWD1", "TRAVEL"}
    crowd = items["CROWD1"]
    assert crowd["clients"] == 6 and crowd["scans"] == 6
    assert crowd["reasons"] == ["6 distinct clients within 24 h"]
    assert crowd["provinces"] == [{"province_code": "01", "province_name": "Hà Nội", "scans": 6}]
    travel = items["TRAVEL"]
    assert travel["far_apart"]["km"] > 1000 and travel["far_apart"]["hours"] == 2
    assert travel["first_at"] < travel["last_at"]
    strict = client.get("/api/v1/signals/suspicious-codes?min_clients=7&window_hours=1",
                        headers=token("inspector")).json["items"]  # fmt: skip
    assert [i["code"] for i in strict] == []
    wide = client.get("/api/v1/signals/suspicious-codes?window_hours=96",
                      headers=token("inspector")).json["items"]  # fmt: skip
    assert {i["code"] for i in wide} == {"CROWD1", "TRAVEL", "SLOW01"}
    assert client.get("/api/v1/signals/suspicious-codes?min_km=-1",
                      headers=token("inspector")).status_code == 422  # fmt: skip
    other_centre = token("centre", province="66")
    assert client.get("/api/v1/signals/suspicious-codes", headers=other_centre).json["items"] == []


def test_a_cleared_code_is_listed_again_only_on_new_scans(app, client, build, token, session):
    from trace.labels.codes import new_unit_code

    batch = build.batch(build.product(build.organization()))
    (code,) = add_codes(session, batch.id, [(new_unit_code(), "printed")])
    phones = [{"code_id": code.id, "at": NOW - dt.timedelta(hours=3, minutes=-10 * i),
               "client_hash": f"{i}" * 64} for i in range(6)]  # fmt: skip
    add_scans(session, phones)
    url, inspector = "/api/v1/signals/suspicious-codes", token("inspector")
    assert [i["code"] for i in client.get(url, headers=inspector).json["items"]] == [code.code]
    cleared = client.post(f"/api/v1/codes/{code.code}/copy-warning/clear", headers=inspector,
                          json={"reason": "Six phones of one family"})  # fmt: skip
    assert cleared.status_code == 200, cleared.json
    assert client.get(url, headers=inspector).json["items"] == []
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    add_scans(session, [{"code_id": code.id, "at": later, "client_hash": f"{i}" * 64}
                        for i in "abcdef"])  # fmt: skip
    until = (later + dt.timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    again = client.get(url, headers=inspector, query_string={"until": until}).json["items"]
    assert [i["code"] for i in again] == [code.code] and again[0]["clients"] == 6
