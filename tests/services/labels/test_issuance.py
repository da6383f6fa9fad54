"""Issuing codes and print runs, their URIs, voiding: the services on a real database."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import qrcode
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.seeds import unit_code
from trace.gs1 import parse_digital_link
from trace.gs1.keys import check_digit
from trace.labels.codes import is_valid_code
from trace.labels.sheets import TEMPLATES
from trace.models import AuditEntry, Batch, BatchStatus, Code, CodeKind, CodeStatus, PrintRun
from trace.services.actors import SYSTEM
from trace.services.errors import Conflict, InvalidInput
from trace.services.labels import issuance

BASE = "https://trace.example.vn"


def gtin13(seed: int) -> str:
    body = f"893{seed:09d}"
    return body + check_digit(body)


@pytest.fixture
def batch(build) -> Batch:
    org = build.organization()
    return build.batch(build.product(org, gtin=gtin13(4711)), lot_code="LN2026-07")


@pytest.fixture
def plain_batch(build) -> Batch:
    """A batch of a product without a GTIN."""
    return build.batch(build.product(build.organization()), lot_code="VT-01")


def _run(session: Session, batch: Batch, count: int = 5, **kwargs) -> PrintRun:
    session.rollback()
    kwargs.setdefault("template", "a4-3x8-70x37")
    run = issuance.create_print_run(session, SYSTEM, batch.id, count=count, **kwargs)
    session.commit()
    return run


def _codes(session: Session, run: PrintRun) -> list[Code]:
    stmt = select(Code).where(Code.print_run_id == run.id).order_by(Code.position)
    return list(session.scalars(stmt))


# Batch-level codes ---------------------------------------------------------------------------


def test_registering_a_batch_issues_its_batch_code(session, batch) -> None:
    codes = session.scalars(select(Code).where(Code.batch_id == batch.id)).all()
    assert len(codes) == 1
    [code] = codes
    assert code.kind is CodeKind.BATCH and code.status is CodeStatus.ISSUED
    assert is_valid_code(code.code) and code.print_run_id is None
    issued = session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "code", AuditEntry.action == "issue")
    ).one()
    assert issued.entity_id == code.code


def test_issue_batch_code_is_idempotent_and_replaces_a_voided_one(session, batch) -> None:
    first = issuance.live_batch_code(session, batch)
    assert issuance.issue_batch_code(session, batch).id == first.id
    issuance.void_code(session, SYSTEM, first.code, "label misprinted")
    assert issuance.live_batch_code(session, batch) is None
    assert issuance.issue_missing_batch_codes(session) == 1
    second = issuance.live_batch_code(session, batch)
    assert second is not None and second.code != first.code
    assert issuance.issue_missing_batch_codes(session) == 0
    # the voided code stays on record
    assert session.scalar(select(Code).where(Code.code == first.code)).status is CodeStatus.VOIDED


# URIs ----------------------------------------------------------------------------------------


def test_uris_follow_digital_link_or_short_code(session, batch, plain_batch, rng) -> None:
    code = unit_code(rng)
    unit = issuance.code_uri(BASE, batch, code, CodeKind.UNIT)
    assert unit == f"{BASE}/01/0{gtin13(4711)}/10/LN2026-07/21/{code}"
    assert issuance.code_uri(BASE, batch, code, CodeKind.BATCH) == (
        f"{BASE}/01/0{gtin13(4711)}/10/LN2026-07"
    )
    assert issuance.code_uri(BASE, plain_batch, code, CodeKind.UNIT) == f"{BASE}/q/{code}"
    assert issuance.code_uri(BASE, plain_batch, code, CodeKind.BATCH) == f"{BASE}/q/{code}"
    link = parse_digital_link(unit)
    assert link.primary_value == f"0{gtin13(4711)}"
    assert dict(link.qualifiers) == {"10": "LN2026-07", "21": code}


def test_lot_codes_are_percent_encoded(build) -> None:
    batch = build.batch(build.product(build.organization(), gtin=gtin13(99)), lot_code="A/B&1")
    uri = issuance.code_uri(BASE, batch, "X", CodeKind.BATCH)
    assert uri == f"{BASE}/01/0{gtin13(99)}/10/A%2FB%261"
    assert dict(parse_digital_link(uri).qualifiers) == {"10": "A/B&1"}


def _qr_version(uri: str) -> int:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(uri)
    qr.make(fit=True)
    return qr.version


@pytest.mark.parametrize("lot", ["LN2026-07", "BMT-2026-0042", "PQ/26/117"])
def test_typical_uris_fit_qr_version_5_at_ec_m(build, lot, rng) -> None:
    gtin_batch = build.batch(build.product(build.organization(), gtin=gtin13(7)), lot_code=lot)
    plain = build.batch(build.product(build.organization()), lot_code=lot)
    for _ in range(20):
        code = unit_code(rng)
        for uri in (
            issuance.code_uri(BASE, gtin_batch, code, CodeKind.UNIT),
            issuance.code_uri(BASE, gtin_batch, code, CodeKind.BATCH),
            issuance.code_uri(BASE, plain, code, CodeKind.UNIT),
        ):
            assert _qr_version(uri) <= 5, uri


# Print runs ----------------------------------------------------------------------------------


def test_serialised_run_issues_unique_codes_in_positions(session, batch, count) -> None:
    before = count(Code)
    run = _run(session, batch, count=60)
    codes = _codes(session, run)
    assert [c.position for c in codes] == list(range(60))
    assert len({c.code for c in codes}) == 60
    assert all(is_valid_code(c.code) for c in codes)
    assert {(c.kind, c.status, c.batch_id) for c in codes} == {
        (CodeKind.UNIT, CodeStatus.ISSUED, batch.id)
    }
    assert count(Code) == before + 60
    assert run.layout["rows"] == 8 and run.layout["label_w_mm"] == 70
    assert issuance.template_of(run) == TEMPLATES["a4-3x8-70x37"]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "print_run")).one()
    assert entry.action == "create" and entry.entity_id == str(run.id)


def test_a_collision_draws_again(session, batch, monkeypatch, rng) -> None:
    taken = issuance.live_batch_code(session, batch).code
    fresh = [unit_code(rng) for _ in range(3)]
    draws: Iterator[str] = iter([taken, fresh[0], fresh[0], fresh[1], fresh[2]])
    monkeypatch.setattr(issuance, "new_unit_code", lambda: next(draws))
    # The first draw gives ``taken`` (already in the table) and fresh[0]; the insert collides and
    # ``taken`` alone is drawn again, skipping fresh[0], which the run already holds.
    run = _run(session, batch, count=2)
    assert [c.code for c in _codes(session, run)] == [fresh[1], fresh[0]]


def test_unserialised_run_prints_copies_of_the_batch_code(session, batch, count) -> None:
    units = count(Code)
    run = _run(session, batch, count=4, serialised=False)
    assert count(Code) == units
    batch_code = issuance.live_batch_code(session, batch).code
    assert run.layout["batch_code"] == batch_code
    labels = list(issuance.run_labels(session, run, BASE))
    assert len(labels) == 4
    assert {label.uri for label in labels} == {f"{BASE}/01/0{gtin13(4711)}/10/LN2026-07"}
    assert {label.code_text for label in labels} == {batch_code}
    info = issuance.describe_print_run(session, run)
    assert (info.codes.total, info.codes.issued) == (1, 1)


def test_labels_come_in_position_order_with_the_batch_text(session, batch) -> None:
    run = _run(session, batch, count=12)
    labels = list(issuance.run_labels(session, run, BASE))
    codes = _codes(session, run)
    assert [label.code_text for label in labels] == [c.code for c in codes]
    assert [label.uri for label in labels] == [
        f"{BASE}/01/0{gtin13(4711)}/10/LN2026-07/21/{c.code}" for c in codes
    ]
    first = labels[0]
    assert first.product_name == batch.product.name_vi
    assert first.lot == "LN2026-07"
    assert first.production_date == "2026-06-12"
    assert first.expiry_date == "2026-07-12"  # production + the product's 30 days shelf life
    assert first.producer == batch.producer.name


def test_rendering_then_marking_printed(session, batch) -> None:
    run = _run(session, batch, count=3)
    victim = _codes(session, run)[1]
    issuance.void_code(session, SYSTEM, victim.code, "torn label")
    out = io.BytesIO()
    assert issuance.render_print_run(session, run, BASE, out) == 3  # same places as before
    assert out.getvalue().startswith(b"%PDF-")
    assert issuance.mark_printed(session, SYSTEM, run) == 2
    assert [c.status for c in _codes(session, run)] == [
        CodeStatus.PRINTED,
        CodeStatus.VOIDED,
        CodeStatus.PRINTED,
    ]
    assert issuance.mark_printed(session, SYSTEM, run) == 0  # printed once, recorded once
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_type == "print_run")
    ).all()
    assert actions.count("print") == 1


def test_voiding_a_run_voids_its_codes_and_stops_rendering(session, batch) -> None:
    run = _run(session, batch, count=4)
    issuance.void_code(session, SYSTEM, _codes(session, run)[0].code, "duplicate")
    issuance.void_print_run(session, SYSTEM, run.id, "wrong lot printed")
    session.commit()
    codes = _codes(session, run)
    assert len(codes) == 4 and {c.status for c in codes} == {CodeStatus.VOIDED}
    assert [c.void_reason for c in codes] == ["duplicate"] + ["wrong lot printed"] * 3
    assert run.voided_at is not None
    with pytest.raises(Conflict):
        issuance.render_print_run(session, run, BASE, io.BytesIO())
    with pytest.raises(Conflict):
        issuance.void_print_run(session, SYSTEM, run.id, "again")
    with pytest.raises(Conflict):
        issuance.void_code(session, SYSTEM, codes[1].code, "again")


@pytest.mark.parametrize(
    ("kwargs", "pointer"),
    [
        ({"template": "custom"}, "/layout"),
        ({"template": "custom", "layout": {"rows": 20, "cols": 10, "label_w_mm": 20,
                                           "label_h_mm": 14}}, "/layout"),
        ({"template": "custom", "layout": {"rows": 2, "cols": 4, "label_w_mm": 70,
                                           "label_h_mm": 40}}, "/layout"),
        ({"template": "custom", "layout": {"rows": 0, "cols": 1, "label_w_mm": 50,
                                           "label_h_mm": 50}}, "/layout"),
    ],
)  # fmt: skip
def test_invalid_runs_write_nothing(session, batch, count, kwargs, pointer) -> None:
    """What only the sheet knows: the grid builds, fits the page and leaves room for a QR code.
    The fields' shape (count, ec, template name) is the schema's: tests/api/test_labels_api.py."""
    before = (count(Code), count(PrintRun), count(AuditEntry))
    args = {"count": 5, "template": "a4-3x8-70x37"} | kwargs
    with pytest.raises(InvalidInput) as raised:
        issuance.create_print_run(session, SYSTEM, batch.id, **args)
    session.rollback()
    assert pointer in [e.pointer for e in raised.value.errors]
    assert (count(Code), count(PrintRun), count(AuditEntry)) == before


def test_custom_layout_is_stored_with_the_run(session, batch) -> None:
    layout = {"rows": 2, "cols": 2, "label_w_mm": 90, "label_h_mm": 60, "gap_x_mm": 5}
    run = _run(session, batch, count=3, template="custom", layout=layout)
    sheet = issuance.template_of(run)
    assert (sheet.rows, sheet.cols, sheet.label_w_mm, sheet.gap_x_mm) == (2, 2, 90, 5)
    assert sheet.margin_left_mm == pytest.approx((210 - 185) / 2)  # centred


def test_no_labels_for_a_recalled_batch(session, batch) -> None:
    session.rollback()
    session.get(Batch, batch.id).status = BatchStatus.RECALLED
    session.commit()
    with pytest.raises(Conflict):
        issuance.create_print_run(session, SYSTEM, batch.id, count=1, template="a4-3x8-70x37")
