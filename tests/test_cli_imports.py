"""``flask --app wsgi import KIND FILE [--dry-run]``, run as a user would."""

from __future__ import annotations

import gc
from pathlib import Path

from sqlalchemy import select

from tests.conftest import gtin13
from trace import collector
from trace.api.imports import engine
from trace.models import AuditEntry, Import, Product

PRODUCTS = (
    "Chủ sở hữu,Tên sản phẩm,Nhóm sản phẩm,Mã GTIN,Đơn vị tính,Hạn sử dụng (ngày)\n"
    "{tax},Nước mắm Phú Quốc 40 độ đạm,gia vị,{gtin},chai,720\n"
    "{tax},Vải thiều sấy khô,trái cây,,kg,180\n"
)


def test_import_dry_run_then_commit_then_again(
    app, build, count, session, tmp_path, monkeypatch
) -> None:
    org = build.organization()
    path = tmp_path / "san-pham.csv"
    path.write_text(PRODUCTS.format(tax=org.tax_code, gtin=gtin13(777)), encoding="utf-8-sig")
    runner = app.test_cli_runner()
    thresholds: list[int] = []
    real = engine.preview

    def watched(*args, **kwargs):
        thresholds.append(gc.get_threshold()[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "preview", watched)
    before = gc.get_threshold()
    gc.unfreeze()
    try:
        preview = runner.invoke(args=["import", "products", str(path), "--dry-run"])
        assert gc.get_freeze_count() > 10_000  # the loaded app is out of full collections
    finally:
        gc.unfreeze()
    assert preview.exit_code == 0, preview.output
    assert thresholds == [collector.IMPORT_YOUNG_THRESHOLD] and gc.get_threshold() == before
    assert "Preview of 2 rows: 2 created, 0 updated, 0 unchanged" in preview.output
    assert count(Product) == 0

    done = runner.invoke(args=["import", "products", str(path)])
    assert done.exit_code == 0, done.output
    assert "Import of 2 rows: 2 created" in done.output
    session.rollback()
    record = session.scalars(select(Import)).one()
    assert record.file_name == "san-pham.csv" and record.counts["created"] == 2
    products = session.scalars(select(Product).order_by(Product.name_vi)).all()
    assert [p.unit for p in products] == ["XBO", "KGM"]
    entries = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "product"))
    assert {e.import_id for e in entries} == {record.id}

    again = runner.invoke(args=["import", "products", str(path)])
    assert "0 created, 0 updated, 2 unchanged" in again.output
    assert count(Product) == 2


def test_row_errors_exit_non_zero_and_write_nothing(app, build, count, tmp_path: Path) -> None:
    org = build.organization()
    path = tmp_path / "bad.csv"
    path.write_text(PRODUCTS.format(tax=org.tax_code, gtin="8930000000013"), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "products", str(path)])
    assert result.exit_code == 1
    assert "row 2, column Mã GTIN:" in result.output and "check digit" in result.output
    assert "1 error(s): nothing was written." in result.output
    assert count(Product) == 0 and count(Import) == 0
