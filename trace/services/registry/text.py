"""Accent-folded search text, so ``vai thieu`` finds ``Vải thiều``."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())


def search_text(*parts: str | None) -> str:
    return fold(" ".join(p for p in parts if p))[:600]
