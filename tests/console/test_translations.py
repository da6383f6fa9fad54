"""Every string of the console's pages and messages has its Vietnamese and English entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2] / "trace"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}
METHODS = [
    ("console/**.py", "python"),
    ("templates/console/**.html", "jinja2"),
]


def _console_msgids() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        METHODS,
        keywords=KEYWORDS,
        options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_console_string_is_translated(lang: str) -> None:
    with open(ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    ids = _console_msgids()
    assert len(ids) > 150  # the extraction found the pages' strings
    untranslated = []
    for msgid in sorted(ids):
        message = catalog.get(msgid)
        text = message.string if message is not None else None
        if not text or (isinstance(text, tuple) and not all(text)):
            untranslated.append(msgid)
    assert untranslated == []
