"""The stored pages of one batch in one language (:func:`skeleton.render_stored_all`): the page
through a batch-level code is cut from the page through a unit code, and must be exactly the
page rendered for it, in each language, with and without a serial line's look-alikes."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from tests.public.conftest import Chain
from trace.models import CodeKind, CodeStatus
from trace.public import skeleton, views
from trace.services import lookup


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_batch_code_page_cut_from_the_unit_page_is_the_one_rendered(
    app: Flask, chain: Chain, session: Session, lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = lookup.batch_targets(session, [chain.juice.id])[chain.juice.id]
    data = lookup.batch_page(session, chain.juice.id, verify=False)
    unit = dataclasses.replace(batch, code="-", kind=CodeKind.UNIT, status=CodeStatus.PRINTED)
    lot = dataclasses.replace(unit, kind=CodeKind.BATCH)
    rendered: list[Any] = []
    real = skeleton.render_skeleton

    def counting(target: lookup.Target, *args: Any, **kwargs: Any) -> str:
        rendered.append(target.kind)
        return real(target, *args, **kwargs)

    monkeypatch.setattr(skeleton, "render_skeleton", counting)
    lot_page, unit_page = skeleton.render_stored_all(app, [lot, unit], data, "pip", lang)
    assert rendered == [CodeKind.UNIT]  # the batch-code page was cut, not rendered
    assert lot_page == skeleton.render_stored_all(app, [lot], data, "pip", lang)[0]
    assert rendered == [CodeKind.UNIT, CodeKind.BATCH]
    assert lot_page != unit_page and len(unit_page) > len(lot_page)
    assert skeleton.CODE_SLOT in lot_page


def test_a_page_whose_serial_line_is_not_found_once_is_rendered(
    app: Flask, chain: Chain, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lot code that looks like the serial line (the text occurs twice): no cut, a render."""
    batch = lookup.batch_targets(session, [chain.batch.id])[chain.batch.id]
    data = lookup.batch_page(session, chain.batch.id, verify=False)
    with app.test_request_context("/?lang=en"):
        line = skeleton.render_template(
            "public/_serial.html",
            target=dataclasses.replace(batch, code=skeleton.CODE_SLOT, kind=CodeKind.UNIT),
        )
    data.product["description_en"] = line  # escaped on the page: not the line itself
    unit = dataclasses.replace(batch, code="-", kind=CodeKind.UNIT)
    lot = dataclasses.replace(unit, kind=CodeKind.BATCH)
    monkeypatch.setattr(skeleton, "_cut_serial", lambda page, target: None)
    expected = skeleton.render_stored_all(app, [lot, unit], data, "pip", "en")
    monkeypatch.undo()
    assert skeleton.render_stored_all(app, [lot, unit], data, "pip", "en") == expected


READINGS = {"vi": "2 lần đo", "en": "2 readings"}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_verifiers_pages_are_the_pages_a_view_renders(
    app: Flask, chain: Chain, session: Session, lang: str
) -> None:
    """The verifier renders with gettext bound to the language's catalogue once; a view
    renders with Flask-Babel's. Same pages: temperatures (ngettext), inputs, both kinds."""
    pages = {}
    for batch_id in (chain.batch.id, chain.juice.id):
        batch = lookup.batch_targets(session, [batch_id])[batch_id]
        data = lookup.batch_page(session, batch_id, verify=False)
        unit = dataclasses.replace(batch, code="-", kind=CodeKind.UNIT, status=CodeStatus.PRINTED)
        lot = dataclasses.replace(unit, kind=CodeKind.BATCH)
        stored = skeleton.render_stored_all(app, [unit, lot], data, "pip", lang)
        with app.test_request_context(f"/?lang={lang}"):
            viewed = [skeleton.render_skeleton(t, data, "pip") for t in (unit, lot)]
        assert stored == viewed
        pages[batch_id] = stored[0]
    assert READINGS[lang] in pages[chain.batch.id]  # ngettext, with its number
    assert "LN2606-A01" in pages[chain.juice.id]  # made from the lychee lot


def _reference_cut(page: str) -> tuple[str, ...]:
    """What ``cut`` must return: a split at the stand-ins, kept (a group in the pattern)."""
    pattern = "(" + "|".join(re.escape(s) for s in sorted(views.STAND_INS)) + ")"
    return tuple(re.split(pattern, page))


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_skeleton_is_cut_at_its_stand_ins_and_nowhere_else(
    app: Flask, chain: Chain, session: Session, lang: str
) -> None:
    batch = lookup.batch_targets(session, [chain.juice.id])[chain.juice.id]
    data = lookup.batch_page(session, chain.juice.id, verify=False)
    unit = dataclasses.replace(batch, code="-", kind=CodeKind.UNIT, status=CodeStatus.PRINTED)
    (page,) = skeleton.render_stored_all(app, [unit], data, "pip", lang)
    parts = views.cut(page)
    assert parts == _reference_cut(page)
    assert set(parts[1::2]) == views.STAND_INS  # each stand-in found, in a page of every kind
    assert "".join(parts) == page
    assert all(s.startswith("__trace_") and s.endswith("__") for s in views.STAND_INS)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "__trace_",
        "a__trace_b",
        "__trace_code____trace_code__",
        "__trace_code__trace_code__",  # the end of one is the start of a look-alike
        "__trace_" + "x" * 5000 + "__trace_code__",  # a long name: looked at no further
        "x__trace_code",  # the prefix and a name, no end: text
        "x__trace_nothing__y__trace_form_token__z",
        "__trace___trace_lang_vi__end",
        "Vải __trace_lang_en__ thiều __trace_",
    ],
)
def test_text_that_looks_like_a_stand_in_is_left_as_it_is(text: str) -> None:
    assert views.cut(text) == _reference_cut(text)
    assert "".join(views.cut(text)) == text
