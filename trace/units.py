"""UN/ECE Recommendation 20 unit codes accepted for quantities (those agri-food trade uses)."""

from __future__ import annotations

UNITS: dict[str, tuple[str, str]] = {
    "KGM": ("kilôgam", "kilogram"),
    "GRM": ("gam", "gram"),
    "TNE": ("tấn", "tonne"),
    "LTR": ("lít", "litre"),
    "MLT": ("mililít", "millilitre"),
    "MTQ": ("mét khối", "cubic metre"),
    "H87": ("cái", "piece"),
    "C62": ("đơn vị", "unit"),
    "XBX": ("hộp", "box"),
    "XBO": ("chai", "bottle"),
    "XBG": ("túi", "bag"),
    "XCT": ("thùng carton", "carton"),
    "XSA": ("bao", "sack"),
    "XPK": ("kiện", "package"),
    "XCR": ("sọt", "crate"),
    "XBJ": ("xô", "bucket"),
}
