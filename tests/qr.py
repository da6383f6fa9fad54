"""Reading back the QR codes we print, with a real decoder (zxing-cpp).

QR codes only: a reader that tries every format can find a one-dimensional barcode in a QR
code's modules (seen: "7900" read beside a Digital Link URI at error correction H)."""

from __future__ import annotations

import zxingcpp
from PIL import Image


def read_qr(image: Image.Image) -> list[str]:
    """The texts of the QR codes in ``image``."""
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]
