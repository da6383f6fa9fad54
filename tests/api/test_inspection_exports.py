"""KDE exports (CSV and XLSX, opened and sorted) and the portal items of Circular 02."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.api.inspection_support import build_chain

EN = [
    "Critical tracking event", "Traceability lot code", "GTIN", "Product description", "Quantity",
    "Unit of measure", "Location", "Location GLN", "Date and time", "Traceability lot code source",
    "Lot code source location", "Reference document type", "Reference document number",
    "Immediate previous source", "Immediate subsequent recipient", "Event ID",
    "Corrected by an error declaration",
]  # fmt: skip


def read_csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_kde_csv_rows_per_critical_tracking_event(app, client, build, token) -> None:
    chain = build_chain(client, build, token)
    rows = read_csv(client.get("/api/v1/exports/kde.csv?lang=en", headers=token("inspector")))
    assert list(rows[0]) == EN
    ctes = [(r["Critical tracking event"], r["Traceability lot code"]) for r in rows]
    assert ctes == [
        ("Harvesting", "LN2606-A01"), ("Cooling", "LN2606-A01"),
        ("Initial packing", "LN2606-A01"), ("Shipping", "LN2606-A01"),
        ("Receiving", "LN2606-A01"), ("Transformation", "VS-2606-01"),
        ("Shipping", "VS-2606-01"), ("Receiving", "VS-2606-01"),
        ("Transformation", "HQ-2606-01"),
    ]  # fmt: skip
    harvest, shipped, received, made = rows[0], rows[3], rows[4], rows[5]
    assert harvest["Quantity"] == "1850" and harvest["Unit of measure"] == "KGM"
    assert harvest["Location"] == "Vườn vải Phượng Sơn"
    assert harvest["Location GLN"] == "8935049500025"
    assert harvest["Product description"] == "Luc Ngan lychee" and harvest["GTIN"]
    assert harvest["Date and time"] == "2026-06-08T05:30:00+07:00"
    assert harvest["Traceability lot code source"] == "HTX Vải thiều Phượng Sơn"
    assert harvest["Lot code source location"] == "Vườn vải Phượng Sơn (GLN 8935049500025)"
    assert (shipped["Reference document type"], shipped["Reference document number"]) == (
        "desadv",
        "PX-2606-001",
    )
    assert shipped["Immediate subsequent recipient"] == "Công ty Nông sản Long Biên"
    assert received["Immediate previous source"] == "HTX Vải thiều Phượng Sơn (GLN 8935049500018)"
    assert received["Location"] == "Kho Long Biên"
    assert made["Immediate previous source"].startswith("LN2606-A01 (Vải thiều Lục Ngạn)")
    assert made["Quantity"] == "300"
    assert chain["a"].lot_code == "LN2606-A01"


def test_kde_filters_and_vietnamese_headers(app, client, build, token) -> None:
    chain = build_chain(client, build, token)
    inspector = token("inspector")
    vi = read_csv(client.get(f"/api/v1/exports/kde.csv?product={chain['lychee'].id}",
                             headers=inspector))  # fmt: skip
    assert list(vi[0])[:2] == ["Sự kiện truy xuất trọng yếu", "Mã lô truy xuất"]
    assert [r["Sự kiện truy xuất trọng yếu"] for r in vi] == [
        "Thu hoạch",
        "Làm lạnh",
        "Đóng gói ban đầu",
        "Gửi hàng",
        "Tiếp nhận",
    ]
    assert vi[0]["Mô tả sản phẩm"] == "Vải thiều Lục Ngạn"
    lot = read_csv(client.get("/api/v1/exports/kde.csv?lot=VS-2606-01", headers=inspector))
    assert len(lot) == 3
    dated = read_csv(client.get("/api/v1/exports/kde.csv?from=2026-06-09&to=2026-06-15",
                                headers=inspector))  # fmt: skip
    assert [r["Ngày giờ"][:10] for r in dated] == ["2026-06-09", "2026-06-09", "2026-06-15"]
    # A producer exports its own batches and what it recorded; a centre its province's.
    shop = read_csv(client.get("/api/v1/exports/kde.csv", headers=chain["seller"]))
    assert [r["Mã lô truy xuất"] for r in shop] == ["VS-2606-01"]
    hanoi = read_csv(client.get("/api/v1/exports/kde.csv", headers=token("centre", province="01")))
    assert {r["Mã lô truy xuất"] for r in hanoi} == {"VS-2606-01", "HQ-2606-01"}
    assert client.get("/api/v1/exports/kde.csv?lang=fr", headers=inspector).status_code == 422
    assert client.get("/api/v1/exports/kde.csv?from=soon", headers=inspector).status_code == 422
    assert client.get("/api/v1/exports/kde.csv").status_code == 401


def test_kde_xlsx_opens_and_sorts(app, client, build, token, tmp_path) -> None:
    build_chain(client, build, token)
    response = client.get("/api/v1/exports/kde.xlsx?lang=en", headers=token("inspector"))
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    path = tmp_path / "kde.xlsx"
    path.write_bytes(response.get_data())
    sheet = load_workbook(path, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == EN
    body = rows[1:]
    assert len(body) == 9
    by_lot = sorted(body, key=lambda r: (r[1], r[8]))
    assert [r[1] for r in by_lot][:5] == ["HQ-2606-01"] + ["LN2606-A01"] * 4
    by_time = sorted(body, key=lambda r: r[8], reverse=True)
    assert by_time[0][0] == "Transformation" and by_time[0][1] == "HQ-2606-01"
    assert by_time[-1][0] == "Harvesting"
    assert by_time[-1][8].isoformat() == "2026-06-08T05:30:00"  # a real date cell
    assert by_time[-1][4] == 1850  # a real number


def test_kde_neutralises_formulas(app, client, build, token) -> None:
    org = build.organization(name='=HYPERLINK("http://evil")')
    batch = build.batch(build.product(org))
    producer = token("producer", org)
    client.post(f"/api/v1/batches/{batch.id}/events", headers=producer,
                json={"stage": "harvesting", "time": "2026-06-08T05:30:00"})  # fmt: skip
    rows = read_csv(client.get("/api/v1/exports/kde.csv?lang=en", headers=producer))
    assert rows[0]["Traceability lot code source"].startswith("'=")


def test_portal_items(app, client, build, token) -> None:
    chain = build_chain(client, build, token)
    response = client.get(f"/api/v1/exports/portal.json?batch={chain['a'].id}",
                          headers=token("inspector"))  # fmt: skip
    assert response.status_code == 200, response.json
    [item] = response.json["items"]
    assert item["product_name"] == "Vải thiều Lục Ngạn"
    # the URL the public page serves the image at (the file name alone was no URL anyone served)
    product_id = chain["a"].product_id
    assert item["product_image"] == f"https://trace.example.vn/img/product/{product_id}/640.jpg"
    assert item["producer"]["name"] == "HTX Vải thiều Phượng Sơn" and item["producer"]["address"]
    assert item["production_time"] == "2026-06-12"
    assert item["expiry"] == "2026-07-12"
    assert item["standards"] == ["VietGAP"]
    assert item["trace_code"] and item["trace_url"].startswith(
        "https://trace.example.vn/01/08934567890120/10/LN2606-A01"
    )
    assert item["gtin"] == "08934567890120"
    stages = item["stages"]
    assert [s["stage"]["vi"] for s in stages][:2] == ["Thu hoạch", "Làm lạnh"]
    assert stages[0]["location_trace_code"] == "8935049500025"
    assert stages[0]["product_trace_code"].endswith("/10/LN2606-A01")
    assert stages[0]["event_time"] == "2026-06-08T05:30:00+07:00"
    ranged = client.get("/api/v1/exports/portal.json?from=2026-06-14&to=2026-06-30",
                        headers=token("inspector")).json  # fmt: skip
    assert {i["lot_code"] for i in ranged["items"]} == {"VS-2606-01", "HQ-2606-01"}
    own = client.get("/api/v1/exports/portal.json", headers=chain["grower"]).json["items"]
    assert {i["lot_code"] for i in own} == {"LN2606-A01", "LN2606-Z99"}


@pytest.mark.committed  # counts the pool's connections: none may stay checked out
def test_streamed_export_gives_its_connection_back(app, client, build, token) -> None:
    from trace.db import db

    build_chain(client, build, token)
    response = client.get("/api/v1/exports/kde.csv", headers=token("inspector"))
    assert len(read_csv(response)) == 9
    assert db.engine_for(app).pool.checkedout() == 0
