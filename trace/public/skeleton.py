"""The batch page as stored for every worker (:mod:`trace.codeview.store`): rendered once per
batch, language, link type and kind of code, with stand-ins for what differs between the codes
of a batch (the code, the report form's token, the language links) and markers for the sections
spliced in per view (scans, the verified mark)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from flask import Flask, render_template
from flask_babel import get_translations
from jinja2.ext import _make_new_gettext, _make_new_ngettext
from markupsafe import Markup

from trace.models import CodeKind
from trace.services import lookup

SCANS_MARKER = "<!--scans-->"
VERIFIED_MARKER = "<!--verified-->"
# Stand-ins for what differs between the codes of one batch, rendered into its skeleton page.
CODE_SLOT = "__trace_code__"
TOKEN_SLOT = "__trace_form_token__"
LANG_SLOT = "__trace_lang_{}__"


def _stand_in(target: lookup.Target) -> lookup.Target:
    return dataclasses.replace(target, code=CODE_SLOT) if target.code is not None else target


def render_skeleton(target: lookup.Target, data: lookup.PageData, mode: str, **extra: Any) -> str:
    """The batch page with stand-ins (needs a request context in the page's language);
    ``extra``: more template variables (:func:`_bound_gettext`)."""
    has_code = target.code is not None
    return render_template(
        "public/batch.html",
        target=_stand_in(target),
        data=data,
        mode=mode,
        scans_marker=Markup(SCANS_MARKER),
        verified_marker=Markup(VERIFIED_MARKER),
        form_token=TOKEN_SLOT if has_code else None,
        title=CODE_SLOT if has_code else target.lot_code,
        lang_url=LANG_SLOT.format,
        **extra,
    )


def render_stored(
    app: Flask, target: lookup.Target, data: lookup.PageData, mode: str, lang: str
) -> str:
    """The skeleton in ``lang`` outside a request (the verifier's pass prepares pages)."""
    return render_stored_all(app, [target], data, mode, lang)[0]


def render_stored_all(
    app: Flask, targets: Sequence[lookup.Target], data: lookup.PageData, mode: str, lang: str
) -> list[str]:
    """The skeletons of one batch in ``lang`` for these stand-in targets (its kinds and statuses
    of code), in one context. The page through a batch-level code is the page through a unit
    code without its serial line (``public/_serial.html``, the only part the kind of code
    changes): it is cut from the unit page rather than rendered again, which halves the
    verifier's renders; where the cut is not exact (the line not found once) it is rendered."""
    # A context of its own per batch and language: the language (and Flask-Babel's locale) is
    # kept in g.
    with app.app_context(), app.test_request_context(f"/?lang={lang}"):
        bound = _bound_gettext()
        made: dict[tuple[bool, bool], str] = {}
        order = sorted(range(len(targets)), key=lambda i: not targets[i].is_unit)
        bodies: list[str] = [""] * len(targets)
        for index in order:
            target = targets[index]
            shape = (target.is_unit, target.code is not None)
            if shape not in made:
                made[shape] = _cut_serial(made.get((True, True)), target) or render_skeleton(
                    target, data, mode, **bound
                )
            bodies[index] = made[shape]
        return bodies


def _bound_gettext() -> dict[str, Any]:
    """The templates' ``gettext`` and ``ngettext`` bound to this context's catalogue, as
    template variables (they take precedence over the environment's). Flask-Babel's own look
    the catalogue up again for every string, seventy a page: about 40 % of the verifier's
    render. Jinja's newstyle wrappers (escaping, ``%`` formatting, ``num``) are the ones the
    environment installs; a test compares the pages with those rendered the views' way."""
    translations = get_translations()
    return {
        "gettext": _make_new_gettext(translations.ugettext),
        "ngettext": _make_new_ngettext(translations.ungettext),
    }


def _cut_serial(unit_page: str | None, target: lookup.Target) -> str | None:
    """The page of ``target`` (through a batch-level code) cut from ``unit_page``, or None."""
    if unit_page is None or target.is_unit or target.code is None:
        return None
    unit = dataclasses.replace(_stand_in(target), kind=CodeKind.UNIT)
    line = render_template("public/_serial.html", target=unit)
    if unit_page.count(line) != 1:
        return None
    return unit_page.replace(line, "", 1)
