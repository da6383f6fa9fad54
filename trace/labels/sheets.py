"""Print-ready A4 label sheets as PDF, streamed page by page.

reportlab keeps a whole document in memory and costs a lot per drawing call, so this module has
its own small PDF writer: every object is written to ``out`` as soon as it is complete (content
stream, then its page), the page tree, the fonts and the cross-reference table come last. Memory
stays flat however many labels are written; reportlab is only used to subset the TrueType font.

Per label the page content holds:

* the QR code as vector rectangles, one ``re`` per horizontal run of dark modules, in a
  coordinate system scaled to one unit per module (so the operators are small integers), filled
  once: crisp at any printer resolution;
* the text block (product name, lot, dates, producer, the "scan me" line), laid out once per
  distinct content and drawn as a Form XObject, so 10,000 labels of one batch share one copy;
* the human-readable code, if any, as one line of text.

Text uses the vendored DejaVu Sans subset as simple TrueType fonts with a ``ToUnicode`` map, so
Vietnamese diacritics render and extract exactly.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import multiprocessing
import os
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from trace.labels.qr import qr_matrix
from trace.labels.render import QUIET_ZONE, matrix_runs

__all__ = [
    "FOOTER_TEXT",
    "TEMPLATES",
    "LabelContent",
    "SheetTemplate",
    "check_template",
    "custom_template",
    "write_label_pdf",
]

PT_PER_MM = 72 / 25.4
FOOTER_TEXT = "Quét mã để truy xuất nguồn gốc"
MIN_MODULE_MM = 0.25  # below this office printers smear modules together
_EPS = 1e-6
FONT_DIR = Path(__file__).resolve().parent / "fonts"
_FONT_FILES = {"R": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
_ZLIB_LEVEL = 6  # worth it: 2x smaller than level 1, and compression runs in the workers


# --------------------------------------------------------------------------------------------
# Templates


@dataclass(frozen=True)
class SheetTemplate:
    """A grid of ``rows`` x ``cols`` labels on a page; all lengths in mm."""

    name: str
    rows: int
    cols: int
    label_w_mm: float
    label_h_mm: float
    margin_top_mm: float
    margin_left_mm: float
    gap_x_mm: float
    gap_y_mm: float
    page_w_mm: float = 210
    page_h_mm: float = 297

    def __post_init__(self) -> None:
        for attr in ("rows", "cols"):
            value = getattr(self, attr)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"template {self.name!r}: {attr} must be a positive integer")
        for attr in ("label_w_mm", "label_h_mm", "page_w_mm", "page_h_mm"):
            value = getattr(self, attr)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"template {self.name!r}: {attr} must be positive")
        for attr in ("margin_top_mm", "margin_left_mm", "gap_x_mm", "gap_y_mm"):
            value = getattr(self, attr)
            if not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"template {self.name!r}: {attr} must be zero or positive")
        if self.margin_left_mm + self.grid_w_mm > self.page_w_mm + _EPS:
            raise ValueError(
                f"template {self.name!r} does not fit the page width: left margin "
                f"{self.margin_left_mm:g} + {self.cols} labels of {self.label_w_mm:g} mm + gaps "
                f"= {self.margin_left_mm + self.grid_w_mm:g} mm > {self.page_w_mm:g} mm"
            )
        if self.margin_top_mm + self.grid_h_mm > self.page_h_mm + _EPS:
            raise ValueError(
                f"template {self.name!r} does not fit the page height: top margin "
                f"{self.margin_top_mm:g} + {self.rows} labels of {self.label_h_mm:g} mm + gaps "
                f"= {self.margin_top_mm + self.grid_h_mm:g} mm > {self.page_h_mm:g} mm"
            )

    @property
    def grid_w_mm(self) -> float:
        return self.cols * self.label_w_mm + (self.cols - 1) * self.gap_x_mm

    @property
    def grid_h_mm(self) -> float:
        return self.rows * self.label_h_mm + (self.rows - 1) * self.gap_y_mm

    @property
    def per_page(self) -> int:
        return self.rows * self.cols

    def label_box_mm(self, slot: int) -> tuple[float, float, float, float]:
        """``(left, top, width, height)`` of slot ``slot`` (row-major) from the page's top left."""
        row, col = divmod(slot, self.cols)
        left = self.margin_left_mm + col * (self.label_w_mm + self.gap_x_mm)
        top = self.margin_top_mm + row * (self.label_h_mm + self.gap_y_mm)
        return left, top, self.label_w_mm, self.label_h_mm


def custom_template(
    rows: int,
    cols: int,
    label_w_mm: float,
    label_h_mm: float,
    *,
    margin_top_mm: float | None = None,
    margin_left_mm: float | None = None,
    gap_x_mm: float = 0,
    gap_y_mm: float = 0,
    page_w_mm: float = 210,
    page_h_mm: float = 297,
    name: str | None = None,
) -> SheetTemplate:
    """A template for any label stock; a margin left as None centres the grid on the page.

    Raises ValueError when the grid does not fit the page or a dimension is invalid.
    """
    if isinstance(rows, int) and isinstance(cols, int) and rows >= 1 and cols >= 1:
        grid_w = cols * label_w_mm + (cols - 1) * gap_x_mm
        grid_h = rows * label_h_mm + (rows - 1) * gap_y_mm
        if margin_left_mm is None:
            margin_left_mm = max(0.0, (page_w_mm - grid_w) / 2)
        if margin_top_mm is None:
            margin_top_mm = max(0.0, (page_h_mm - grid_h) / 2)
    return SheetTemplate(
        name=name or f"custom-{cols}x{rows}-{label_w_mm:g}x{label_h_mm:g}",
        rows=rows,
        cols=cols,
        label_w_mm=label_w_mm,
        label_h_mm=label_h_mm,
        margin_top_mm=margin_top_mm if margin_top_mm is not None else 0.0,
        margin_left_mm=margin_left_mm if margin_left_mm is not None else 0.0,
        gap_x_mm=gap_x_mm,
        gap_y_mm=gap_y_mm,
        page_w_mm=page_w_mm,
        page_h_mm=page_h_mm,
    )


# Common A4 stock. 70x37 (24 per sheet) and 48.5x25.4 (40 per sheet, e.g. Avery L4778) have no
# gaps; 38x21 (65 per sheet) is placed on the usual 65-up pitch (40.6 x 21.2 mm, e.g. Avery
# L7651), with the grid centred on the page.
TEMPLATES: dict[str, SheetTemplate] = {
    t.name: t
    for t in (
        custom_template(8, 3, 70, 37, name="a4-3x8-70x37"),
        custom_template(10, 4, 48.5, 25.4, name="a4-4x10-48.5x25.4"),
        custom_template(13, 5, 38, 21, gap_x_mm=2.6, gap_y_mm=0.2, name="a4-5x13-38x21"),
    )
}


# --------------------------------------------------------------------------------------------
# Label content and text layout


@dataclass(frozen=True)
class LabelContent:
    """What one label shows. Dates are ISO ``yyyy-mm-dd`` (printed dd/mm/yyyy) or free text."""

    uri: str
    product_name: str
    lot: str
    production_date: str | None
    expiry_date: str | None
    producer: str
    code_text: str | None = None


def format_date(value: str | _dt.date | None) -> str | None:
    """``2024-06-15`` → ``15/06/2024``; anything that is not an ISO date is kept as given."""
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return value.strftime("%d/%m/%Y")
    try:
        return _dt.date.fromisoformat(str(value)[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return str(value)


@dataclass(frozen=True)
class _FontMetrics:
    widths: dict[int, int]  # code point -> advance in 1/1000 em
    default_width: int
    ascent: float
    descent: float
    cap_height: float
    bbox: tuple[float, ...]
    italic_angle: float
    stem_v: int
    flags: int
    ps_name: str
    path: Path


@cache
def _font_file(face: str):  # type: ignore[no-untyped-def]  # reportlab TTFontFile
    from reportlab.pdfbase.ttfonts import TTFontFile

    return TTFontFile(str(FONT_DIR / _FONT_FILES[face]))


@cache
def _metrics(face: str) -> _FontMetrics:
    ttf = _font_file(face)
    return _FontMetrics(
        widths={int(k): round(v) for k, v in ttf.charWidths.items()},
        default_width=round(ttf.defaultWidth),
        ascent=float(ttf.ascent),
        descent=float(ttf.descent),
        cap_height=float(ttf.capHeight),
        bbox=tuple(float(v) for v in ttf.bbox),
        italic_angle=float(ttf.italicAngle),
        stem_v=int(ttf.stemV),
        flags=int(ttf.flags),
        ps_name=ttf.name.decode() if isinstance(ttf.name, bytes) else str(ttf.name),
        path=FONT_DIR / _FONT_FILES[face],
    )


def text_width(text: str, face: str, size: float) -> float:
    """Advance width of ``text`` in points (no kerning), as the PDF will draw it."""
    m = _metrics(face)
    widths, default = m.widths, m.default_width
    return sum(widths.get(ord(ch), default) for ch in text) * size / 1000.0


ELLIPSIS = "…"
_ASCENT_EM = 1.0  # room above the baseline: Vietnamese stacked accents on capitals reach ~0.95
_DESCENT_EM = 0.26
_LEADING_EM = 1.22


def _ellipsize(text: str, face: str, size: float, width: float) -> str:
    if text_width(text, face, size) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if text_width(text[:mid].rstrip() + ELLIPSIS, face, size) <= width:
            lo = mid
        else:
            hi = mid - 1
    if lo:
        return text[:lo].rstrip() + ELLIPSIS
    return ELLIPSIS if text_width(ELLIPSIS, face, size) <= width else ""


def _wrap(text: str, face: str, size: float, width: float, max_lines: int) -> list[str]:
    """Greedy word wrap into at most ``max_lines``; over-long words break; the last line may end
    in an ellipsis."""
    words = text.split()
    lines: list[str] = []
    current = ""
    i = 0
    while i < len(words):
        word = words[i]
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, face, size) <= width:
            current = candidate
            i += 1
            continue
        if current:
            lines.append(current)
            current = ""
        else:  # a single word wider than the line: break it
            cut = len(word)
            while cut > 1 and text_width(word[:cut], face, size) > width:
                cut -= 1
            lines.append(word[:cut])
            words[i] = word[cut:]
        if len(lines) == max_lines:
            break
    if len(lines) < max_lines and current:
        lines.append(current)
        current = ""
    rest = " ".join(([current] if current else []) + words[i:])
    if rest.strip():
        # Did not fit: the last line carries the remainder, ellipsized.
        last = f"{lines[-1]} {rest}" if lines else rest
        lines[-1:] = [_ellipsize(last, face, size, width)]
    return lines


@dataclass(frozen=True)
class _Line:
    face: str  # "R" or "B"
    size: float  # pt
    x: float  # pt from the text box's left
    y: float  # baseline, pt from the text box's bottom
    text: str


@dataclass(frozen=True)
class _TextLayout:
    lines: tuple[_Line, ...]
    code_slot: tuple[float, float, float] | None  # (x, baseline, max size) for the code line


def _layout_text(
    content_lines: tuple[str, tuple[str, ...]],
    box_w: float,
    box_h: float,
    with_code: bool,
) -> _TextLayout:
    """Fit the name (bold) and body lines into a ``box_w`` x ``box_h`` pt box.

    The body size goes down from 9 pt to 4 pt until everything fits. At each size the name
    first shrinks (from 1.25x the body size down to the body size) to stay on one line, then
    wraps onto up to 3 lines, the last ellipsized; a body line wraps onto 2 lines at most. If
    nothing fits even at 4 pt, lines are ellipsized to one line each and dropped from the end:
    text never leaves the box.
    """
    name, body = content_lines
    if box_w <= 0 or box_h <= 0:
        return _TextLayout((), None)

    def block_height(sizes: list[float]) -> float:
        if not sizes:
            return 0.0
        return (
            _ASCENT_EM * sizes[0]
            + sum(_LEADING_EM * s for s in sizes[1:])
            + (_DESCENT_EM * sizes[-1])
        )

    def attempt(fb: float, name_max: int, body_max: int) -> list[tuple[str, float, str]]:
        out: list[tuple[str, float, str]] = []
        if name:
            size = fb * 1.25
            while size > fb and text_width(name, "B", size) > box_w:
                size = max(fb, size - 0.25)
            if text_width(name, "B", size) <= box_w:
                out.append(("B", size, name))
            else:
                out.extend(("B", fb, t) for t in _wrap(name, "B", fb, box_w, name_max))
        for text in body:
            if text_width(text, "R", fb) <= box_w:
                out.append(("R", fb, text))
            else:
                out.extend(("R", fb, t) for t in _wrap(text, "R", fb, box_w, body_max))
        return out

    chosen: list[tuple[str, float, str]] | None = None
    fb = 9.0
    code_rows = 1 if with_code else 0
    while fb >= 4.0 - _EPS:
        lines = attempt(fb, 3, 2)
        if block_height([s for _, s, _ in lines] + [fb] * code_rows) <= box_h:
            chosen = lines
            break
        fb -= 0.25
    if chosen is None:
        fb = 4.0
        for name_max, body_max in ((2, 2), (2, 1), (1, 1)):
            chosen = attempt(fb, name_max, body_max)
            if block_height([s for _, s, _ in chosen] + [fb] * code_rows) <= box_h:
                break
        while chosen and block_height([s for _, s, _ in chosen] + [fb] * code_rows) > box_h:
            chosen.pop()
        if block_height([fb] * code_rows) > box_h:
            code_rows = 0

    assert chosen is not None  # the loop above runs at least once
    sizes = [s for _, s, _ in chosen] + [fb] * code_rows
    total = block_height(sizes)
    y_top = box_h - (box_h - total) / 2  # centred vertically
    lines_out: list[_Line] = []
    baseline = y_top
    code_slot = None
    for i, size in enumerate(sizes):
        baseline -= _ASCENT_EM * size if i == 0 else _LEADING_EM * size
        if i < len(chosen):
            face, _, text = chosen[i]
            lines_out.append(_Line(face, size, 0.0, baseline, text))
        else:
            code_slot = (0.0, baseline, size)
    return _TextLayout(tuple(lines_out), code_slot)


def _content_lines(label: LabelContent) -> tuple[str, tuple[str, ...]]:
    body = [f"Lô: {label.lot}"]
    nsx = format_date(label.production_date)
    hsd = format_date(label.expiry_date)
    if nsx:
        body.append(f"NSX: {nsx}")
    if hsd:
        body.append(f"HSD: {hsd}")
    if label.producer:
        body.append(label.producer)
    body.append(FOOTER_TEXT)
    return " ".join(label.product_name.split()), tuple(body)


# --------------------------------------------------------------------------------------------
# Label geometry (points, PDF coordinates: origin bottom left)


@dataclass(frozen=True)
class _Geometry:
    qr_box: float  # side of the square reserved for the QR code, quiet zone included
    qr_dx: float  # QR box offset inside the label
    qr_dy: float
    text_x: float  # text box inside the label
    text_y: float
    text_w: float
    text_h: float


def _geometry(template: SheetTemplate) -> _Geometry:
    """Where the QR code and the text go inside a label.

    The QR square (quiet zone included) takes the label height on landscape labels, the
    width on square/portrait ones; the text box keeps ``pad`` from the label edges and ``gap``
    from the QR square (glyphs such as ``J`` overhang their origin a little).
    """
    w = template.label_w_mm * PT_PER_MM
    h = template.label_h_mm * PT_PER_MM
    pad = min(max(0.06 * min(w, h), 0.8 * PT_PER_MM), 2.0 * PT_PER_MM)
    gap = 0.6 * PT_PER_MM
    if w >= 1.5 * h:  # landscape: QR on the left, as tall as the label, text on the right
        side = min(h, 0.55 * w)
        return _Geometry(
            side, 0.0, (h - side) / 2, side + gap, pad, w - side - gap - pad, h - 2 * pad
        )
    # square or portrait: QR at the top, text below
    side = min(w, 0.62 * h)
    return _Geometry(
        side, (w - side) / 2, h - side, pad, pad, w - 2 * pad, h - side - pad - gap / 2
    )


# --------------------------------------------------------------------------------------------
# PDF writing


def _num(v: float) -> str:
    s = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


def _pdf_string(text: str) -> bytes:
    """A PDF literal string for ASCII metadata."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("ascii", "replace") + b")"


class _Writer:
    """Sequential PDF object writer: objects go to ``out`` at once, offsets are remembered."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.pos = 0
        self.offsets: dict[int, int] = {}
        self.next_num = 1
        self.digest = hashlib.md5(usedforsecurity=False)

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.pos += len(data)
        self.digest.update(data)

    def alloc(self) -> int:
        num = self.next_num
        self.next_num += 1
        return num

    def obj(self, num: int, body: bytes) -> None:
        self.offsets[num] = self.pos
        self.write(b"%d 0 obj\n%s\nendobj\n" % (num, body))

    def stream(self, num: int, entries: bytes, data: bytes, compress: bool = True) -> None:
        if compress:
            data = zlib.compress(data, _ZLIB_LEVEL)
            entries += b" /Filter /FlateDecode"
        self.offsets[num] = self.pos
        self.write(
            b"%d 0 obj\n<<%s /Length %d>>\nstream\n%s\nendstream\nendobj\n"
            % (num, entries, len(data), data)
        )


@dataclass(eq=False)
class _Subset:
    face: str
    index: int
    obj: int = 0  # PDF object number, given when a page using the subset is written
    chars: list[int] = field(default_factory=list)
    codes: dict[int, int] = field(default_factory=dict)

    @property
    def resource(self) -> str:
        return f"{self.face}{self.index}"


class _Fonts:
    """Assigns each character a one-byte code in a 256-character subset of its face, in order
    of first use (so output is deterministic); the subsets are embedded at the end."""

    def __init__(self, writer: _Writer) -> None:
        self.writer = writer
        self.subsets: dict[str, list[_Subset]] = {"R": [], "B": []}

    def encode(self, text: str, face: str) -> list[tuple[_Subset, bytes]]:
        """Split ``text`` into runs of one subset each, with their byte codes."""
        subsets = self.subsets[face]
        runs: list[tuple[_Subset, bytearray]] = []
        for ch in text:
            cp = ord(ch)
            target = None
            for sub in subsets:
                if cp in sub.codes:
                    target = sub
                    break
            if target is None:
                if not subsets or len(subsets[-1].chars) >= 256:
                    subsets.append(_Subset(face, len(subsets)))
                target = subsets[-1]
                target.codes[cp] = len(target.chars)
                target.chars.append(cp)
            if runs and runs[-1][0] is target:
                runs[-1][1].append(target.codes[cp])
            else:
                runs.append((target, bytearray([target.codes[cp]])))
        return [(sub, bytes(codes)) for sub, codes in runs]

    def show(
        self, text: str, face: str, size: float, x: float, y: float
    ) -> tuple[bytes, set[_Subset]]:
        """Content-stream operators drawing ``text`` with its baseline at ``(x, y)``."""
        used = set()
        parts = [f"BT {_num(x)} {_num(y)} Td".encode()]
        for sub, codes in self.encode(text, face):
            used.add(sub)
            parts.append(f" /{sub.resource} {_num(size)} Tf <{codes.hex()}> Tj".encode())
        parts.append(b" ET\n")
        return b"".join(parts), used

    def number(self, subs: Iterable[_Subset]) -> None:
        """Give object numbers to subsets about to be referenced (in a deterministic order)."""
        for sub in sorted(subs, key=_sub_key):
            if not sub.obj:
                sub.obj = self.writer.alloc()

    def finish(self) -> None:
        """Embed every subset: font dictionary, descriptor, ToUnicode map and font file."""
        for face in ("R", "B"):
            for sub in self.subsets[face]:
                if sub.obj:
                    self._embed(sub)

    def _embed(self, sub: _Subset) -> None:
        w = self.writer
        m = _metrics(sub.face)
        tag_src = f"{m.ps_name}:{sub.index}:" + ",".join(map(str, sub.chars))
        tag_hash = hashlib.sha256(tag_src.encode()).digest()
        tag = "".join(chr(65 + b % 26) for b in tag_hash[:6])
        base_font = f"{tag}+{m.ps_name}"
        file_num, desc_num, cmap_num = w.alloc(), w.alloc(), w.alloc()

        font_bytes = _font_file(sub.face).makeSubset(sub.chars)
        w.stream(file_num, b" /Length1 %d" % len(font_bytes), font_bytes)

        flags = (m.flags & ~32) | 4  # symbolic: codes go through the font's own cmap
        bbox = " ".join(_num(v) for v in m.bbox)
        w.obj(
            desc_num,
            (
                f"<< /Type /FontDescriptor /FontName /{base_font} /Flags {flags} "
                f"/FontBBox [{bbox}] /ItalicAngle {_num(m.italic_angle)} "
                f"/Ascent {_num(m.ascent)} /Descent {_num(m.descent)} "
                f"/CapHeight {_num(m.cap_height)} /StemV {m.stem_v} "
                f"/MissingWidth {m.default_width} /FontFile2 {file_num} 0 R >>"
            ).encode(),
        )

        entries = [
            f"<{code:02x}> <{ch.encode('utf-16-be').hex()}>"
            for code, ch in enumerate(chr(cp) for cp in sub.chars)
        ]
        cmap_lines = [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            f"/CMapName /{tag}-UCS def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            "<00> <ff>",
            "endcodespacerange",
        ]
        for start in range(0, len(entries), 100):
            chunk = entries[start : start + 100]
            cmap_lines.append(f"{len(chunk)} beginbfchar")
            cmap_lines.extend(chunk)
            cmap_lines.append("endbfchar")
        cmap_lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
        w.stream(cmap_num, b"", "\n".join(cmap_lines).encode())

        widths = " ".join(str(m.widths.get(cp, m.default_width)) for cp in sub.chars)
        w.obj(
            sub.obj,
            (
                f"<< /Type /Font /Subtype /TrueType /BaseFont /{base_font} /FirstChar 0 "
                f"/LastChar {len(sub.chars) - 1} /Widths [{widths}] "
                f"/FontDescriptor {desc_num} 0 R /ToUnicode {cmap_num} 0 R >>"
            ).encode(),
        )


# Fixed-width decimal fields "%3d " for 0..199 (QR coordinates are < 177 modules).
_DIGITS = np.frombuffer(b"".join(f"{i:3d} ".encode() for i in range(200)), dtype=np.uint8)
_DIGITS = _DIGITS.reshape(200, 4)
_RE_TAIL = np.frombuffer(b"1 re\n", dtype=np.uint8)


def _qr_ops(matrix: np.ndarray) -> bytes:
    """One ``x y w 1 re`` per horizontal dark run, in module units, y up from the bottom."""
    n = matrix.shape[0]
    rows, starts, lengths = matrix_runs(matrix)
    rec = np.empty((len(rows), 17), dtype=np.uint8)
    rec[:, 0:4] = _DIGITS[starts]
    rec[:, 4:8] = _DIGITS[n - 1 - rows]
    rec[:, 8:12] = _DIGITS[lengths]
    rec[:, 12:17] = _RE_TAIL
    return rec.tobytes()


@dataclass(eq=False)
class _TextBlock:
    name: bytes  # XObject resource name
    layout: _TextLayout
    ops: bytes  # uncompressed form content
    fonts: frozenset[_Subset]
    obj: int = 0  # object number once written


# Per-process cache of QR drawing operators: batch-level labels repeat one URI many times.
_QR_CACHE: dict[tuple[str, str], tuple[int, bytes]] = {}


def _qr_drawing(uri: str, ec: str) -> tuple[int, bytes]:
    key = (uri, ec)
    hit = _QR_CACHE.get(key)
    if hit is None:
        matrix = qr_matrix(uri, ec)
        hit = (matrix.shape[0], _qr_ops(matrix))
        if len(_QR_CACHE) >= 64:
            _QR_CACHE.clear()
        _QR_CACHE[key] = hit
    return hit


# A page job: (qr box side in pt, EC level, page prefix, [(uri, qr box x, qr box y, text ops)]).
_PageJob = tuple[float, str, bytes, list[tuple[str, float, float, bytes]]]


def _render_page(job: _PageJob) -> bytes:
    """Build and compress one page's content stream (runs in a worker process when enabled)."""
    qr_box, ec, prefix, items = job
    parts = [prefix]
    min_module = MIN_MODULE_MM * PT_PER_MM
    for uri, bx, by, tail in items:
        n, ops = _qr_drawing(uri, ec)
        module = qr_box / (n + 2 * QUIET_ZONE)
        if module < min_module:
            raise ValueError(
                f"QR module {module / PT_PER_MM:.2f} mm is too small to print for {uri!r}: "
                "use larger labels or a shorter URI"
            )
        offset = QUIET_ZONE * module
        m = _num(module)
        parts.append(f"q {m} 0 0 {m} {_num(bx + offset)} {_num(by + offset)} cm\n".encode())
        parts.append(ops)
        parts.append(b"f Q\n")
        parts.append(tail)
    return zlib.compress(b"".join(parts), _ZLIB_LEVEL)


# Labels after which automatic mode starts (forked) worker processes.
_AUTO_WORKER_THRESHOLD = 300


def check_template(template: SheetTemplate) -> None:
    """Raise ValueError if the template's labels are too small for a scannable QR code.

    The QR square (quiet zone included) must be at least 10 mm; at print time each code's
    modules must also be >= 0.25 mm (a version-5 code needs a 11.25 mm square for that).
    """
    side_mm = _geometry(template).qr_box / PT_PER_MM
    if side_mm < 10:
        raise ValueError(
            f"template {template.name!r}: labels too small for a QR code "
            f"({side_mm:.1f} mm available, at least 10 mm needed)"
        )


_WINDOW_PER_WORKER = 3  # pages in flight per worker


def _default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def write_label_pdf(
    labels: Iterable[LabelContent],
    template: SheetTemplate,
    out: BinaryIO,
    *,
    ec: str = "M",
    cut_marks: bool = False,
    progress: Callable[[int], None] | None = None,
    workers: int | None = 1,
) -> int:
    """Write ``labels`` onto A4 sheets of ``template`` as a PDF to ``out``; return the count.

    Labels fill each page row by row (left to right, top to bottom), page after page. Pages are
    written to ``out`` as they are finished, so memory does not grow with the label count.
    Output is byte-identical for identical input, whatever ``workers`` is (no timestamps, no
    random IDs, objects numbered in page order). ``progress`` is called with the running label
    count after each page is written. No labels give one blank page (a PDF needs a page).

    ``workers``: processes that build and compress page content. 1 (default) renders in this
    process: what web servers and job workers do, so no process of theirs ever has children.
    None forks ``min(2, cpu_count)`` workers once a run passes 300 labels, for a single-threaded
    command line (the CLI); it stays in this process when forking is unsafe (the process has
    other threads) or unavailable. Pools are terminated and joined before this returns, also on
    errors. An explicit ``workers > 1`` in a threaded process uses ``forkserver``/``spawn``,
    which re-import the main module: guard it with ``if __name__ == "__main__"``. Worker
    processes never touch the ``labels`` iterable (a database cursor stays in this process);
    they only build and compress page content.
    """
    if workers is not None and workers < 1:
        raise ValueError("workers must be at least 1")
    max_workers = _default_workers() if workers is None else workers
    start_method = _start_method()
    if workers is None:
        max_workers = _default_workers() if start_method == "fork" else 1
    pool_after = _AUTO_WORKER_THRESHOLD if workers is None else 0

    check_template(template)
    geo = _geometry(template)
    ec = ec.upper() if isinstance(ec, str) else ec
    if ec not in ("L", "M", "Q", "H"):
        raise ValueError(f"unknown error correction level {ec!r} (use L, M, Q or H)")
    w = _Writer(out)
    fonts = _Fonts(w)
    w.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    catalog, pages_num, info = w.alloc(), w.alloc(), w.alloc()

    page_w = template.page_w_mm * PT_PER_MM
    page_h = template.page_h_mm * PT_PER_MM
    slots: list[tuple[float, float]] = []  # label bottom-left corners
    for slot in range(template.per_page):
        left, top, _, _ = template.label_box_mm(slot)
        slots.append((left * PT_PER_MM, page_h - (top + template.label_h_mm) * PT_PER_MM))
    prefix = b"0 g\n" + (_cut_marks(template) if cut_marks else b"")

    blocks: dict[tuple[Any, ...], _TextBlock] = {}
    n_blocks = 0
    page_nums: list[int] = []
    count = 0
    written = 0

    def text_block(label: LabelContent) -> _TextBlock:
        nonlocal n_blocks
        content = _content_lines(label)
        key = (content, label.code_text is not None)
        block = blocks.get(key)
        if block is not None:
            return block
        layout = _layout_text(content, geo.text_w, geo.text_h, label.code_text is not None)
        ops = [b"0 g\n"]
        used: set[_Subset] = set()
        for line in layout.lines:
            op, subs = fonts.show(line.text, line.face, line.size, line.x, line.y)
            ops.append(op)
            used |= subs
        block = _TextBlock(f"T{n_blocks}".encode(), layout, b"".join(ops), frozenset(used))
        n_blocks += 1
        if len(blocks) < 10_000:
            blocks[key] = block
        return block

    def write_page(content: bytes, page_blocks: list[_TextBlock], subs: set[_Subset]) -> None:
        nonlocal written
        all_subs = set(subs)
        for block in page_blocks:
            all_subs |= block.fonts
        fonts.number(all_subs)
        for block in page_blocks:
            if not block.obj:
                block.obj = w.alloc()
                res = " ".join(
                    f"/{s.resource} {s.obj} 0 R" for s in sorted(block.fonts, key=_sub_key)
                )
                # The BBox clips: leave room for glyph ink overhanging the text box a little.
                bbox = f"-1.5 -1.5 {_num(geo.text_w + 1.5)} {_num(geo.text_h + 1.5)}"
                w.stream(
                    block.obj,
                    (
                        f" /Type /XObject /Subtype /Form /BBox [{bbox}] "
                        f"/Resources << /Font << {res} >> >>"
                    ).encode(),
                    block.ops,
                )
                block.ops = b""  # written: free it
        content_num, page_num = w.alloc(), w.alloc()
        w.offsets[content_num] = w.pos
        w.write(
            b"%d 0 obj\n<< /Filter /FlateDecode /Length %d>>\nstream\n%s\nendstream\nendobj\n"
            % (content_num, len(content), content)
        )
        font_res = " ".join(f"/{s.resource} {s.obj} 0 R" for s in sorted(subs, key=_sub_key))
        xobj_res = " ".join(f"/{b.name.decode()} {b.obj} 0 R" for b in page_blocks)
        w.obj(
            page_num,
            (
                f"<< /Type /Page /Parent {pages_num} 0 R /MediaBox [0 0 {_num(page_w)} "
                f"{_num(page_h)}] /Resources << /Font << {font_res} >> /XObject << {xobj_res} "
                f">> >> /Contents {content_num} 0 R >>"
            ).encode(),
        )
        page_nums.append(page_num)
        written += page_counts.popleft()
        if progress is not None:
            progress(written)

    pool = None
    pending: deque[Any] = deque()  # (async result or content, blocks, subsets), in page order
    page_counts: deque[int] = deque()

    def submit(job: _PageJob, page_blocks: list[_TextBlock], subs: set[_Subset]) -> None:
        nonlocal pool
        page_counts.append(len(job[3]))
        if pool is None and max_workers > 1 and count > pool_after:
            ctx = multiprocessing.get_context(start_method)
            pool = ctx.Pool(max_workers)
        if pool is None:
            write_page(_render_page(job), page_blocks, subs)
            return
        pending.append((pool.apply_async(_render_page, (job,)), page_blocks, subs))
        while len(pending) > _WINDOW_PER_WORKER * max_workers:
            drain_one()

    def drain_one() -> None:
        result, page_blocks, subs = pending.popleft()
        write_page(result.get(), page_blocks, subs)

    items: list[tuple[str, float, float, bytes]] = []
    page_blocks: dict[bytes, _TextBlock] = {}
    subs: set[_Subset] = set()
    slot = 0
    try:
        for label in labels:
            x0, y0 = slots[slot]
            block = text_block(label)
            page_blocks.setdefault(block.name, block)
            tx, ty = x0 + geo.text_x, y0 + geo.text_y
            tail = b"q 1 0 0 1 %s %s cm /%s Do Q\n" % (
                _num(tx).encode(),
                _num(ty).encode(),
                block.name,
            )
            if label.code_text is not None and block.layout.code_slot is not None:
                cx, cy, size = block.layout.code_slot
                text = label.code_text
                width = text_width(text, "R", size)
                if width > geo.text_w:
                    size = size * geo.text_w / width
                op, used = fonts.show(text, "R", size, tx + cx, ty + cy)
                tail += op
                subs |= used
            items.append((label.uri, x0 + geo.qr_dx, y0 + geo.qr_dy, tail))
            count += 1
            slot += 1
            if slot == template.per_page:
                submit((geo.qr_box, ec, prefix, items), list(page_blocks.values()), subs)
                items, page_blocks, subs, slot = [], {}, set(), 0
        if slot or count == 0:  # no labels at all: one blank page
            submit((geo.qr_box, ec, prefix, items), list(page_blocks.values()), subs)
        while pending:
            drain_one()
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()

    fonts.finish()
    kids = " ".join(f"{num} 0 R" for num in page_nums)
    w.obj(pages_num, f"<< /Type /Pages /Kids [{kids}] /Count {len(page_nums)} >>".encode())
    w.obj(catalog, f"<< /Type /Catalog /Pages {pages_num} 0 R >>".encode())
    w.obj(
        info,
        b"<< /Producer "
        + _pdf_string("trace labels")
        + b" /Title "
        + _pdf_string(f"Labels {template.name}")
        + b" >>",
    )

    doc_id = w.digest.hexdigest()
    xref_pos = w.pos
    size = w.next_num
    lines = [b"xref\n0 %d\n0000000000 65535 f \n" % size]
    for num in range(1, size):
        lines.append(b"%010d 00000 n \n" % w.offsets[num])
    w.write(b"".join(lines))
    w.write(
        f"trailer\n<< /Size {size} /Root {catalog} 0 R /Info {info} 0 R "
        f"/ID [<{doc_id}> <{doc_id}>] >>\nstartxref\n{xref_pos}\n%%EOF\n".encode()
    )
    return count


def _start_method() -> str:
    """``fork`` is cheapest, but unsafe in a threaded process (a web server): prefer
    ``forkserver`` there; ``spawn`` where neither exists."""
    methods = multiprocessing.get_all_start_methods()
    if threading.active_count() == 1 and "fork" in methods:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def _sub_key(sub: _Subset) -> tuple[str, int]:
    return sub.face, sub.index


def _merge_close(values: set[float], within: float = 1.0) -> list[float]:
    """Edges closer than ``within`` mm (labels with a hairline gap) get one mark between them."""
    merged: list[list[float]] = []
    for v in sorted(values):
        if merged and v - merged[-1][-1] < within:
            merged[-1].append(v)
        else:
            merged.append([v])
    return [(group[0] + group[-1]) / 2 for group in merged]


def _cut_marks(template: SheetTemplate) -> bytes:
    """Thin crop marks in the page margins, in line with every label edge."""
    page_h = template.page_h_mm * PT_PER_MM
    xs: set[float] = set()
    ys: set[float] = set()
    for slot in range(template.per_page):
        left, top, wmm, hmm = template.label_box_mm(slot)
        xs.update((round(left, 3), round(left + wmm, 3)))
        ys.update((round(top, 3), round(top + hmm, 3)))
    ml = template.margin_left_mm
    mr = template.page_w_mm - ml - template.grid_w_mm
    mt = template.margin_top_mm
    mb = template.page_h_mm - mt - template.grid_h_mm
    gap = 1.0  # mm between a mark and the label area
    ops = [b"q 0.25 w 0 G\n"]

    def seg(x1: float, y1: float, x2: float, y2: float) -> None:
        ops.append(
            f"{_num(x1 * PT_PER_MM)} {_num(page_h - y1 * PT_PER_MM)} m "
            f"{_num(x2 * PT_PER_MM)} {_num(page_h - y2 * PT_PER_MM)} l S\n".encode()
        )

    for x in _merge_close(xs):
        if mt > gap + 1:
            seg(x, max(0.0, mt - gap - 5), x, mt - gap)
        if mb > gap + 1:
            y = template.page_h_mm - mb
            seg(x, y + gap, x, min(template.page_h_mm, y + gap + 5))
    for y in _merge_close(ys):
        if ml > gap + 1:
            seg(max(0.0, ml - gap - 5), y, ml - gap, y)
        if mr > gap + 1:
            x = template.page_w_mm - mr
            seg(x + gap, y, min(template.page_w_mm, x + gap + 5), y)
    ops.append(b"Q\n")
    return b"".join(ops)
