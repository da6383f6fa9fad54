"""A small supply chain built through the API, shared by the inspection tests.

Lychee batch A is harvested, cooled, packed, shipped to a distributor in Hà Nội and received;
the distributor's processor makes dried lychee B from A, ships B to a shop in Hồ Chí Minh City;
B goes into gift box C. Unit codes and scans are rows (the public page records scans).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text

from tests.database import connection as shared_connection
from trace.models import Code, CodeKind, Scan


def stage(client: Any, batch_id: int, headers: dict[str, str], **form: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/batches/{batch_id}/events", json=form, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def build_chain(client: Any, build: Any, token: Any) -> dict[str, Any]:
    coop = build.organization(name="HTX Vải thiều Phượng Sơn", gln="8935049500018")
    distributor = build.organization(kind="processor", name="Công ty Nông sản Long Biên",
                                     province_code="01")  # fmt: skip
    shop = build.organization(kind="retailer", name="Cửa hàng Đặc sản Sài Gòn",
                              province_code="79")  # fmt: skip
    lychee = build.product(coop, gtin="8934567890120", name_vi="Vải thiều Lục Ngạn",
                           name_en="Luc Ngan lychee", image="img/vai.jpg")  # fmt: skip
    dried = build.product(distributor, name_vi="Vải sấy khô", name_en="Dried lychee")
    box = build.product(distributor, name_vi="Hộp quà vải sấy", name_en="Dried lychee gift box")
    orchard = build.facility(coop, kind="orchard", name="Vườn vải Phượng Sơn", gln="8935049500025")
    cold = build.facility(coop, kind="cold_store", name="Kho lạnh Phượng Sơn")
    warehouse = build.facility(distributor, kind="warehouse", name="Kho Long Biên",
                               province_code="01")  # fmt: skip
    store = build.facility(shop, kind="shop", name="Cửa hàng Quận 1", province_code="79")
    a = build.batch(lychee, lot_code="LN2606-A01", origin_facility_id=orchard.id)
    b = build.batch(dried, lot_code="VS-2606-01", production_date="2026-06-15")
    c = build.batch(box, lot_code="HQ-2606-01", production_date="2026-06-20")
    other = build.batch(lychee, lot_code="LN2606-Z99")
    grower, processor = token("producer", coop), token("producer", distributor)
    seller = token("producer", shop)

    stage(client, a.id, grower, stage="harvesting", time="2026-06-08T05:30:00",
          facility_id=orchard.id, quantity="1850")  # fmt: skip
    stage(client, a.id, grower, stage="cooling", time="2026-06-08T09:00:00",
          facility_id=cold.id)  # fmt: skip
    stage(client, a.id, grower, stage="packing", time="2026-06-08T11:00:00",
          facility_id=cold.id, quantity="1800")  # fmt: skip
    stage(client, a.id, grower, stage="shipping", time="2026-06-09T04:00:00",
          facility_id=cold.id, to_organization_id=distributor.id, quantity="1800",
          documents=[{"type": "desadv", "number": "PX-2606-001"}])  # fmt: skip
    stage(client, a.id, processor, stage="receiving", time="2026-06-09T15:00:00",
          facility_id=warehouse.id, from_organization_id=coop.id)  # fmt: skip
    stage(client, b.id, processor, stage="processing", time="2026-06-15T08:00:00",
          facility_id=warehouse.id, quantity="300",
          inputs=[{"batch_id": a.id, "quantity": "1500"}])  # fmt: skip
    stage(client, b.id, processor, stage="shipping", time="2026-06-16T08:00:00",
          facility_id=warehouse.id, to_organization_id=shop.id,
          documents=[{"type": "inv", "number": "HD-0099"}])  # fmt: skip
    stage(client, b.id, seller, stage="receiving", time="2026-06-17T10:00:00",
          facility_id=store.id)  # fmt: skip
    stage(client, c.id, processor, stage="processing", time="2026-06-20T08:00:00",
          facility_id=warehouse.id, inputs=[{"batch_id": b.id}])  # fmt: skip
    return {
        "coop": coop, "distributor": distributor, "shop": shop, "lychee": lychee,
        "dried": dried, "box": box, "orchard": orchard, "cold": cold, "warehouse": warehouse,
        "store": store, "a": a, "b": b, "c": c, "other": other, "grower": grower,
        "processor": processor, "seller": seller,
    }  # fmt: skip


def add_codes(session: Any, batch_id: int, codes: list[tuple[str, str]]) -> list[Code]:
    rows = [
        Code(code=code, kind=CodeKind.UNIT, batch_id=batch_id, status=status)
        for code, status in codes
    ]
    session.add_all(rows)
    session.commit()
    return rows


def add_scans(session: Any, scans: list[dict[str, Any]]) -> None:
    session.add_all(Scan(**{"client_hash": "c" * 64, **s}) for s in scans)
    session.commit()


def at(text_time: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text_time)


def raw(app: Any, sql: str, **params: Any) -> None:
    with shared_connection(app) as conn:
        conn.execute(text(sql), params)
