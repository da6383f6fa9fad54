"""GS1 Digital Link paths, linkType, linkset and the resolver description."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from tests.public.conftest import Chain

GTIN = "08936010510012"


def test_lot_path_is_the_batch_page(client: FlaskClient, chain: Chain) -> None:
    response = client.get(f"/01/{GTIN}/10/LN2606-A01")
    assert response.status_code == 200
    assert chain.code in response.data.decode()
    assert 'rel="linkset"' in response.headers["Link"]
    assert client.get(f"/01/{GTIN}/10/LN2606-A01/").status_code == 200  # trailing slash


def test_serial_paths(client: FlaskClient, chain: Chain, unit_code: Callable[..., str]) -> None:
    code = unit_code(chain.batch)
    for path in (f"/01/{GTIN}/10/LN2606-A01/21/{code}", f"/01/{GTIN}/21/{code}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert code in response.data.decode()
    assert client.get(f"/01/{GTIN}/10/OTHER/21/{code}").status_code == 404


def test_gtin_and_gln_pages(client: FlaskClient, chain: Chain) -> None:
    product = client.get(f"/01/{GTIN}")
    assert product.status_code == 200 and "LN2606-A01" in product.data.decode()
    facility = client.get("/414/8936010500112")
    assert facility.status_code == 200 and "Vườn vải Phượng Sơn" in facility.data.decode()
    assert client.get("/414/8936010500129").status_code == 404  # valid GLN, not ours


def test_gtin_and_gln_pages_as_json(client: FlaskClient, chain: Chain) -> None:
    json_accept = {"Accept": "application/json"}
    product = client.get(f"/01/{GTIN}", headers=json_accept)
    assert product.status_code == 200 and product.mimetype == "application/json"
    assert product.headers["Access-Control-Allow-Origin"] == "*"
    body = product.json
    assert (body["gtin"], body["producer"]) == (GTIN, chain.batch.producer.name)
    assert body["name_vi"] == chain.batch.product.name_vi
    lot = next(b for b in body["batches"] if b["lot"] == "LN2606-A01")
    assert lot == {
        "lot": "LN2606-A01",
        "production_date": chain.batch.production_date.isoformat(),
        "status": "active",
        "code": chain.code,
    }
    facility = client.get("/414/8936010500112", headers=json_accept)
    assert facility.status_code == 200 and facility.mimetype == "application/json"
    assert facility.json["gln"] == "8936010500112"
    assert facility.json["name"] == "Vườn vải Phượng Sơn"
    assert set(facility.json) == {"gln", "name", "address", "province", "organization", "kind"}


def test_errors_as_json_for_json_clients(client: FlaskClient, chain: Chain) -> None:
    json_accept = {"Accept": "application/json"}
    unknown = client.get(f"/01/{GTIN}/10/NOPE", headers=json_accept)
    assert unknown.status_code == 404 and unknown.mimetype == "application/json"
    assert unknown.headers["Access-Control-Allow-Origin"] == "*"
    assert unknown.json["status"] == 404 and unknown.json["reason"] == "unknown_code"
    bad = client.get("/01/123/10/A", headers=json_accept)
    assert bad.status_code == 400 and bad.json == {
        "status": 400,
        "reason": "bad_link",
        "detail": "(01) value is too short: '123'",
    }


def test_malformed_links_are_400_unknown_are_404(client: FlaskClient, chain: Chain) -> None:
    assert client.get(f"/01/{GTIN[:-1]}9/10/LN2606-A01").status_code == 400  # check digit
    assert client.get("/01/123/10/A").status_code == 400
    assert client.get(f"/01/{GTIN}/21/X/10/Y").status_code == 400  # order of qualifiers
    assert client.get(f"/01/{GTIN}/10/NOPE").status_code == 404
    assert client.get("/01/08936010510029/10/LN2606-A01").status_code == 404


def test_linkset(client: FlaskClient, chain: Chain, unit_code: Callable[..., str]) -> None:
    code = unit_code(chain.batch)
    path = f"/01/{GTIN}/10/LN2606-A01/21/{code}"
    for response in (
        client.get(path + "?linkType=linkset"),
        client.get(path + "?linkType=all"),
        client.get(path, headers={"Accept": "application/linkset+json"}),
    ):
        assert response.status_code == 200
        assert response.mimetype == "application/linkset+json"
        body = response.get_json()
        anchors = [item["anchor"] for item in body["linkset"]]
        assert anchors == [
            f"https://id.gs1.org{path}",
            f"https://id.gs1.org/01/{GTIN}/10/LN2606-A01",
            f"https://id.gs1.org/01/{GTIN}",
        ]
        first = body["linkset"][0]
        for rel in ("pip", "traceability", "recallStatus", "defaultLink"):
            link = first[f"https://ref.gs1.org/voc/{rel}"][0]
            assert link["href"].startswith("https://trace.example.vn/") and link["title"]


def test_link_types(client: FlaskClient, chain: Chain) -> None:
    base = f"/01/{GTIN}/10/LN2606-A01"
    pip = client.get(base + "?linkType=gs1:pip")
    assert pip.status_code == 200 and pip.mimetype == "text/html"
    trace = client.get(base + "?linkType=gs1:traceability")
    assert "ni:///sha-256;" in trace.data.decode()  # the full history, with event IDs
    status = client.get(base + "?linkType=gs1:recallStatus").get_json()
    assert status == {
        "recalled": False, "reason": None, "since": None, "lot": "LN2606-A01", "gtin": GTIN,
        "code": chain.code,
    }  # fmt: skip
    as_json = client.get(base, headers={"Accept": "application/json"})
    assert as_json.get_json()["batch"]["lot_code"] == "LN2606-A01"


def test_well_known(client: FlaskClient) -> None:
    body = client.get("/.well-known/gs1resolver").get_json()
    assert body["resolverRoot"] == "https://trace.example.vn"
    assert body["supportedPrimaryKeys"] == ["01", "414"]
