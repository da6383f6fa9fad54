"""Print runs, label sheets, codes and QR images through real HTTP requests.

Every PDF is rasterised at 300 dpi and every label slot decoded with zxing-cpp, then compared
with the URIs the API says it issued, in order.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image
from sqlalchemy import select

from tests.qr import read_qr
from trace.gs1.keys import check_digit
from trace.labels.sheets import TEMPLATES, SheetTemplate, custom_template
from trace.models import AuditEntry, Batch, Code, CodeKind, CodeStatus, PrintRun

BASE = "https://trace.example.vn"
DPI = 300
ACTORS = ["admin", "centre-own", "centre-foreign", "producer-own", "producer-foreign",
          "inspector", "anonymous"]  # fmt: skip
MANAGERS = {"admin", "centre-own", "producer-own"}


def gtin13(seed: int) -> str:
    body = f"893{seed:09d}"
    return body + check_digit(body)


def decode_sheets(data: bytes, template: SheetTemplate) -> list[str | None]:
    """Every label slot of every page, in slot order: the decoded text or None."""
    pdf = pdfium.PdfDocument(data)
    px = DPI / 25.4
    found: list[str | None] = []
    for page in pdf:
        image = page.render(scale=DPI / 72, grayscale=True).to_pil()
        for slot in range(template.per_page):
            left, top, w, h = template.label_box_mm(slot)
            box = (round(left * px), round(top * px), round((left + w) * px), round((top + h) * px))
            texts = read_qr(image.crop(box))
            assert len(texts) <= 1
            found.append(texts[0] if texts else None)
    return found


def page_texts(data: bytes) -> list[str]:
    return [page.get_textpage().get_text_range() for page in pdfium.PdfDocument(data)]


@pytest.fixture
def world(build, actor_headers) -> dict:
    org = build.organization(province_code="24", name="Hợp tác xã Vải thiều Phượng Sơn")
    neighbour = build.organization(province_code="24")
    product = build.product(org, gtin=gtin13(2024), name_vi="Vải thiều Lục Ngạn")
    plain = build.product(org, name_vi="Mật ong hoa vải")
    return {
        "org": org,
        "product": product,
        "batch": build.batch(product, lot_code="LN2026-01"),
        "plain_batch": build.batch(plain, lot_code="MO-07"),
        "headers": actor_headers(org, neighbour),
    }


def _create(client, world, batch_key: str = "batch", actor: str = "producer-own", **body):
    body = {"count": 5, "template": "a4-4x10-48.5x25.4"} | body
    return client.post(
        f"/api/v1/batches/{world[batch_key].id}/print-runs",
        json=body,
        headers=world["headers"][actor],
    )


def _all_codes(client, run: dict, headers: dict) -> list[dict]:
    items: list[dict] = []
    url = run["links"]["codes"] + "?limit=7"
    while url:
        page = client.get(url, headers=headers)
        assert page.status_code == 200, page.json
        items += page.json["items"]
        cursor = page.json["next_cursor"]
        url = run["links"]["codes"] + f"?limit=7&cursor={cursor}" if cursor else None
    return items


# Printing and decoding -----------------------------------------------------------------------


def test_print_run_sheets_decode_to_the_issued_uris_in_order(
    client, rendered, world, session
) -> None:
    headers = world["headers"]["producer-own"]
    response = _create(client, world, count=45)
    assert response.status_code == 201, response.json
    run = response.json
    assert response.headers["Location"] == run["links"]["self"] == f"/api/v1/print-runs/{run['id']}"
    assert run["count"] == 45 and run["serialised"] is True
    assert run["codes"] == {"total": 45, "issued": 45, "printed": 0, "voided": 0}

    codes = _all_codes(client, run, headers)
    assert [c["position"] for c in codes] == list(range(45))
    gtin14 = "0" + gtin13(2024)
    assert [c["uri"] for c in codes] == [
        f"{BASE}/01/{gtin14}/10/LN2026-01/21/{c['code']}" for c in codes
    ]

    pdf = rendered(run["links"]["labels_pdf"], headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert int(pdf.headers["Content-Length"]) == len(pdf.data)
    found = decode_sheets(pdf.data, TEMPLATES["a4-4x10-48.5x25.4"])
    assert found[:45] == [c["uri"] for c in codes]
    assert found[45:] == [None] * (80 - 45)  # the rest of page 2 is empty
    text = " ".join(" ".join(page_texts(pdf.data)).split())  # wrapped lines joined again
    assert "Vải thiều Lục Ngạn" in text and "Hợp tác xã Vải thiều Phượng Sơn" in text
    assert "LN2026-01" in text and codes[0]["code"] in text

    after = client.get(run["links"]["self"], headers=headers).json
    assert after["codes"] == {"total": 45, "issued": 0, "printed": 45, "voided": 0}
    again = rendered(run["links"]["labels_pdf"], headers)
    assert again.data == pdf.data  # the same codes in the same places, byte for byte
    session.rollback()
    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_type == "print_run", AuditEntry.entity_id == str(run["id"]))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "print"]


def test_a_few_hundred_labels_on_the_smallest_stock(client, rendered, world) -> None:
    headers = world["headers"]["centre-own"]
    run = _create(client, world, actor="centre-own", count=300, template="a4-5x13-38x21").json
    uris = [c["uri"] for c in _all_codes(client, run, headers)]
    assert len(set(uris)) == 300
    pdf = rendered(run["links"]["labels_pdf"], headers)
    assert len(pdfium.PdfDocument(pdf.data)) == 5  # 65 labels per sheet
    assert decode_sheets(pdf.data, TEMPLATES["a4-5x13-38x21"])[:300] == uris


def test_products_without_gtin_get_short_code_urls(client, rendered, world) -> None:
    headers = world["headers"]["admin"]
    run = _create(client, world, batch_key="plain_batch", actor="admin", count=3,
                  template="a4-3x8-70x37", cut_marks=True).json  # fmt: skip
    assert run["cut_marks"] is True
    codes = _all_codes(client, run, headers)
    assert [c["uri"] for c in codes] == [f"{BASE}/q/{c['code']}" for c in codes]
    pdf = rendered(run["links"]["labels_pdf"], headers).data
    assert decode_sheets(pdf, TEMPLATES["a4-3x8-70x37"])[:3] == [c["uri"] for c in codes]


def test_unserialised_run_prints_the_batch_level_code(client, rendered, world, count) -> None:
    headers = world["headers"]["producer-own"]
    units = count(Code)
    run = _create(client, world, count=6, serialised=False).json
    assert count(Code) == units  # no new codes
    assert run["serialised"] is False and run["batch_code"]
    codes = _all_codes(client, run, headers)
    assert [c["code"] for c in codes] == [run["batch_code"]] and codes[0]["kind"] == "batch"
    uri = f"{BASE}/01/0{gtin13(2024)}/10/LN2026-01"
    assert codes[0]["uri"] == uri
    pdf = rendered(run["links"]["labels_pdf"], headers).data
    assert decode_sheets(pdf, TEMPLATES["a4-4x10-48.5x25.4"])[:6] == [uri] * 6
    code = client.get(f"/api/v1/codes/{run['batch_code']}", headers=headers).json
    assert code["status"] == "printed"


def test_custom_layout(client, rendered, world) -> None:
    headers = world["headers"]["producer-own"]
    layout = {"rows": 3, "cols": 2, "label_w_mm": 90, "label_h_mm": 50, "gap_x_mm": 4,
              "gap_y_mm": 3, "margin_top_mm": 20}  # fmt: skip
    response = _create(client, world, count=8, template="custom", layout=layout, ec="Q")
    assert response.status_code == 201, response.json
    run = response.json
    assert run["template"] == "custom" and run["ec"] == "Q"
    assert run["layout"]["margin_left_mm"] == pytest.approx((210 - 184) / 2)
    sheet = custom_template(3, 2, 90, 50, gap_x_mm=4, gap_y_mm=3, margin_top_mm=20)
    uris = [c["uri"] for c in _all_codes(client, run, headers)]
    pdf = rendered(run["links"]["labels_pdf"], headers).data
    assert decode_sheets(pdf, sheet)[:8] == uris


# Single codes --------------------------------------------------------------------------------


def _svg_to_image(svg: str) -> Image.Image:
    """Rasterise the renderer's SVG (one path of ``M x y h w v1 h-w z`` runs) at 8 px/module."""
    total = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    light = np.ones((total, total), dtype=bool)
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", svg):
        light[int(y), int(x) : int(x) + int(w)] = False
    return Image.fromarray(np.kron(light, np.ones((8, 8), dtype=bool)))


def test_code_resource_and_qr_images(client, world) -> None:
    headers = world["headers"]["inspector"]
    run = _create(client, world, count=2).json
    first = _all_codes(client, run, world["headers"]["admin"])[0]
    code = first["code"]

    info = client.get(f"/api/v1/codes/{code}", headers=headers)
    assert info.status_code == 200
    assert info.json["status"] == "issued" and info.json["uri"] == first["uri"]
    assert info.json["batch_id"] == world["batch"].id and info.json["lot_code"] == "LN2026-01"
    typed = code.lower()[:5] + "-" + code.lower()[5:]
    assert client.get(f"/api/v1/codes/{typed}", headers=headers).json["code"] == code

    png = client.get(f"/api/v1/codes/{code}/qr.png?size_mm=25&dpi=600&ec=H", headers=headers)
    assert png.status_code == 200 and png.mimetype == "image/png"
    image = Image.open(io.BytesIO(png.data))
    assert image.mode == "1" and round(image.info["dpi"][0]) == 600
    assert abs(image.width / 600 * 25.4 - 25) < 2
    assert read_qr(image.convert("L")) == [first["uri"]]

    svg = client.get(f"/api/v1/codes/{code}/qr.svg?size_mm=15", headers=headers)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert 'width="15mm"' in svg.text
    assert read_qr(_svg_to_image(svg.text)) == [first["uri"]]


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("size_mm=4", "/size_mm"),
        ("size_mm=201", "/size_mm"),
        ("size_mm=big", "/size_mm"),
        ("dpi=71", "/dpi"),
        ("dpi=1201", "/dpi"),
        ("ec=X", "/ec"),
        ("colour=red", "/colour"),
    ],
)
def test_qr_png_parameters_are_validated(client, world, query, pointer) -> None:
    headers = world["headers"]["inspector"]
    code = client.get(f"/api/v1/batches/{world['batch'].id}", headers=headers)
    assert code.status_code == 200
    batch_code = _batch_code(world["batch"], client, world)
    response = client.get(f"/api/v1/codes/{batch_code}/qr.png?{query}", headers=headers)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert [e["pointer"] for e in response.json["errors"]] == [pointer]
    if pointer != "/dpi":
        svg = client.get(f"/api/v1/codes/{batch_code}/qr.svg?{query}", headers=headers)
        assert svg.status_code == 422


def _batch_code(batch: Batch, client, world) -> str:
    run = _create(client, world, actor="admin", count=1, serialised=False).json
    return run["batch_code"]


def test_unknown_and_mistyped_codes_are_404(client, world) -> None:
    headers = world["headers"]["inspector"]
    code = _batch_code(world["batch"], client, world)
    mistyped = code[:3] + ("X" if code[3] != "X" else "Y") + code[4:]
    for text in (mistyped, "0000000000000", "not-a-code!"):
        response = client.get(f"/api/v1/codes/{text}", headers=headers)
        assert response.status_code == 404, text
        assert response.mimetype == "application/problem+json"


# Batch-level codes ---------------------------------------------------------------------------


def test_registering_a_batch_issues_its_batch_level_code(client, world, session) -> None:
    headers = world["headers"]["producer-own"]
    body = {"product_id": world["product"].id, "lot_code": "LN2026-99", "quantity": "80",
            "production_date": "2026-06-20"}  # fmt: skip
    response = client.post("/api/v1/batches", json=body, headers=headers)
    assert response.status_code == 201, response.json
    session.rollback()
    code = session.scalars(select(Code).where(Code.batch_id == response.json["id"])).one()
    assert code.kind is CodeKind.BATCH and code.status is CodeStatus.ISSUED
    info = client.get(f"/api/v1/codes/{code.code}", headers=headers).json
    assert info["kind"] == "batch" and info["print_run_id"] is None
    assert info["uri"] == f"{BASE}/01/0{gtin13(2024)}/10/LN2026-99"


# Authorisation -------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ACTORS)
def test_print_authorisation(client, world, actor, count) -> None:
    response = _create(client, world, actor=actor, count=2)
    expected = 401 if actor == "anonymous" else 201 if actor in MANAGERS else 403
    assert response.status_code == expected, (actor, response.json)
    if expected != 201:
        assert count(PrintRun) == 0


@pytest.mark.parametrize("actor", ACTORS)
def test_void_and_download_authorisation(client, rendered, world, actor, session) -> None:
    run = _create(client, world, actor="admin", count=2).json
    code = _all_codes(client, run, world["headers"]["admin"])[0]["code"]
    headers = world["headers"][actor]
    denied = 401 if actor == "anonymous" else 403
    allowed = actor in MANAGERS

    pdf = rendered(run["links"]["labels_pdf"], headers)
    assert pdf.status_code == (200 if allowed else denied)
    assert pdf.mimetype == ("application/pdf" if allowed else "application/problem+json")
    voided = client.post(f"/api/v1/codes/{code}/void", json={"reason": "torn"}, headers=headers)
    assert voided.status_code == (200 if allowed else denied), voided.json
    run_voided = client.post(
        f"/api/v1/print-runs/{run['id']}/void", json={"reason": "wrong lot"}, headers=headers
    )
    assert run_voided.status_code == (200 if allowed else denied)
    session.rollback()
    statuses = set(session.scalars(select(Code.status).where(Code.print_run_id == run["id"])))
    assert statuses == ({CodeStatus.VOIDED} if allowed else {CodeStatus.ISSUED})


@pytest.mark.parametrize("actor", ACTORS[:-1])
def test_runs_and_codes_are_read_under_the_batch_read_rule(client, world, actor) -> None:
    """Who may read the batch reads its runs and codes; a producer or a centre of another
    province that never held the batch may not (issue 10, item 9)."""
    run = _create(client, world, actor="admin", count=2).json
    headers = world["headers"][actor]
    expected = 403 if actor in {"centre-foreign", "producer-foreign"} else 200
    code = _all_codes(client, run, world["headers"]["admin"])[0]["code"]
    for url in (run["links"]["self"], run["links"]["codes"], f"/api/v1/codes/{code}",
                f"/api/v1/codes/{code}/qr.svg", f"/api/v1/codes/{code}/qr.png",
                f"/api/v1/batches/{world['batch'].id}/print-runs"):  # fmt: skip
        response = client.get(url, headers=headers)
        assert response.status_code == expected, (url, response.json)
        if url.endswith(("/codes", code)):
            assert (code in response.get_data(as_text=True)) is (expected == 200)


def test_reads_need_a_token(client, world) -> None:
    run = _create(client, world, actor="admin", count=1).json
    for url in (run["links"]["self"], run["links"]["codes"], run["links"]["labels_pdf"]):
        assert client.get(url).status_code == 401


# Invalid requests ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"count": 0}, "/count"),
        ({"count": -1}, "/count"),
        ({"count": -3}, "/count"),
        ({"count": 2.5}, "/count"),
        ({"count": "10"}, "/count"),
        ({"count": 100_001}, "/count"),
        ({"count": None}, "/count"),
        ({"template": "a4-9x9"}, "/template"),
        ({"template": "custom"}, "/layout"),
        ({"layout": {"rows": 1, "cols": 1, "label_w_mm": 50, "label_h_mm": 50}}, "/layout"),
        ({"template": "custom", "layout": {"rows": 2, "cols": 4, "label_w_mm": 70,
                                           "label_h_mm": 40}}, "/layout"),
        ({"template": "custom", "layout": {"rows": 20, "cols": 10, "label_w_mm": 20,
                                           "label_h_mm": 14}}, "/layout"),
        ({"template": "custom", "layout": {"rows": 0, "cols": 1, "label_w_mm": 50,
                                           "label_h_mm": 50}}, "/layout/rows"),
        ({"serialised": "maybe"}, "/serialised"),
        ({"ec": "Z"}, "/ec"),
        ({"ec": "X"}, "/ec"),
        ({"colour": "red"}, "/colour"),
    ],
)  # fmt: skip
def test_invalid_print_runs_are_422_and_write_nothing(client, world, count, body, pointer) -> None:
    before = (count(PrintRun), count(Code), count(AuditEntry))
    payload = {"count": 5, "template": "a4-3x8-70x37"} | body
    response = client.post(
        f"/api/v1/batches/{world['batch'].id}/print-runs",
        json=payload,
        headers=world["headers"]["admin"],
    )
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert pointer in [e["pointer"] for e in response.json["errors"]]
    assert (count(PrintRun), count(Code), count(AuditEntry)) == before


def test_missing_fields_and_unknown_batch(client, world) -> None:
    headers = world["headers"]["admin"]
    missing = client.post(f"/api/v1/batches/{world['batch'].id}/print-runs", json={},
                          headers=headers)  # fmt: skip
    assert missing.status_code == 422
    assert {e["pointer"] for e in missing.json["errors"]} == {"/count", "/template"}
    body = {"count": 1, "template": "a4-3x8-70x37"}
    unknown = client.post("/api/v1/batches/999999/print-runs", json=body, headers=headers)
    assert unknown.status_code == 404
    assert client.get("/api/v1/print-runs/999999", headers=headers).status_code == 404
    assert client.get("/api/v1/print-runs/999999/labels.pdf", headers=headers).status_code == 404


# Voiding -------------------------------------------------------------------------------------


def test_voiding_codes_and_runs(client, rendered, world, session) -> None:
    headers = world["headers"]["producer-own"]
    run = _create(client, world, count=3).json
    codes = _all_codes(client, run, headers)
    one = codes[1]["code"]

    no_reason = client.post(f"/api/v1/codes/{one}/void", json={}, headers=headers)
    assert no_reason.status_code == 422 and no_reason.json["errors"][0]["pointer"] == "/reason"
    blank = client.post(f"/api/v1/codes/{one}/void", json={"reason": " \t "}, headers=headers)
    assert blank.status_code == 422 and blank.json["errors"][0]["pointer"] == "/reason"
    voided = client.post(f"/api/v1/codes/{one}/void", json={"reason": "  nhãn bị rách "},
                         headers=headers)  # fmt: skip
    assert voided.status_code == 200
    assert voided.json["status"] == "voided" and voided.json["void_reason"] == "nhãn bị rách"
    assert client.get(f"/api/v1/codes/{one}", headers=headers).json["status"] == "voided"
    again = client.post(f"/api/v1/codes/{one}/void", json={"reason": "x"}, headers=headers)
    assert again.status_code == 409

    # A voided code keeps its place on the sheet: the others do not move.
    pdf = rendered(run["links"]["labels_pdf"], headers).data
    found = decode_sheets(pdf, TEMPLATES["a4-4x10-48.5x25.4"])[:3]
    assert found == [c["uri"] for c in codes]
    summary = client.get(run["links"]["self"], headers=headers).json["codes"]
    assert summary == {"total": 3, "issued": 0, "printed": 2, "voided": 1}

    whole = client.post(f"/api/v1/print-runs/{run['id']}/void", json={"reason": "sai lô"},
                        headers=headers)  # fmt: skip
    assert whole.status_code == 200 and whole.json["voided_at"]
    assert whole.json["codes"] == {"total": 3, "issued": 0, "printed": 0, "voided": 3}
    assert client.get(run["links"]["labels_pdf"], headers=headers).status_code == 409
    assert client.post(f"/api/v1/print-runs/{run['id']}/void", json={"reason": "x"},
                       headers=headers).status_code == 409  # fmt: skip
    session.rollback()
    assert session.scalar(select(Code).where(Code.code == one)).void_reason == "nhãn bị rách"
    assert len(session.scalars(select(Code).where(Code.print_run_id == run["id"])).all()) == 3
    voids = session.scalars(select(AuditEntry).where(AuditEntry.action == "void")).all()
    assert {(v.entity_type, v.entity_id) for v in voids} == {
        ("code", one),
        ("print_run", str(run["id"])),
    }


def test_batch_print_runs_are_listed(client, world) -> None:
    headers = world["headers"]["inspector"]
    ids = [_create(client, world, count=1).json["id"] for _ in range(3)]
    listing = client.get(f"/api/v1/batches/{world['batch'].id}/print-runs?limit=2",
                         headers=headers).json  # fmt: skip
    assert [r["id"] for r in listing["items"]] == ids[:2] and listing["next_cursor"]
    rest = client.get(
        f"/api/v1/batches/{world['batch'].id}/print-runs?limit=2&cursor={listing['next_cursor']}",
        headers=headers,
    ).json
    assert [r["id"] for r in rest["items"]] == ids[2:] and rest["next_cursor"] is None
