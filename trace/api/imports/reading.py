"""Spreadsheet files to rows of text: CSV (UTF-8, with or without BOM; UTF-16 with a BOM) and
XLSX (the first sheet), within documented limits.

Every refusal is a :class:`FileProblem` whose message says what is wrong and what to do; nothing
here touches the database. Formula cells are refused (an import stores values, never what a
formula would compute elsewhere), and so is an XLSX whose zip members would inflate past
:data:`MAX_UNPACKED_BYTES` or by more than :data:`MAX_RATIO` (a zip bomb) before it is parsed.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAX_FILE_BYTES = 32 * 1024 * 1024
"""The largest upload: about 200,000 event rows of CSV."""
MAX_ROWS = 200_000
"""Data rows per file (the header not counted)."""
MAX_COLUMNS = 60
MAX_CELL_CHARS = 4000
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
"""What an XLSX's zip members may add up to once unpacked."""
MAX_RATIO = 200
"""The largest compression ratio of an XLSX member: real sheets stay far below, bombs far above."""
MAX_MEMBERS = 2000

XLSX_MAGIC = b"PK\x03\x04"
CSV_DELIMITERS = ",;\t"
# Vietnamese letters of Windows-1258 (đ ơ ư Đ Ơ Ư) and its combining tone marks, as bytes.
_CP1258_HINTS = frozenset(b"\xf0\xf5\xfd\xd0\xd5\xdd\xcc\xec\xde\xd2\xf2")


class FileProblem(Exception):
    """The file as a whole cannot be read; ``row``/``column`` when the problem has a place."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.message, self.row, self.column = message, row, column


@dataclass
class Sheet:
    """The header row and the data rows (spreadsheet row number, cells as text)."""

    header: list[str]
    rows: list[tuple[int, list[str]]]


def read(name: str, content: bytes) -> Sheet:
    """The file's header and rows; XLSX by its zip signature or name, CSV otherwise."""
    if len(content) > MAX_FILE_BYTES:
        raise FileProblem(
            f"the file is {len(content):,} bytes; at most {MAX_FILE_BYTES:,} are accepted: "
            "split it into several files"
        )
    if not content.strip():
        raise FileProblem("the file is empty")
    if content.startswith(XLSX_MAGIC) or name.lower().endswith((".xlsx", ".xlsm")):
        return _sheet(_xlsx_rows(content))
    if name.lower().endswith(".xls") or content.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem(
            "this is an old Excel 97-2003 file (.xls): save it as .xlsx or as CSV UTF-8"
        )
    return _sheet(_csv_rows(decode(content)))


def decode(content: bytes) -> str:
    """UTF-8 (a BOM is dropped) or UTF-16 with a BOM; any other encoding is refused, named."""
    if content.startswith(codecs.BOM_UTF8):
        content = content[len(codecs.BOM_UTF8) :]
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            raise FileProblem("the file starts as UTF-16 but is not valid UTF-16") from None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FileProblem(_not_utf8(content, error)) from None


def _not_utf8(content: bytes, error: UnicodeDecodeError) -> str:
    sample = content[:65536]
    if sample.count(0) > len(sample) // 4:
        encoding = "UTF-16 without a byte-order mark"
    elif _CP1258_HINTS & set(sample[max(0, error.start - 200) : error.start + 200]):
        encoding = "Windows-1258 (Vietnamese Windows code page)"
    else:
        encoding = "an 8-bit code page such as Windows-1252 or TCVN3"
    return (
        f"the file is not UTF-8: it looks like {encoding} (byte {error.start + 1}); in Excel "
        "save it as 'CSV UTF-8 (Comma delimited)' and upload it again"
    )


Rows = Iterator[tuple[list[str], list[int]]]
"""Each row's cells as text, and the indexes of its formula cells."""


def _csv_rows(text: str) -> Rows:
    first = text.split("\n", 1)[0]
    delimiter = max(CSV_DELIMITERS, key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for cells in reader:
            yield cells, [i for i, cell in enumerate(cells) if cell.startswith("=")]
    except csv.Error as error:
        raise FileProblem(f"not a valid CSV file near line {reader.line_num}: {error}") from None


def _xlsx_rows(content: bytes) -> Rows:
    _check_zip(content)
    import openpyxl  # imported when needed: the factory does no more than it must

    try:
        book = openpyxl.load_workbook(
            io.BytesIO(content), read_only=True, data_only=False, keep_links=False
        )
    except Exception as error:  # openpyxl raises many kinds on a broken package
        raise FileProblem(f"not a readable XLSX spreadsheet ({type(error).__name__})") from None
    try:
        if not book.worksheets:
            raise FileProblem("the workbook has no sheet")
        sheet = book.worksheets[0]
        for row in sheet.iter_rows():
            cells, formulas = [], []
            for index, cell in enumerate(row):
                if getattr(cell, "data_type", None) == "f":
                    formulas.append(index)
                cells.append(_cell_text(getattr(cell, "value", None)))
            yield cells, formulas
    finally:
        book.close()


def _check_zip(content: bytes) -> None:
    try:
        package = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise FileProblem("not an XLSX spreadsheet (an XLSX file is a zip package)") from None
    members = package.infolist()
    if len(members) > MAX_MEMBERS:
        raise FileProblem(f"the XLSX package holds {len(members)} parts; at most {MAX_MEMBERS}")
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise FileProblem(
            f"the XLSX would unpack to {unpacked:,} bytes; at most {MAX_UNPACKED_BYTES:,} "
            "are accepted (a zip bomb, or a sheet too large: split it)"
        )
    for member in members:
        if member.file_size > MAX_RATIO * max(member.compress_size, 1) + 65536:
            raise FileProblem(
                f"the XLSX part {member.filename!r} is compressed {member.file_size:,} to "
                f"{member.compress_size:,} bytes: refused as a zip bomb"
            )
    if "xl/workbook.xml" not in {m.filename for m in members}:
        raise FileProblem("not an XLSX spreadsheet (the zip package has no workbook)")


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)


def _sheet(rows: Rows) -> Sheet:
    header: list[str] | None = None
    data: list[tuple[int, list[str]]] = []
    for number, (raw, formulas) in enumerate(rows, 1):
        if formulas:
            names = header or []
            index = formulas[0]
            raise FileProblem(
                "a formula is not a value: type the value, or paste values only",
                row=number,
                column=names[index] if index < len(names) else f"column {index + 1}",
            )
        cells = [c.strip() for c in raw]
        while cells and not cells[-1]:
            cells.pop()
        if header is None:
            if not cells:
                continue
            if len(cells) > MAX_COLUMNS:
                raise FileProblem(f"the header has {len(cells)} columns; at most {MAX_COLUMNS}")
            header = cells
            continue
        if not cells:
            continue
        if len(data) >= MAX_ROWS:
            raise FileProblem(
                f"more than {MAX_ROWS:,} rows (row {number} is over the limit): split the file"
            )
        if len(cells) > len(header):
            raise FileProblem(
                f"{len(cells)} cells but the header names {len(header)} columns", row=number
            )
        for cell in cells:
            if len(cell) > MAX_CELL_CHARS:
                raise FileProblem(f"a cell longer than {MAX_CELL_CHARS} characters", row=number)
        data.append((number, cells))
    if header is None:
        raise FileProblem("the file has no header row")
    return Sheet(header, data)
