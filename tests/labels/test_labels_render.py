"""Single-code PNG and SVG, decoded with a real decoder (zxing-cpp)."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image, ImageDraw

from tests.qr import read_qr
from tests.seeds import rng_for, unit_code
from trace.labels.qr import qr_matrix
from trace.labels.render import QUIET_ZONE, qr_png, qr_svg

_RNG = rng_for(__name__)
URIS = [
    f"https://trace.example.vn/01/08935049510011/10/LNB2406A/21/{unit_code(_RNG)}",
    f"https://trace.example.vn/q/{unit_code(_RNG)}",
    "https://trace.example.vn/01/08935049510011/10/l%C3%B4%2F1",
    # at error correction H, an all-format reader also finds a 1D barcode "7900" in this one
    "https://trace.example.vn/01/08935049510011/10/LNB2406A/21/QXAQGM6W6JC0ZQ",
]


def decode(image: Image.Image) -> list[str]:
    return read_qr(image.convert("L"))


@pytest.mark.parametrize("uri", URIS)
@pytest.mark.parametrize("ec", ["L", "M", "H"])
def test_png_decodes_to_the_uri(uri: str, ec: str) -> None:
    png = qr_png(uri, size_mm=20, dpi=300, ec=ec)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.mode == "1"
    assert image.info["dpi"] == pytest.approx((300, 300), abs=0.5)
    modules = qr_matrix(uri, ec).shape[0] + 2 * QUIET_ZONE
    assert image.width == image.height
    assert image.width % modules == 0
    target = 20 / 25.4 * 300
    assert abs(image.width - target) <= modules / 2 + 1e-9
    assert decode(image) == [uri]


def test_png_pixel_grid_is_crisp() -> None:
    uri = URIS[0]
    matrix = qr_matrix(uri)
    image = Image.open(io.BytesIO(qr_png(uri, size_mm=15, dpi=600)))
    scale = image.width // (matrix.shape[0] + 2 * QUIET_ZONE)
    pixels = image.load()
    for r in range(matrix.shape[0]):
        for c in range(matrix.shape[1]):
            y0, x0 = (r + QUIET_ZONE) * scale, (c + QUIET_ZONE) * scale
            values = {pixels[x0 + dx, y0 + dy] for dx in (0, scale - 1) for dy in (0, scale - 1)}
            assert values == {0 if matrix[r, c] else 255}


def rasterise_svg(svg: str, scale: int = 8) -> Image.Image:
    total = int(re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).group(1))
    image = Image.new("L", (total * scale, total * scale), 255)
    draw = ImageDraw.Draw(image)
    path = re.search(r'<path d="([^"]*)"', svg).group(1)
    for x, y, w, w2 in re.findall(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z", path):
        assert w == w2
        x0, y0 = int(x) * scale, int(y) * scale
        draw.rectangle((x0, y0, x0 + int(w) * scale - 1, y0 + scale - 1), fill=0)
    return image


@pytest.mark.parametrize("uri", URIS)
def test_svg_decodes_to_the_uri(uri: str) -> None:
    svg = qr_svg(uri, size_mm=18)
    assert svg.count("<path") == 1
    assert 'width="18mm"' in svg and 'height="18mm"' in svg
    assert 'shape-rendering="crispEdges"' in svg
    n = qr_matrix(uri).shape[0] + 2 * QUIET_ZONE
    assert f'viewBox="0 0 {n} {n}"' in svg
    assert decode(rasterise_svg(svg)) == [uri]


def test_svg_runs_cover_exactly_the_dark_modules() -> None:
    uri = URIS[1]
    matrix = qr_matrix(uri)
    image = rasterise_svg(qr_svg(uri), scale=1)
    for r in range(matrix.shape[0]):
        for c in range(matrix.shape[1]):
            value = image.getpixel((c + QUIET_ZONE, r + QUIET_ZONE))
            assert value == (0 if matrix[r, c] else 255)


def test_bad_sizes() -> None:
    with pytest.raises(ValueError):
        qr_png(URIS[0], size_mm=0)
    with pytest.raises(ValueError):
        qr_png(URIS[0], dpi=0)
    with pytest.raises(ValueError):
        qr_svg(URIS[0], size_mm=-1)
