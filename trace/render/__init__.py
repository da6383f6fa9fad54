"""Rendering that needs no database: the streaming XLSX writer and the genealogy graph layout.
(QR labels have their own engine, :mod:`trace.labels`.)"""
