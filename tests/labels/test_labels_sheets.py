"""PDF label sheets: every QR decoded in order, text extracted, geometry, determinism."""

from __future__ import annotations

import io
import random

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from tests.qr import read_qr
from tests.seeds import rng_for, unit_code
from trace.labels.sheets import (
    FOOTER_TEXT,
    PT_PER_MM,
    TEMPLATES,
    LabelContent,
    SheetTemplate,
    _geometry,
    check_template,
    custom_template,
    write_label_pdf,
)

DPI = 300
NAME = "Vải thiều Lục Ngạn"


_rng = rng_for(__name__)


@pytest.fixture(autouse=True)
def _seeded(rng: random.Random) -> None:
    """Each test draws its labels' codes from its own seeded generator."""
    global _rng
    _rng = rng


def make_labels(count: int, **overrides: object) -> list[LabelContent]:
    labels = []
    for i in range(count):
        code = unit_code(_rng)
        if i % 3 == 2:
            uri = f"https://trace.example.vn/q/{code}"
        else:
            uri = f"https://trace.example.vn/01/08935049510011/10/LNB2406A/21/{code}"
        fields: dict[str, object] = {
            "uri": uri,
            "product_name": NAME,
            "lot": "LNB2406A",
            "production_date": "2024-06-15",
            "expiry_date": "2024-07-15",
            "producer": "HTX Nông sản Lục Ngạn, Bắc Giang",
            "code_text": code,
        }
        fields.update(overrides)
        labels.append(LabelContent(**fields))  # type: ignore[arg-type]
    return labels


def render_pdf(labels: list[LabelContent], template: SheetTemplate, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    assert write_label_pdf(labels, template, buf, **kwargs) == len(labels)  # type: ignore[arg-type]
    return buf.getvalue()


def decode_sheet(data: bytes, template: SheetTemplate) -> list[str | None]:
    """Rasterise every page at 300 dpi and decode each label slot, in slot order."""
    pdf = pdfium.PdfDocument(data)
    scale = DPI / 25.4
    found: list[str | None] = []
    for page in pdf:
        image = page.render(scale=DPI / 72, grayscale=True).to_pil()
        for slot in range(template.per_page):
            left, top, w, h = template.label_box_mm(slot)
            crop = image.crop(
                (
                    round(left * scale),
                    round(top * scale),
                    round((left + w) * scale),
                    round((top + h) * scale),
                )
            )
            texts = read_qr(crop)
            if not texts:
                found.append(None)
                continue
            assert len(texts) == 1
            found.append(texts[0])
    return found


def page_text(data: bytes) -> list[str]:
    pdf = pdfium.PdfDocument(data)
    return [page.get_textpage().get_text_range() for page in pdf]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_code_on_every_page_decodes_in_order(name: str) -> None:
    template = TEMPLATES[name]
    labels = make_labels(template.per_page + template.cols + 1)  # a second, partial page
    data = render_pdf(labels, template)
    found = decode_sheet(data, template)
    expected = [label.uri for label in labels]
    assert found[: len(expected)] == expected
    assert all(f is None for f in found[len(expected) :])  # the rest of the last page is empty


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_text_keeps_vietnamese_diacritics(name: str) -> None:
    template = TEMPLATES[name]
    labels = make_labels(3)
    text = page_text(render_pdf(labels, template))[0]
    flat = " ".join(text.split())
    assert NAME in flat
    for needle in ("Lô: LNB2406A", "NSX: 15/06/2024", "HSD: 15/07/2024", FOOTER_TEXT):
        assert needle in flat
    assert "HTX Nông sản Lục Ngạn, Bắc Giang" in flat
    for label in labels:
        assert label.code_text in flat
    if name == "a4-3x8-70x37":
        assert NAME in text  # wide labels keep the name on one line, exactly


def test_qr_modules_are_large_enough_and_vector() -> None:
    for template in TEMPLATES.values():
        geo = _geometry(template)
        assert geo.qr_box / PT_PER_MM / (37 + 8) >= 0.33  # version 5 still >= 0.33 mm modules
    data = render_pdf(make_labels(5), TEMPLATES["a4-4x10-48.5x25.4"])
    pdf = pdfium.PdfDocument(data)
    kinds = {obj.type for obj in pdf[0].get_objects(max_depth=3)}
    assert pdfium_c.FPDF_PAGEOBJ_IMAGE not in kinds
    assert pdfium_c.FPDF_PAGEOBJ_PATH in kinds


LONG_NAMES = [
    "Nước mắm Phú Quốc truyền thống thượng hạng đặc biệt ủ chượp hai mươi bốn tháng trong "
    "thùng gỗ bời lời của Hợp tác xã Nước mắm Phú Quốc Kiên Giang, chai thủy tinh 500 ml",
    "Càphêrangxayn" * 12,  # one enormous word
    "Cà phê Buôn Ma Thuột",
]


@pytest.mark.parametrize("name", [*sorted(TEMPLATES), "custom-2x3-90x60"])
def test_long_text_never_leaves_its_label(name: str) -> None:
    template = TEMPLATES.get(name) or custom_template(3, 2, 90, 60, gap_x_mm=5, gap_y_mm=5)
    labels = []
    for i, product in enumerate(LONG_NAMES * 2):
        labels += make_labels(
            1,
            product_name=product,
            producer="Công ty TNHH Một thành viên Chế biến Nông sản Xuất khẩu " * (1 + i % 2),
            lot="LÔ-" + "9" * (5 + 10 * (i % 2)),
        )
    data = render_pdf(labels, template)
    page_h = template.page_h_mm * PT_PER_MM
    geo = _geometry(template)
    boxes = []
    for slot in range(template.per_page):
        left, top, w, h = template.label_box_mm(slot)
        boxes.append(
            (
                left * PT_PER_MM,
                page_h - (top + h) * PT_PER_MM,
                (left + w) * PT_PER_MM,
                page_h - top * PT_PER_MM,
            )
        )
    pdf = pdfium.PdfDocument(data)
    textpage = pdf[0].get_textpage()
    text = textpage.get_text_range()
    assert "…" in text  # something had to be ellipsized
    checked = 0
    for i in range(textpage.count_chars()):
        if text[i].isspace() if i < len(text) else True:
            continue
        left, bottom, right, top = textpage.get_charbox(i)
        cx, cy = (left + right) / 2, (bottom + top) / 2
        box = next(b for b in boxes if b[0] <= cx <= b[2] and b[1] <= cy <= b[3])
        tol = 0.01
        assert box[0] - tol <= left and right <= box[2] + tol, (text[i], box, left, right)
        assert box[1] - tol <= bottom and top <= box[3] + tol, (text[i], box, bottom, top)
        # and never over the QR code's square
        qr_left = box[0] + geo.qr_dx
        qr_bottom = box[1] + geo.qr_dy
        overlaps_qr = (
            left < qr_left + geo.qr_box - tol
            and right > qr_left + tol
            and bottom < qr_bottom + geo.qr_box - tol
            and top > qr_bottom + tol
        )
        assert not overlaps_qr, (text[i], left, bottom)
        checked += 1
    assert checked > 100
    # the codes still decode
    assert decode_sheet(data, template)[: len(labels)] == [label.uri for label in labels]


def test_custom_template_validation() -> None:
    with pytest.raises(ValueError, match="does not fit the page width"):
        custom_template(2, 4, 60, 30)
    with pytest.raises(ValueError, match="does not fit the page height"):
        custom_template(10, 2, 60, 30, margin_top_mm=5)
    with pytest.raises(ValueError, match="does not fit the page width"):
        custom_template(2, 3, 70, 30, margin_left_mm=1)
    with pytest.raises(ValueError, match="rows must be a positive integer"):
        custom_template(0, 3, 60, 30)
    with pytest.raises(ValueError, match="cols must be a positive integer"):
        custom_template(3, -1, 60, 30)
    with pytest.raises(ValueError, match="label_w_mm must be positive"):
        custom_template(3, 3, 0, 30)
    with pytest.raises(ValueError, match="gap_x_mm must be zero or positive"):
        custom_template(3, 3, 50, 30, gap_x_mm=-1)
    with pytest.raises(ValueError, match="too small for a QR code"):
        write_label_pdf(make_labels(1), custom_template(20, 20, 9, 9), io.BytesIO())
    with pytest.raises(ValueError, match="too small for a QR code"):
        check_template(custom_template(20, 20, 9, 9))
    for template in TEMPLATES.values():
        check_template(template)


def test_custom_template_is_centred_and_works() -> None:
    template = custom_template(4, 2, 90, 50, gap_x_mm=4, gap_y_mm=6)
    assert template.margin_left_mm == pytest.approx((210 - 184) / 2)
    assert template.margin_top_mm == pytest.approx((297 - 218) / 2)
    labels = make_labels(9)
    found = decode_sheet(render_pdf(labels, template, cut_marks=True), template)
    assert found[:9] == [label.uri for label in labels]


def test_templates_match_their_stock() -> None:
    for name, template in TEMPLATES.items():
        assert name == template.name
        assert template.page_w_mm == 210 and template.page_h_mm == 297
        spec = name.split("-")
        cols, rows = map(int, spec[1].split("x"))
        w, h = map(float, spec[2].split("x"))
        assert (template.cols, template.rows) == (cols, rows)
        assert (template.label_w_mm, template.label_h_mm) == (w, h)
        right = template.page_w_mm - template.margin_left_mm - template.grid_w_mm
        bottom = template.page_h_mm - template.margin_top_mm - template.grid_h_mm
        assert right >= 0 and bottom >= 0


def test_output_is_deterministic_and_independent_of_workers() -> None:
    labels = make_labels(150)
    template = TEMPLATES["a4-4x10-48.5x25.4"]
    one = render_pdf(labels, template, workers=1)
    assert render_pdf(labels, template, workers=1) == one
    assert render_pdf(labels, template, workers=2) == one
    assert b"CreationDate" not in one


def test_streams_to_a_write_only_sink_and_reports_progress() -> None:
    class Sink:
        def __init__(self) -> None:
            self.chunks: list[bytes] = []

        def write(self, data: bytes) -> int:
            self.chunks.append(bytes(data))
            return len(data)

    sink = Sink()
    seen: list[int] = []
    template = TEMPLATES["a4-3x8-70x37"]
    labels = make_labels(50)
    count = write_label_pdf(iter(labels), template, sink, progress=seen.append)  # type: ignore[arg-type]
    assert count == 50
    assert seen == [24, 48, 50]
    data = b"".join(sink.chunks)
    assert len(pdfium.PdfDocument(data)) == 3


def test_batch_labels_without_code_or_dates() -> None:
    template = TEMPLATES["a4-3x8-70x37"]
    labels = make_labels(4, code_text=None, production_date=None, expiry_date=None)
    data = render_pdf(labels, template)
    text = " ".join(page_text(data)[0].split())
    assert "NSX" not in text and "HSD" not in text
    assert decode_sheet(data, template)[:4] == [label.uri for label in labels]


def test_no_labels_gives_one_blank_page() -> None:
    data = render_pdf([], TEMPLATES["a4-3x8-70x37"])
    assert len(pdfium.PdfDocument(data)) == 1
    assert page_text(data) == [""]


def test_more_than_256_distinct_characters_use_several_font_subsets() -> None:
    vietnamese = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ"
    alphabet = vietnamese + vietnamese.upper() + "bcfghjklmnpqrstvwxz" + "0123456789"
    others = "αβγδεζηθικλμνξοπρστυφχψωабвгдежзийклмнопрстуфхцчшщъыьэюя"
    alphabet += others + others.upper()
    assert len(set(alphabet)) > 256
    chunks = [alphabet[i : i + 10] for i in range(0, len(alphabet), 10)]
    labels = [make_labels(1, product_name=chunk)[0] for chunk in chunks]
    template = TEMPLATES["a4-3x8-70x37"]
    data = render_pdf(labels, template)
    text = "".join("".join(page_text(data)).split())
    for chunk in chunks:
        assert chunk in text
    assert decode_sheet(data, template)[: len(labels)] == [label.uri for label in labels]


def test_rendering_starts_no_child_process_by_default() -> None:
    """Web servers and job workers render with the defaults: a pool forked inside a gunicorn
    worker outlived the server (issue 10), so by default no child process is ever started."""
    import multiprocessing

    children: list[int] = []
    out = io.BytesIO()
    labels = make_labels(400)

    def progress(_written: int) -> None:
        children.append(len(multiprocessing.active_children()))

    write_label_pdf(labels, TEMPLATES["a4-3x8-70x37"], out, progress=progress)
    assert children and max(children) == 0
    assert out.getvalue().startswith(b"%PDF-")
