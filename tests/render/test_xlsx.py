"""The streaming XLSX writer, read back with openpyxl."""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from trace.render.xlsx import SheetWriter, column_letter


@pytest.mark.parametrize(
    ("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")]
)
def test_column_letters(index, letters) -> None:
    assert column_letter(index) == letters


def test_values_round_trip(tmp_path) -> None:
    path = tmp_path / "t.xlsx"
    when = dt.datetime(2026, 6, 8, 5, 30)
    with (
        path.open("wb") as out,
        SheetWriter(
            out, "KDE <Lục Ngạn>", [("Lô", 16), ("Số", 10), ("Ngày", 17), ("Ghi chú", 30)]
        ) as sheet,
    ):
        sheet.write_row(["LN-01", 1850, when, 'Vải thiều <loại 1> & "ngon"'])
        sheet.write_row(["LN-02", Decimal("12.5"), when + dt.timedelta(days=1), "\x01tab\tkept"])
        sheet.write_row(["LN-03", None, when, ""])
    book = load_workbook(path)
    ws = book.active
    assert ws.title == "KDE <Lục Ngạn>"
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("Lô", "Số", "Ngày", "Ghi chú")
    assert rows[1] == ("LN-01", 1850, when, 'Vải thiều <loại 1> & "ngon"')
    assert rows[2] == ("LN-02", 12.5, when + dt.timedelta(days=1), "tab\tkept")
    assert rows[3] == ("LN-03", None, when, None)
    assert ws["A1"].font.b is True
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:D4"
    assert ws.column_dimensions["D"].width == 30


def test_rows_stream_to_a_compressed_part(tmp_path) -> None:
    path = tmp_path / "big.xlsx"
    with path.open("wb") as out, SheetWriter(out, "S", [("a", 10), ("b", 10)]) as sheet:
        for i in range(20_000):
            sheet.write_row([f"lot-{i}", i])
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.compress_size < info.file_size / 4
    rows = list(load_workbook(path, read_only=True).active.iter_rows(values_only=True))
    assert len(rows) == 20_001 and rows[-1] == ("lot-19999", 19999)
