"""Issue 14: spreadsheet imports through the API: preview, commit as a job, re-run, bad input."""

from __future__ import annotations

import contextlib
import gc
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from tests.conftest import gtin13
from trace import collector
from trace.api.imports import engine
from trace.jobs.worker import Worker
from trace.models import AuditEntry, Batch, Event, Facility, Import, Organization, Product

API = "/api/v1/imports"

ORGS_CSV = (
    "Loại tổ chức;Tên tổ chức;Mã số thuế;Tỉnh;Địa chỉ\n"
    "Hợp tác xã;HTX Vải Phượng Hoàng;2400999001;Bắc Ninh;Thôn Bến Cầu, xã Lục Ngạn\n"
    "nha san xuat;Cơ sở Nước mắm Hưng Thịnh;2400999002;24;Xã Phú Quốc\n"
)


def upload(client: Any, headers: dict[str, str], kind: str, body: bytes | str,
           name: str = "data.csv", dry_run: bool = False) -> Any:  # fmt: skip
    data = body.encode() if isinstance(body, str) else body
    query = "?dry_run=true" if dry_run else ""
    return client.post(API + query, headers=headers, content_type="multipart/form-data",
                       data={"kind": kind, "file": (io.BytesIO(data), name)})  # fmt: skip


def commit(app: Any, client: Any, headers: dict[str, str], kind: str, body: bytes | str,
           name: str = "data.csv") -> dict[str, Any]:  # fmt: skip
    response = upload(client, headers, kind, body, name)
    assert response.status_code == 202, response.json
    assert response.json["status"] == "queued"
    Worker(app).run(burst=True)
    return client.get(response.json["links"]["self"], headers=headers).json


def test_organisations_preview_commit_and_again(app, client, token, count, session) -> None:
    centre = token("centre", province="24")
    preview = upload(client, centre, "organizations", ORGS_CSV, dry_run=True)
    assert preview.status_code == 200, preview.json
    assert preview.json["valid"] is True
    assert preview.json["counts"] == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    assert count(Organization) == 0 and count(Import) == 0  # a preview writes nothing

    done = commit(app, client, centre, "organizations", ORGS_CSV, "hợp tác xã.csv")
    assert done["status"] == "done", done
    assert done["counts"] == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    assert len(done["sha256"]) == 64 and done["file_name"] == "hợp tác xã.csv"
    session.rollback()
    orgs = session.scalars(select(Organization).order_by(Organization.tax_code)).all()
    assert [(o.kind.value, o.province_code) for o in orgs] == [
        ("cooperative", "24"),
        ("producer", "24"),
    ]
    audited = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "organization"))
    assert {a.import_id for a in audited} == {done["id"]}

    again = commit(app, client, centre, "organizations", ORGS_CSV)
    assert again["counts"] == {"rows": 2, "created": 0, "updated": 0, "unchanged": 2}
    changed = ORGS_CSV.replace("Xã Phú Quốc", "Xã Dương Tơ")
    third = commit(app, client, centre, "organizations", changed)
    assert third["counts"]["updated"] == 1 and third["counts"]["unchanged"] == 1
    assert count(Organization) == 2


def test_an_import_job_collects_young_objects_less_often_while_it_runs(
    app, client, token, monkeypatch
) -> None:
    thresholds: list[int] = []
    real = engine.execute

    def watched(*args: Any, **kwargs: Any) -> engine.Report:
        thresholds.append(gc.get_threshold()[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "execute", watched)
    before = gc.get_threshold()
    done = commit(app, client, token("centre", province="24"), "organizations", ORGS_CSV)
    assert done["status"] == "done", done
    assert thresholds == [collector.IMPORT_YOUNG_THRESHOLD] != [before[0]]
    assert gc.get_threshold() == before  # restored for the worker's other jobs


def test_a_centre_imports_only_within_its_province(app, client, token, count) -> None:
    other = token("centre", province="01")
    preview = upload(client, other, "organizations", ORGS_CSV, dry_run=True).json
    assert preview["valid"] is False
    assert {(e["row"], e["message"]) for e in preview["errors"]} == {
        (2, "A centre token may not register organisations in province 24."),
        (3, "A centre token may not register organisations in province 24."),
    }
    done = commit(app, client, other, "organizations", ORGS_CSV)
    assert done["status"] == "failed" and done["error_count"] == 2
    assert count(Organization) == 0


def _chain(build: Any) -> tuple[Organization, Product, Batch, Facility]:
    org = build.organization(tax_code="2400888001")
    product = build.product(org, gtin=gtin13(424242))
    batch = build.batch(product, lot_code="LN-01")
    place = build.facility(org, name="Vườn vải Phượng Hoàng")
    return org, product, batch, place


def _events_csv(product: Product, rows: list[str]) -> str:
    head = "Số lô,Mã GTIN,Công đoạn,Thời gian,Địa điểm,Số lượng,Đơn vị tính,Ghi chú\n"
    return head + "".join(r.replace("{gtin}", product.gtin or "") + "\n" for r in rows)


def test_stage_events_preview_commit_rerun_and_restatement(app, client, token, build,
                                                          count) -> None:  # fmt: skip
    org, product, batch, _ = _chain(build)
    producer = token("producer", org)
    body = _events_csv(product, [
        'LN-01,{gtin},Thu hoạch,12/06/2026 06:30,Vườn vải Phượng Hoàng,"1250,5",kg,sáng sớm',
        "LN-01,{gtin},Đóng gói,12/06/2026 14:00,Vườn vải Phượng Hoàng,1200,kg,",
    ])  # fmt: skip
    preview = upload(client, producer, "events", body, dry_run=True).json
    assert preview["valid"] is True, preview["errors"]
    assert preview["counts"]["created"] == 2
    assert count(Event) == 0

    done = commit(app, client, producer, "events", body)
    assert done["status"] == "done", done
    assert done["counts"] == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    history = client.get(f"/api/v1/batches/{batch.id}/events", headers=producer).json["events"]
    assert [e["stage"]["en"] for e in history] == ["Harvesting", "Packing"]
    assert history[0]["facility"]["name"] == "Vườn vải Phượng Hoàng"
    assert history[0]["eventTime"] == "2026-06-12T06:30:00+07:00"

    again = commit(app, client, producer, "events", body)
    assert again["counts"] == {"rows": 2, "created": 0, "updated": 0, "unchanged": 2}
    assert count(Event) == 2

    restated = body.replace("1200,kg", "1100,kg")
    preview = upload(client, producer, "events", restated, dry_run=True).json
    assert preview["valid"] is False
    [error] = preview["errors"]
    assert error["row"] == 3
    assert "already recorded differently" in error["message"]
    assert "correction, not an import" in error["message"]
    assert count(Event) == 2


def test_a_real_sheet_with_wrong_gtins_and_an_unknown_facility(app, client, token, build,
                                                               count) -> None:  # fmt: skip
    org, product, _, _ = _chain(build)
    producer = token("producer", org)
    body = _events_csv(product, [
        "LN-01,{gtin},Thu hoạch,12/06/2026 06:30,Vườn vải Phượng Hoàng,1250,kg,",
        "LN-01,8930000000013,Thu hoạch,12/06/2026 07:30,Vườn vải Phượng Hoàng,1250,kg,",
        "LN-01,{gtin},Thu hoạch,12/06/2026 08:30,Vườn không tên,1250,kg,",
        "LN-01,{gtin},Thu hoach,32/06/2026 08:30,Vườn vải Phượng Hoàng,1250,kg,",
    ])  # fmt: skip
    preview = upload(client, producer, "events", body, dry_run=True).json
    assert preview["valid"] is False
    found = {(e["row"], e["column"]) for e in preview["errors"]}
    assert found == {(3, "Mã GTIN"), (4, "Địa điểm"), (5, "Thời gian")}, preview["errors"]
    messages = {e["row"]: e["message"] for e in preview["errors"]}
    assert "check digit" in messages[3]
    assert messages[4] == "no facility 'Vườn không tên'"
    done = commit(app, client, producer, "events", body)
    assert done["status"] == "failed" and done["error_count"] == 3
    assert count(Event) == 0


def test_a_producer_cannot_import_a_batch_of_another_organisations_product(
    app, client, token, build, count
) -> None:
    org, product, _, _ = _chain(build)
    neighbour = build.organization(tax_code="2400888002")
    body = f"Mã GTIN,Số lô,Số lượng,Ngày sản xuất\n{product.gtin},LOT-X,10,01/07/2026\n"
    preview = upload(client, token("producer", neighbour), "batches", body, dry_run=True).json
    assert preview["valid"] is False
    assert preview["errors"] == [{"row": 2, "column": "Mã GTIN",
                                  "message": "a producer registers batches of its own products "
                                             "only"}]  # fmt: skip
    ok = upload(client, token("producer", org), "batches", body, dry_run=True).json
    assert ok["valid"] is True and ok["counts"]["created"] == 1
    assert count(Batch) == 1


def test_products_from_an_xlsx_with_real_dates_and_numbers(app, client, token, build,
                                                          session) -> None:  # fmt: skip
    org = build.organization(tax_code="2400888003")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Chủ sở hữu", "Tên sản phẩm", "Nhóm sản phẩm", "Mã GTIN", "Đơn vị tính",
                  "Số sao OCOP", "Tiêu chuẩn áp dụng"])  # fmt: skip
    sheet.append([int(org.tax_code), "Vải thiều sấy", "Trái cây", int(gtin13(5151)), "kg", 4,
                  "VietGAP; HACCP"])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    done = commit(app, client, token("centre", province="24"), "products", out.getvalue(),
                  "sp.xlsx")  # fmt: skip
    assert done["status"] == "done", done
    session.rollback()
    product = session.scalars(select(Product).where(Product.name_vi == "Vải thiều sấy")).one()
    assert (product.ocop_stars, product.standards, product.unit) == (4, ["VietGAP", "HACCP"],
                                                                      "KGM")  # fmt: skip


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cp1258(text: str) -> bytes:
    """What Excel's 'CSV' saves on a Vietnamese Windows: base letters and combining tones."""
    out = b""
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            out += (unicodedata.normalize("NFC", parts[:-1]) + parts[-1]).encode("cp1258")
    return out


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("xl/workbook.xml", "<workbook/>")
        package.writestr("xl/worksheets/sheet1.xml", b"\0" * (300 * 1024 * 1024))
    return out.getvalue()


BAD = {
    "windows-1258": (_cp1258(ORGS_CSV), "data.csv", "Windows-1258"),
    "utf-16 without BOM": (ORGS_CSV.encode("utf-16-le"), "data.csv", "UTF-16 without a byte"),
    "missing column": ("Tên tổ chức;Mã số thuế;Tỉnh;Địa chỉ\nA;2400999001;24;x\n", "a.csv",
                       "missing required column kind (Loại tổ chức)"),
    "unknown column": (ORGS_CSV.replace("Địa chỉ\n", "Địa chỉ;Màu sắc\n"), "a.csv",
                       "unknown column 'Màu sắc'"),
    "duplicate row": (ORGS_CSV + ORGS_CSV.splitlines()[1] + "\n", "a.csv", "duplicate of row 2"),
    "csv formula": (ORGS_CSV.replace("Xã Phú Quốc", "=HYPERLINK(\"x\")"), "a.csv",
                    "a formula is not a value"),
    "xlsx formula": (_xlsx([["Tên tổ chức", "Mã số thuế"], ["A", "=1+1"]]), "a.xlsx",
                     "a formula is not a value"),
    "not a spreadsheet": (b"PK\x03\x04 this is no zip at all", "a.xlsx", "not an XLSX"),
    "zip bomb": (_bomb(), "bomb.xlsx", "zip bomb"),
    "old excel": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "a.xls", "Excel 97-2003"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_are_refused_with_a_clear_message(app, client, token, count, case) -> None:
    body, name, expected = BAD[case]
    centre = token("centre", province="24")
    preview = upload(client, centre, "organizations", body, name, dry_run=True)
    assert preview.status_code == 200, preview.json
    assert preview.json["valid"] is False
    messages = " | ".join(e["message"] for e in preview.json["errors"])
    assert expected in messages
    response = upload(client, centre, "organizations", body, name)
    if response.status_code == 202:  # readable, but wrong: the job refuses it
        Worker(app).run(burst=True)
        done = client.get(response.json["links"]["self"], headers=centre).json
        assert done["status"] == "failed"
        assert expected in " | ".join(e["message"] for e in done["errors"])
    else:
        assert response.status_code == 422
        assert expected in response.json["detail"]
    assert count(Organization) == 0


def test_utf16_with_a_bom_and_a_utf8_bom_are_read(app, client, token) -> None:
    centre = token("centre", province="24")
    for body in (ORGS_CSV.encode("utf-16"), b"\xef\xbb\xbf" + ORGS_CSV.encode()):
        preview = upload(client, centre, "organizations", body, dry_run=True).json
        assert preview["valid"] is True, preview["errors"]
        assert preview["counts"]["created"] == 2


def test_a_million_row_csv_is_over_the_limit(app, client, token, count) -> None:
    body = "Số lô,Công đoạn,Thời gian\n" + "L1,harvesting,2026-06-12T06:30\n" * 1_000_000
    centre = token("centre", province="24")
    response = upload(client, centre, "events", body)
    assert response.status_code == 422
    assert "more than 200,000 rows" in response.json["detail"]
    assert count(Import) == 0


def test_templates_download_and_read_back(app, client, token) -> None:
    centre = token("centre", province="24")
    for kind in ("organizations", "facilities", "products", "batches", "events"):
        csv_file = client.get(f"{API}/templates/{kind}.csv", headers=centre)
        assert csv_file.status_code == 200 and csv_file.data.startswith(b"\xef\xbb\xbf")
        xlsx = client.get(f"{API}/templates/{kind}.xlsx", headers=centre)
        assert xlsx.status_code == 200
        book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
        assert book.sheetnames == ["Dữ liệu - Data", "Hướng dẫn - Guide"]
        guide = list(book["Hướng dẫn - Guide"].iter_rows(values_only=True))
        assert len([r for r in guide[1:] if r[2]]) == len(next(book.active.iter_rows()))
        for body, name in ((csv_file.data, "t.csv"), (xlsx.data, "t.xlsx")):
            preview = upload(client, centre, kind, body, name, dry_run=True).json
            headers = [e for e in preview["errors"] if e["row"] == 1]
            assert headers == [], (kind, name, headers)
    assert client.get(f"{API}/templates/nothing.csv", headers=centre).status_code == 404


def test_an_import_is_read_by_its_organisation_only(app, client, token, build) -> None:
    org, product, _, _ = _chain(build)
    producer = token("producer", org)
    body = _events_csv(product, ["LN-01,{gtin},harvesting,2026-06-12 06:30,,1,kg,"])
    response = upload(client, producer, "events", body)
    assert response.status_code == 202
    url = response.json["links"]["self"]
    neighbour = build.organization(tax_code="2400888009")
    assert client.get(url, headers=token("producer", neighbour)).status_code == 403
    assert client.get(url, headers=token("centre", province="24")).status_code == 200
    assert client.get(url, headers=token("centre", province="01")).status_code == 403
    job = response.json["links"]["job"]
    assert client.get(job, headers=token("producer", neighbour)).status_code == 403
    assert client.get(job, headers=producer).status_code == 200


def test_an_inspector_may_not_import(client, token, count) -> None:
    response = upload(client, token("inspector"), "organizations", ORGS_CSV, dry_run=True)
    assert response.status_code == 403
    assert count(Import) == 0


def test_the_import_record_counts_rows_and_drops_the_file(app, client, token, session) -> None:
    centre = token("centre", province="24")
    done = commit(app, client, centre, "organizations", ORGS_CSV)
    session.rollback()
    record = session.get(Import, done["id"])
    assert record.content is None and record.size == len(ORGS_CSV.encode())
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.import_id == record.id)
        )
        == 3
    )  # two organisations and the import itself


def test_an_ambiguous_lot_is_an_error_until_the_gtin_is_given(app, client, token, build) -> None:
    org, _product, _, _ = _chain(build)
    other = build.product(org, gtin=gtin13(434343))
    build.batch(other, lot_code="LN-01")
    producer = token("producer", org)
    body = "Số lô,Công đoạn,Thời gian\nLN-01,harvesting,12/06/2026 06:30\n"
    preview = upload(client, producer, "events", body, dry_run=True).json
    assert preview["errors"] == [{"row": 2, "column": "Số lô",
                                  "message": "ambiguous: give the GLN, GTIN or id"}]  # fmt: skip
    body = f"Số lô,GTIN,Công đoạn,Thời gian\nLN-01,{other.gtin},harvesting,12/06/2026 06:30\n"
    assert upload(client, producer, "events", body, dry_run=True).json["valid"] is True


def test_processing_rows_name_their_input_lots(app, client, token, build, session) -> None:
    org, product, batch, _ = _chain(build)
    dried = build.product(org, gtin=gtin13(454545), name_vi="Vải sấy")
    output = build.batch(dried, lot_code="VS-01")
    body = (
        "Số lô,Mã GTIN,Công đoạn,Thời gian,Số lượng,Đơn vị tính,Lô nguyên liệu\n"
        f"VS-01,{dried.gtin},Chế biến,13/06/2026 08:00,300,kg,{product.gtin}/LN-01\n"
    )
    done = commit(app, client, token("producer", org), "events", body)
    assert done["status"] == "done", done["errors"]
    graph = client.get(f"/api/v1/batches/{output.id}/trace?direction=backward",
                       headers=token("producer", org)).json  # fmt: skip
    assert batch.id in {node["batch_id"] for node in graph["nodes"]}


def test_facilities_by_organisation_tax_code_then_updated(app, client, token, build,
                                                         session) -> None:  # fmt: skip
    org = build.organization(tax_code="2400777001")
    centre = token("centre", province="24")
    body = (
        "Tổ chức (MST),Loại cơ sở,Tên cơ sở,Địa chỉ,Tỉnh,Vĩ độ,Kinh độ\n"
        f'{org.tax_code},Vườn,Vườn Đồi Cao,xã Lục Ngạn,Bắc Ninh,"21,3891","106,5512"\n'
    )
    assert commit(app, client, centre, "facilities", body)["counts"]["created"] == 1
    moved = body.replace("21,3891", "21,4")
    assert commit(app, client, centre, "facilities", moved)["counts"]["updated"] == 1
    session.rollback()
    place = session.scalars(select(Facility).where(Facility.name == "Vườn Đồi Cao")).one()
    assert (str(place.latitude), place.organization_id) == ("21.400000", org.id)


def test_a_producer_cannot_import_events_of_another_organisations_batch(
    app, client, token, build, count
) -> None:
    _, product, _, _ = _chain(build)
    neighbour = build.organization(tax_code="2400888010")
    body = _events_csv(product, ["LN-01,{gtin},Thu hoạch,12/06/2026 06:30,,1250,kg,"])
    done = commit(app, client, token("producer", neighbour), "events", body)
    assert done["status"] == "failed"
    [error] = done["errors"]
    assert error["row"] == 2 and "belong to another organisation" in error["message"], error
    assert count(Event) == 0


def test_a_preview_in_chunks_still_sees_rows_of_earlier_chunks(app, client, token, build,
                                                              monkeypatch) -> None:  # fmt: skip
    from trace.api.imports import engine

    monkeypatch.setattr(engine, "CHUNK", 1)
    org, product, _, _ = _chain(build)
    body = _events_csv(product, [
        "LN-01,{gtin},Thu hoạch,12/06/2026 06:30,,1250,kg,",
        "LN-01,{gtin},Đóng gói,12/06/2026 09:30,,1200,kg,",
        "LN-01,{gtin},Thu hoạch,12/06/2026 06:30,,1000,kg,",
    ])  # fmt: skip
    preview = upload(client, token("producer", org), "events", body, dry_run=True).json
    assert preview["counts"]["created"] == 2
    [error] = preview["errors"]
    assert error["row"] == 4 and "already recorded differently" in error["message"]


# Speed (issue 14's targets): a large preview is a job; work in chunks, same results ------------


def test_a_large_preview_runs_as_a_job_with_its_makers_rights(app, client, token, build, count,
                                                              monkeypatch) -> None:  # fmt: skip
    from trace.api.imports import engine

    monkeypatch.setattr(engine, "PREVIEW_SYNC_ROWS", 1)
    org, product, _, _ = _chain(build)
    neighbour = build.organization(tax_code="2400888011")
    producer = token("producer", org)
    body = _events_csv(product, [
        "LN-01,{gtin},Thu hoạch,12/06/2026 06:30,,1250,kg,",
        "LN-01,{gtin},Đóng gói,12/06/2026 09:30,,1200,kg,",
        "LN-01,{gtin},Thu hoạch,12/06/2026 06:30,,1000,kg,",
    ])  # fmt: skip
    queued = upload(client, producer, "events", body, dry_run=True)
    assert queued.status_code == 202, queued.json
    assert queued.headers["Location"] == queued.json["links"]["self"]
    assert queued.json["dry_run"] is True and queued.json["status"] == "queued"
    assert queued.json["valid"] is None
    Worker(app).run(burst=True)
    done = client.get(queued.headers["Location"], headers=producer).json
    assert done["status"] == "done" and done["valid"] is False, done
    assert done["counts"] == {"rows": 3, "created": 2, "updated": 0, "unchanged": 0}
    [error] = done["errors"]
    assert error["row"] == 4 and "already recorded differently" in error["message"]
    assert count(Event) == 0  # a preview writes nothing but its record
    # Another organisation neither reads it nor previews with more rights than its own.
    other = token("producer", neighbour)
    assert client.get(queued.headers["Location"], headers=other).status_code == 403
    theirs = upload(client, other, "events", body, dry_run=True).json
    Worker(app).run(burst=True)
    refused = client.get(theirs["links"]["self"], headers=other).json
    assert refused["status"] == "done" and refused["valid"] is False
    assert all("belong to another organisation" in e["message"] for e in refused["errors"])


def test_a_small_preview_is_answered_at_once(client, token, build) -> None:
    org, product, _, _ = _chain(build)
    body = _events_csv(product, ["LN-01,{gtin},Thu hoạch,12/06/2026 06:30,,1250,kg,"])
    answer = upload(client, token("producer", org), "events", body, dry_run=True)
    assert answer.status_code == 200 and answer.json["valid"] is True, answer.json


def test_a_commit_in_chunks_stores_every_chunk_or_none(app, client, token, build, count,
                                                       monkeypatch) -> None:  # fmt: skip
    from trace.api.imports import engine
    from trace.db import db
    from trace.models import PortalRecord
    from trace.services.events import ledger

    monkeypatch.setattr(engine, "CHUNK", 2)
    org, product, batch, _ = _chain(build)
    producer = token("producer", org)

    def announced() -> int:
        with db.new_session(app) as fresh:
            return fresh.scalar(select(PortalRecord.version).where(
                PortalRecord.kind == "batch", PortalRecord.entity_id == batch.id)) or 0  # fmt: skip

    before = announced()
    rows = [f"LN-01,{{gtin}},Thu hoạch,12/06/2026 0{h}:30,,1250,kg," for h in range(1, 6)]
    wrong = _events_csv(product, [*rows, "LN-01,{gtin},Thu hoạch,12/06/2026 01:30,,9,kg,"])
    failed = commit(app, client, producer, "events", wrong)
    assert failed["status"] == "failed" and failed["errors"][0]["row"] == 7, failed
    assert count(Event) == 0  # the chunks checked before the wrong row were not kept

    done = commit(app, client, producer, "events", _events_csv(product, rows))
    assert done["counts"]["created"] == 5, done
    assert count(Event) == 5
    history = client.get(f"/api/v1/batches/{batch.id}/events", headers=producer).json["events"]
    assert [e["eventTime"][11:16] for e in history] == [f"0{h}:30" for h in range(1, 6)]
    with app.app_context():
        assert ledger.verify(db.session).ok
        assert announced() == before + 1  # the batch's new stages, announced once
    again = commit(app, client, producer, "events", _events_csv(product, rows))
    assert again["counts"]["unchanged"] == 5 and count(Event) == 5
    assert announced() == before + 1  # nothing new: not announced again


def test_products_written_together_are_audited_and_announced_as_one_by_one(
    app, client, token, build, session, monkeypatch
) -> None:
    from trace.api.imports import engine
    from trace.models import PortalRecord

    monkeypatch.setattr(engine, "CHUNK", 2)
    org = build.organization(tax_code="2400888020")
    centre = token("centre", province=org.province_code)
    one = client.post("/api/v1/products", headers=centre, json={
        "organization_id": org.id, "name_vi": "Vải thiều API", "category": "fruit",
        "unit": "KGM"})  # fmt: skip
    assert one.status_code == 201, one.json
    body = "Chủ sở hữu,Tên sản phẩm,Nhóm sản phẩm,Đơn vị tính\n" + "".join(
        f"2400888020,Vải thiều {i},trái cây,kg\n" for i in range(5)
    )
    done = commit(app, client, centre, "products", body)
    assert done["counts"]["created"] == 5, done
    session.rollback()
    products = session.scalars(select(Product).where(Product.name_vi.like("Vải thiều %"))).all()
    entries = {
        int(a.entity_id): a
        for a in session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "product"))
    }
    api_entry = entries[one.json["id"]]
    for product in products:
        if product.id == one.json["id"]:
            continue
        entry = entries[product.id]
        assert entry.action == "create" and entry.import_id == done["id"]
        assert set(entry.after) == set(api_entry.after)
        assert entry.after["name_vi"] == product.name_vi and entry.after["id"] == product.id
    announced = session.scalars(select(PortalRecord).where(PortalRecord.kind == "product")).all()
    assert {(r.entity_id, r.organization_id, r.version) for r in announced} == {
        (p.id, org.id, 1) for p in products
    }


@contextlib.contextmanager
def _flushes(model: type[Any]) -> Iterator[list[int]]:
    """Within: the number of new ``model`` rows of each session flush that inserts some."""
    seen: list[int] = []

    def before_flush(session: Session, _context: Any, _instances: Any) -> None:
        new = sum(1 for obj in session.new if isinstance(obj, model))
        if new:
            seen.append(new)

    event.listen(Session, "before_flush", before_flush)
    try:
        yield seen
    finally:
        event.remove(Session, "before_flush", before_flush)


@contextlib.contextmanager
def _statements(app: Any) -> Iterator[list[str]]:
    """Within: the SQL statements run on the application's database."""
    from trace.db import db

    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    engine = db.engine_for(app)
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_products_with_gtins_are_inserted_together_and_a_taken_gtin_is_its_rows_error(
    app, client, token, build, count
) -> None:
    owner = build.organization(tax_code="2400888030", province_code="24")
    other = build.organization(tax_code="2400888031", province_code="24")
    theirs = build.product(other, gtin=gtin13(888031))
    centre = token("centre", province="24")
    head = "Chủ sở hữu,Tên sản phẩm,Nhóm sản phẩm,Đơn vị tính,Mã GTIN\n"
    rows = [f"2400888030,Nước mắm {i},trái cây,kg,{gtin13(888100 + i)}\n" for i in range(6)]
    with _flushes(Product) as flushes, _statements(app) as statements:
        done = commit(app, client, centre, "products", head + "".join(rows))
    assert done["counts"] == {"rows": 6, "created": 6, "updated": 0, "unchanged": 0}, done
    assert flushes == [6]  # inserted together (one batched INSERT), not one flush per row
    one_each = [s for s in statements if re.search(r"WHERE product\.gtin = (\?|%\()", s)]
    at_once = [s for s in statements if re.search(r"WHERE product\.gtin (IN|= ANY)", s)]
    assert one_each == [] and at_once, statements  # looked up at once, not a query per row
    assert count(Product) == 7
    # a GTIN already registered to another organisation, and one given twice: their rows
    clash = [f"2400888030,Mới {i},trái cây,kg,{gtin13(888200 + i)}\n" for i in range(3)]
    clash.insert(1, f"2400888030,Của người khác,trái cây,kg,{theirs.gtin}\n")
    clash.append(f"2400888030,Lặp lại,trái cây,kg,{gtin13(888200)}\n")
    failed = commit(app, client, centre, "products", head + "".join(clash))
    assert failed["status"] == "failed"
    assert {(e["row"], e["column"]) for e in failed["errors"]} == {
        (3, "Chủ sở hữu"),
        (6, "Mã GTIN"),
    }, failed["errors"]
    assert count(Product) == 7 and owner.id != other.id


def test_organisations_are_inserted_together_and_a_tax_code_taken_in_the_file_is_an_error(
    app, client, token, count
) -> None:
    centre = token("centre", province="24")
    head = "Loại tổ chức;Tên tổ chức;Mã số thuế;Tỉnh;Địa chỉ;GLN\n"
    rows = [f"Hợp tác xã;HTX {i};24009991{i:02d};24;Xã {i};\n" for i in range(5)]
    with _flushes(Organization) as flushes:
        done = commit(app, client, centre, "organizations", head + "".join(rows))
    assert done["counts"]["created"] == 5, done
    assert flushes == [5]
    # the same tax code under two GLNs: the second row is refused, nothing is written
    twice = head + (
        f"Hợp tác xã;HTX A;2400999201;24;Xã A;{gln(1)}\n"
        f"Hợp tác xã;HTX B;2400999201;24;Xã B;{gln(2)}\n"
    )
    failed = commit(app, client, centre, "organizations", twice)
    assert failed["status"] == "failed"
    items = failed["errors"]
    assert [(e["row"], e["column"]) for e in items] == [(3, "Mã số thuế")], items
    assert "already" in items[0]["message"] and count(Organization) == 5


def gln(n: int) -> str:
    from trace.gs1.keys import check_digit

    body = f"893{n:09d}"
    return body + check_digit(body)


@pytest.mark.parametrize(
    "values",
    [
        {
            "stage": "harvesting",
            "time": "2026-06-01T08:00:00+07:00",
            "quantity": "12.5",
            "unit": "KGM",
            "facility_id": 3,
        },
        {"time": "2026-06-01T08:00:00+07:00", "quantity": "1"},  # no stage
        {"stage": "harvesting", "quantity": "-1", "unit": "no such unit"},
        {"stage": "picking flowers", "facility_id": 2**40, "note": "x" * 1001},
        {"stage": "shipping", "colour": "red", "to_organization_id": "seven"},
        {"stage": "processing", "inputs": [{"batch_id": 1}, {"batch_id": "x"}]},
        {"stage": "receiving", "time": "yesterday", "disposition": "nonsense"},
    ],
)
def test_the_imports_stage_form_loads_and_refuses_as_the_apis(values: dict[str, Any]) -> None:
    from marshmallow import ValidationError

    from trace.api.event_schemas import StageForm
    from trace.api.imports.rows import stage_form

    def outcome(form: Any) -> Any:
        try:
            return "loaded", form.load(dict(values))
        except ValidationError as error:
            return "refused", error.messages

    assert outcome(stage_form(values)) == outcome(StageForm())
