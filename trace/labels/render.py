"""One QR code as a 1-bit PNG or an SVG, at a physical size."""

from __future__ import annotations

import io

import numpy as np

from trace.labels.qr import qr_matrix

__all__ = ["QUIET_ZONE", "matrix_runs", "qr_png", "qr_svg"]

QUIET_ZONE = 4  # modules of light margin around the symbol (ISO/IEC 18004)
MM_PER_INCH = 25.4


def matrix_runs(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Horizontal runs of dark modules: ``(rows, starts, lengths)`` as int arrays."""
    n_rows, n_cols = matrix.shape
    padded = np.zeros((n_rows, n_cols + 2), dtype=np.int8)
    padded[:, 1:-1] = matrix
    edges = np.diff(padded, axis=1)  # +1 where a run starts, -1 one past where it ends
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    return rows, starts, ends - starts


def _check_size(size_mm: float) -> None:
    if not size_mm > 0:
        raise ValueError(f"size_mm must be positive, got {size_mm!r}")


def qr_png(data: str, *, size_mm: float = 20, dpi: int = 300, ec: str = "M") -> bytes:
    """A 1-bit PNG of the code with a 4-module quiet zone, ``size_mm`` wide at ``dpi``.

    Every module is the same whole number of pixels (no resampling, so edges stay crisp); the
    pixel count is the multiple of the module count closest to ``size_mm`` at ``dpi``, and the
    dpi is recorded in the PNG so it prints at that size.
    """
    from PIL import Image

    _check_size(size_mm)
    if not dpi > 0:
        raise ValueError(f"dpi must be positive, got {dpi!r}")
    matrix = qr_matrix(data, ec)
    total = matrix.shape[0] + 2 * QUIET_ZONE
    target_px = size_mm / MM_PER_INCH * dpi
    scale = max(1, round(target_px / total))
    light = np.ones((total, total), dtype=bool)
    light[QUIET_ZONE:-QUIET_ZONE, QUIET_ZONE:-QUIET_ZONE] = ~matrix
    pixels = np.repeat(np.repeat(light, scale, axis=0), scale, axis=1)
    image = Image.fromarray(pixels)  # bool array -> mode "1" (1 bit per pixel)
    buf = io.BytesIO()
    image.save(buf, format="PNG", dpi=(dpi, dpi), optimize=True)
    return buf.getvalue()


def qr_svg(data: str, *, size_mm: float = 20, ec: str = "M") -> str:
    """An SVG of the code: one ``<path>`` of merged horizontal runs on a white square.

    ``width``/``height`` are in mm, the ``viewBox`` is in modules (quiet zone included), and
    ``shape-rendering="crispEdges"`` keeps module edges sharp.
    """
    _check_size(size_mm)
    matrix = qr_matrix(data, ec)
    total = matrix.shape[0] + 2 * QUIET_ZONE
    rows, starts, lengths = matrix_runs(matrix)
    path = "".join(
        f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{w}v1h-{w}z"
        for y, x, w in zip(rows.tolist(), starts.tolist(), lengths.tolist(), strict=True)
    )
    size = f"{size_mm:g}mm"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{size}" height="{size}" '
        f'viewBox="0 0 {total} {total}" shape-rendering="crispEdges">'
        f'<rect width="{total}" height="{total}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>\n'
    )
