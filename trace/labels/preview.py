"""A preview of a label sheet as a PNG image, stamped as a sample.

The sheet is written by the same engine as the real PDF (:func:`write_label_pdf`), so the preview
shows the real geometry, text and QR sizes, then rasterised with PDFium and stamped diagonally
"MẪU · SAMPLE" across the page. The caller passes placeholder labels (:func:`sample_labels`):
a preview issues no codes, and its QR codes lead to no code.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace

from PIL import Image, ImageDraw, ImageFont

from trace.labels.sheets import FONT_DIR, PT_PER_MM, LabelContent, SheetTemplate, write_label_pdf

SAMPLE_STAMP = "MẪU · SAMPLE"
SAMPLE_PATH = "/q/MAU-SAMPLE-"  # not a code: a scanned preview finds no product
MAX_WIDTH_PX = 1600


def sample_labels(label: LabelContent, public_url: str, count: int) -> list[LabelContent]:
    """``count`` copies of ``label`` carrying numbered placeholder codes, marked as a sample."""
    base = public_url.rstrip("/") + SAMPLE_PATH
    return [
        replace(label, uri=f"{base}{n:04d}", code_text=f"MẪU-SAMPLE-{n:04d}")
        for n in range(1, count + 1)
    ]


def sheet_png(
    labels: Sequence[LabelContent],
    template: SheetTemplate,
    *,
    ec: str = "M",
    cut_marks: bool = False,
    width_px: int = 800,
) -> bytes:
    """The first sheet of ``labels`` (at most one page of them) as a PNG ``width_px`` wide,
    stamped as a sample."""
    import pypdfium2 as pdfium

    width_px = max(200, min(int(width_px), MAX_WIDTH_PX))
    pdf = io.BytesIO()
    write_label_pdf(
        list(labels[: template.per_page]), template, pdf, ec=ec, cut_marks=cut_marks, workers=1
    )
    document = pdfium.PdfDocument(pdf.getvalue())
    try:
        scale = width_px / (template.page_w_mm * PT_PER_MM)
        image = document[0].render(scale=scale).to_pil().convert("RGB")
    finally:
        document.close()
    _stamp(image)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _stamp(image: Image.Image) -> None:
    """A translucent red "sample" stamp across the page's diagonal, and a frame."""
    width, height = image.size
    size = max(12, width // 9)
    font = ImageFont.truetype(str(FONT_DIR / "DejaVuSans-Bold.ttf"), size)
    text_box = font.getbbox(SAMPLE_STAMP)
    layer = Image.new("RGBA", (int(text_box[2]) + size, int(text_box[3]) + size), (0, 0, 0, 0))
    ImageDraw.Draw(layer).text((size // 2, size // 2), SAMPLE_STAMP, font=font,
                               fill=(200, 30, 30, 110))  # fmt: skip
    rotated = layer.rotate(55, expand=True, resample=Image.Resampling.BICUBIC)
    rotated.thumbnail((width, height))  # a narrow custom page: the stamp shrinks to fit
    rgba = image.convert("RGBA")
    left, top = (width - rotated.width) // 2, (height - rotated.height) // 2
    rgba.alpha_composite(rotated, (max(0, left), max(0, top)))
    frame = ImageDraw.Draw(rgba)
    frame.rectangle((0, 0, width - 1, height - 1), outline=(200, 30, 30, 255), width=3)
    image.paste(rgba.convert("RGB"))
