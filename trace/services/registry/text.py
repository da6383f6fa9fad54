"""Accent-folded search text, so ``vai thieu`` finds ``Vải thiều``; what text may be stored."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())


def search_text(*parts: str | None) -> str:
    return fold(" ".join(p for p in parts if p))[:600]


def storable_problem(value: str) -> str | None:
    """Why a string cannot be stored alike on SQLite and PostgreSQL, or None when it can: NUL
    is refused by PostgreSQL's text type, a lone surrogate cannot be encoded as UTF-8."""
    if "\x00" in value:
        return "must not contain a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain a lone surrogate (invalid Unicode)"
    return None
