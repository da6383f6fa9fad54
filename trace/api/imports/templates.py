"""Downloadable templates: a header row and one example row; the XLSX also explains every
column, in Vietnamese and English, on a second sheet."""

from __future__ import annotations

import csv
import io

from trace.api.imports.columns import SPECS, Spec

GUIDE_HEADER = ("Cột", "Column", "Trường API / API field", "Bắt buộc / Required",
                "Hướng dẫn", "Explanation", "Ví dụ / Example")  # fmt: skip


def _required(spec: Spec, name: str) -> str:
    for group in spec.required:
        if name in group:
            return "có / yes" if len(group) == 1 else f"một trong / one of: {', '.join(group)}"
    return ""


def csv_template(kind: str) -> bytes:
    """UTF-8 with a BOM, so that Excel opens it with its accents."""
    spec = SPECS[kind]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.vi for c in spec.columns])
    writer.writerow([c.example for c in spec.columns])
    return "\ufeff".encode() + out.getvalue().encode()


def xlsx_template(kind: str) -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    spec = SPECS[kind]
    book = openpyxl.Workbook()
    data = book.active
    data.title = "Dữ liệu - Data"
    data.append([c.vi for c in spec.columns])
    example = data.max_row + 1
    for index, column in enumerate(spec.columns, 1):
        cell = data.cell(row=example, column=index, value=column.example or None)
        cell.number_format = "@"  # text: dates and codes stay as typed
    for cell in data[1]:
        cell.font = Font(bold=True)
    data.freeze_panes = "A2"
    guide = book.create_sheet("Hướng dẫn - Guide")
    guide.append(GUIDE_HEADER)
    for column in spec.columns:
        guide.append([column.vi, column.en, column.name, _required(spec, column.name),
                      column.help_vi, column.help_en, column.example])  # fmt: skip
    guide.append([])
    guide.append(["Ngày: dd/mm/yyyy hoặc yyyy-mm-dd. Số thập phân: dấu . hoặc ,. Không dùng "
                  "công thức. Tên cột không phân biệt hoa thường và dấu."])  # fmt: skip
    guide.append(["Dates: dd/mm/yyyy or yyyy-mm-dd. Decimals: . or ,. No formulas. Column "
                  "headers ignore case and accents; API field names are accepted too."
                  ])  # fmt: skip
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for sheet in (data, guide):
        for letter_cells in sheet.columns:
            width = max(len(str(c.value or "")) for c in letter_cells[:60])
            sheet.column_dimensions[letter_cells[0].column_letter].width = min(60, width + 2)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
