"""The public page and EUDR: the consumer learns how many plots and which province, never
where the plots lie nor whose they are."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.public.conftest import _batch_code, record
from tests.public.test_page import EN, VI, visible
from trace.services.actors import SYSTEM
from trace.services.eudr import plots


def polygon(i: int) -> dict[str, Any]:
    lon, lat = 108.030137 + i * 0.0031, 12.710243
    ring = [[lon, lat], [lon + 0.001, lat], [lon + 0.001, lat + 0.001], [lon, lat + 0.001]]
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}


@pytest.fixture
def farms(build: Any, session: Session) -> dict[str, Any]:
    coop = build.organization(name="Hợp tác xã cà phê Ea Kao", province_code="66")
    cherries = build.product(coop, name_vi="Cà phê quả tươi", category="coffee")
    green = build.product(coop, name_vi="Cà phê nhân", category="coffee")
    found: dict[str, Any] = {"plots": [], "cherries": []}
    for i in range(3):
        plot = build.facility(coop, kind="plot", name=f"Rẫy bí mật {i}", gln=None,
                              address=f"Buôn Kô Siêr {i}, xã Ea Kao")  # fmt: skip
        session.rollback()
        owner = {"geometry": polygon(i), "producer_name": f"Y Bhim Niê {i}"}
        plots.set_plot(session, SYSTEM, plot.id, owner, 0.1)
        session.commit()
        lot = build.batch(cherries, lot_code=f"CQ-{i}", origin_facility_id=plot.id)
        record(session, lot.id, stage="harvesting", plot_id=plot.id, quantity="1000",
               time="2025-11-20T06:00:00+07:00")  # fmt: skip
        found["plots"].append(plot)
        found["cherries"].append(lot)
    lot = build.batch(green, lot_code="CN-01", quantity="600")
    record(session, lot.id, stage="processing", time="2025-12-10T08:00:00+07:00",
           inputs=[{"batch_id": c.id, "quantity": "1000"} for c in found["cherries"]])  # fmt: skip
    found |= {"coop": coop, "cherry_product": cherries, "green": lot,
              "code": _batch_code(session, lot.id)}  # fmt: skip
    return found


SECRETS = ("Rẫy bí mật", "Y Bhim Niê", "Buôn Kô Siêr", "108.03", "12.71", "/facility/")


def test_the_page_counts_plots_and_names_none(client: FlaskClient, farms: dict) -> None:
    vi = visible(client.get(f"/q/{farms['code']}", headers=VI).data)
    assert "Vùng trồng đã xác minh theo EUDR: 3 thửa, tỉnh Đắk Lắk" in vi
    en = visible(client.get(f"/q/{farms['code']}", headers=EN).data)
    assert "Origin plots verified for EUDR: 3 plots, province Đắk Lắk" in en
    assert "CQ-0" in vi  # the cherry lots stay in "made from", without their plots
    as_json = client.get(f"/q/{farms['code']}", headers={"Accept": "application/json"})
    assert as_json.json["eudr"] == {"plots": 3, "provinces": ["Đắk Lắk"]}
    for body in (vi, en, as_json.get_data(as_text=True)):
        for secret in SECRETS:
            assert secret not in body, secret


def test_a_harvest_at_a_plot_shows_no_place(client: FlaskClient, farms: dict, session) -> None:
    code = _batch_code(session, farms["cherries"][0].id)
    page = client.get(f"/q/{code}", headers=VI)
    body = visible(page.data)
    assert "Thu hoạch" in body
    assert "1 thửa" in body
    for secret in SECRETS:
        assert secret not in body, secret
    as_json = client.get(f"/q/{code}", headers={"Accept": "application/json"}).json
    assert as_json["origin_facility"] is None
    assert as_json["stages"][0]["place"] is None and as_json["stages"][0]["location_code"] is None


def test_one_plot_without_geolocation_and_nothing_is_claimed(
    client: FlaskClient, farms: dict, build: Any, session: Session
) -> None:
    bare = build.facility(farms["coop"], kind="plot", name="Rẫy chưa đo")
    lot = build.batch(farms["cherry_product"], lot_code="CQ-X")
    record(session, lot.id, stage="harvesting", plot_id=bare.id, quantity="10",
           time="2025-11-21T06:00:00+07:00")  # fmt: skip
    record(session, farms["green"].id, stage="processing", time="2025-12-11T08:00:00+07:00",
           inputs=[{"batch_id": lot.id, "quantity": "10"}])  # fmt: skip
    body = visible(client.get(f"/q/{farms['code']}", headers=VI).data)
    assert "EUDR" not in body
    assert "Rẫy chưa đo" not in body


def test_a_plot_has_no_facility_page(client: FlaskClient, build: Any) -> None:
    coop = build.organization(province_code="66")
    build.facility(coop, kind="plot", gln="8936010500228")
    build.facility(coop, kind="farm", gln="8936010500235")
    assert client.get("/414/8936010500235").status_code == 200
    assert client.get("/414/8936010500228").status_code == 404
