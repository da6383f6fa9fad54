"""``flask labels print`` run as a user would, through the Flask CLI runner."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pypdfium2 as pdfium
from click.testing import Result
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from tests.qr import read_qr
from trace.gs1.keys import check_digit
from trace.labels.sheets import TEMPLATES, SheetTemplate
from trace.models import Code, CodeStatus, PrintRun
from trace.services.actors import SYSTEM
from trace.services.labels import issuance

BASE = "https://trace.example.vn"


def gtin13(seed: int) -> str:
    body = f"893{seed:09d}"
    return body + check_digit(body)


def decode_sheets(path: Path, template: SheetTemplate) -> list[str]:
    """The decoded label slots of every page, in slot order, empty slots left out."""
    px = 300 / 25.4
    found: list[str] = []
    for page in pdfium.PdfDocument(path.read_bytes()):
        image = page.render(scale=300 / 72, grayscale=True).to_pil()
        for slot in range(template.per_page):
            left, top, w, h = template.label_box_mm(slot)
            box = (round(left * px), round(top * px), round((left + w) * px), round((top + h) * px))
            found += read_qr(image.crop(box))
    return found


def _labels(runner: FlaskCliRunner, line: str, *extra: str) -> Result:
    return runner.invoke(args=["labels", *shlex.split(line), *extra])


def test_print_writes_a_pdf_that_decodes(app, build, session, tmp_path) -> None:
    batch = build.batch(build.product(build.organization(), gtin=gtin13(31)), lot_code="BMT-26")
    out = tmp_path / "labels.pdf"
    result = _labels(app.test_cli_runner(), f"print --batch BMT-26 --count 26 --out {out}")
    assert result.exit_code == 0, result.output
    assert "Wrote 26 labels" in result.output
    session.rollback()
    run = session.scalars(select(PrintRun)).one()
    codes = session.scalars(
        select(Code).where(Code.print_run_id == run.id).order_by(Code.position)
    ).all()
    assert [c.status for c in codes] == [CodeStatus.PRINTED] * 26
    expected = [issuance.code_uri(BASE, batch, c.code, c.kind) for c in codes]
    assert expected[0] == f"{BASE}/01/0{gtin13(31)}/10/BMT-26/21/{codes[0].code}"
    assert decode_sheets(out, TEMPLATES["a4-3x8-70x37"]) == expected


def test_unserialised_and_ambiguous_lots(app, build, session, tmp_path) -> None:
    org = build.organization()
    first = build.batch(build.product(org, gtin=gtin13(41)), lot_code="L1")
    second = build.batch(build.product(org), lot_code="L1")
    runner = app.test_cli_runner()
    out = tmp_path / "l1.pdf"
    base = ["labels", "print", "--batch", "L1", "--count", "3", "--out", str(out)]

    ambiguous = runner.invoke(args=base)
    assert ambiguous.exit_code != 0
    assert "used by 2 products" in ambiguous.output and "--product" in ambiguous.output
    assert not out.exists()

    by_gtin = runner.invoke(args=[*base, "--product", gtin13(41), "--unserialised"])
    assert by_gtin.exit_code == 0, by_gtin.output
    assert decode_sheets(out, TEMPLATES["a4-3x8-70x37"]) == [f"{BASE}/01/0{gtin13(41)}/10/L1"] * 3

    by_id = runner.invoke(
        args=[*base, "--product", str(second.product_id), "--template", "a4-5x13-38x21"]
    )
    assert by_id.exit_code == 0, by_id.output
    session.rollback()
    codes = session.scalars(
        select(Code.code).where(Code.batch_id == second.id, Code.print_run_id.is_not(None))
    ).all()
    assert sorted(decode_sheets(out, TEMPLATES["a4-5x13-38x21"])) == sorted(
        f"{BASE}/q/{c}" for c in codes
    )
    assert first.id != second.id


def test_clear_errors(app, build, tmp_path) -> None:
    build.batch(build.product(build.organization()), lot_code="OK-1")
    runner = app.test_cli_runner()
    out = str(tmp_path / "x.pdf")
    unknown = _labels(runner, f"print --batch NOPE --count 1 --out {out}")
    assert unknown.exit_code != 0 and "no batch with lot code 'NOPE'" in unknown.output
    zero = _labels(runner, f"print --batch OK-1 --count 0 --out {out}")
    assert zero.exit_code != 0 and "--count" in zero.output
    template = _labels(runner, f"print --batch OK-1 --count 1 --template a4-9x9 --out {out}")
    assert template.exit_code != 0 and "--template" in template.output
    layout = '{"rows": 20, "cols": 10, "label_w_mm": 20, "label_h_mm": 14}'
    small = _labels(runner, f"print --batch OK-1 --count 1 --template custom --out {out}",
                    "--layout", layout)  # fmt: skip
    assert small.exit_code != 0 and "/layout" in small.output
    no_layout = _labels(runner, f"print --batch OK-1 --count 1 --template custom --out {out}")
    assert no_layout.exit_code != 0 and "--layout" in no_layout.output
    stray = _labels(runner, f"print --batch OK-1 --count 1 --template a4-3x8-70x37 --out {out}",
                    "--layout", layout)  # fmt: skip
    assert stray.exit_code != 0 and "--layout" in stray.output
    assert not Path(out).exists()


def test_issue_missing_batch_codes(app, build, session) -> None:
    batch = build.batch(build.product(build.organization()))
    code = issuance.live_batch_code(session, batch)
    issuance.void_code(session, SYSTEM, code.code, "test")
    session.commit()
    result = app.test_cli_runner().invoke(args=["labels", "issue-batch-codes"])
    assert result.exit_code == 0 and "Issued 1 " in result.output
    session.rollback()
    assert issuance.live_batch_code(session, batch) is not None


def test_demo_prints_public_urls_of_batch_codes(app, client) -> None:
    output = json.loads(app.test_cli_runner().invoke(args=["demo", "--json"]).output)
    urls = output["urls"]
    short = [u for u in urls if u.startswith(f"{BASE}/q/")]
    assert short and any(u.startswith(f"{BASE}/01/") for u in urls)
    headers = {"Authorization": f"Bearer {output['tokens']['inspector']}"}
    for url in short:
        code = client.get(f"/api/v1/codes/{url.rsplit('/', 1)[1]}", headers=headers)
        assert code.status_code == 200 and code.json["kind"] == "batch"
        assert code.json["uri"] in urls  # the Digital Link of a GTIN product, else /q/ itself
