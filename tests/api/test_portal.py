"""The national portal's sync status through the API: who sees which records, who re-sends."""

from __future__ import annotations

from sqlalchemy import select

from trace.models import AuditEntry, PortalRecord


def _records(session, **where):
    session.rollback()
    session.expire_all()
    stmt = select(PortalRecord)
    for key, value in where.items():
        stmt = stmt.where(getattr(PortalRecord, key) == value)
    return session.scalars(stmt).all()


def _setup(build):
    mine = build.organization(province_code="24")
    theirs = build.organization(province_code="79", tax_code="7900000001")
    product = build.product(mine)
    build.batch(product)
    build.product(theirs)
    return mine, theirs, product


def test_each_role_reads_the_records_it_may(client, session, build, token) -> None:
    mine, theirs, _product = _setup(build)
    assert client.get("/api/v1/portal/records").status_code == 401
    inspector = client.get("/api/v1/portal/records", headers=token("inspector")).json
    assert len(inspector["items"]) == 5
    centre = client.get("/api/v1/portal/records", headers=token("centre", province="24")).json
    assert {i["organization_id"] for i in centre["items"]} == {mine.id}
    assert len(centre["items"]) == 3
    producer = client.get("/api/v1/portal/records", headers=token("producer", theirs)).json
    assert [(i["kind"], i["organization_id"]) for i in producer["items"]] == [
        ("organization", theirs.id), ("product", theirs.id)]  # fmt: skip
    [record] = _records(session, kind="organization", entity_id=theirs.id)
    response = client.get(f"/api/v1/portal/records/{record.id}",
                          headers=token("centre", province="24"))  # fmt: skip
    assert response.status_code == 404  # another province's record does not exist for it
    response = client.get(f"/api/v1/portal/records/{record.id}", headers=token("inspector"))
    assert response.status_code == 200
    assert response.json["status"] == "pending" and response.json["version"] == 1


def test_filters(client, build, token) -> None:
    mine, _theirs, product = _setup(build)
    headers = token("inspector")
    found = client.get(f"/api/v1/portal/records?kind=product&entity={product.id}",
                       headers=headers).json["items"]  # fmt: skip
    assert [(i["kind"], i["entity_id"]) for i in found] == [("product", product.id)]
    found = client.get(f"/api/v1/portal/records?organization={mine.id}&status=pending",
                       headers=headers).json["items"]  # fmt: skip
    assert len(found) == 3
    assert client.get("/api/v1/portal/records?status=lost", headers=headers).status_code == 422


def test_centres_and_inspectors_resend_producers_do_not(client, session, build, token) -> None:
    mine, theirs, product = _setup(build)
    [record] = _records(session, kind="product", entity_id=product.id)
    url = f"/api/v1/portal/records/{record.id}/resend"
    assert client.post(url, headers=token("producer", mine)).status_code == 403
    assert client.post(url, headers=token("centre", province="79")).status_code == 404
    response = client.post(url, headers=token("centre", province="24"))
    assert response.status_code == 200, response.json
    assert response.json["version"] == 2 and response.json["status"] == "pending"
    response = client.post(url, headers=token("inspector"))
    assert response.json["version"] == 3
    [entry] = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "portal_resend").limit(1)
    ).all()
    assert entry.before == {"status": "pending", "version": 1}
    assert entry.after == {"status": "pending", "version": 2}
    assert client.post("/api/v1/portal/records/999999/resend",
                       headers=token("inspector")).status_code == 404  # fmt: skip
    assert theirs.id != mine.id
