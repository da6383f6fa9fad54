"""QR labels: unit codes, QR matrices, PNG/SVG rendering and print-ready PDF label sheets.

The submodules are pure (no database, no Flask) and import nothing heavy until used:
``codes`` (making and checking unit codes), ``qr`` (fast QR matrices), ``render`` (PNG/SVG of one
code) and ``sheets`` (streaming A4 PDF label sheets).
"""
