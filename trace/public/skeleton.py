"""The batch page as stored for every worker (:mod:`trace.codeview.store`): rendered once per
batch, language, link type and kind of code, with stand-ins for what differs between the codes
of a batch (the code, the report form's token, the language links) and markers for the sections
spliced in per view (scans, the verified mark)."""

from __future__ import annotations

import dataclasses

from flask import Flask, render_template
from markupsafe import Markup

from trace.services import lookup

SCANS_MARKER = "<!--scans-->"
VERIFIED_MARKER = "<!--verified-->"
# Stand-ins for what differs between the codes of one batch, rendered into its skeleton page.
CODE_SLOT = "__trace_code__"
TOKEN_SLOT = "__trace_form_token__"
LANG_SLOT = "__trace_lang_{}__"


def render_skeleton(target: lookup.Target, data: lookup.PageData, mode: str) -> str:
    """The batch page with stand-ins (needs a request context in the page's language)."""
    has_code = target.code is not None
    stand_in = dataclasses.replace(target, code=CODE_SLOT) if has_code else target
    return render_template(
        "public/batch.html",
        target=stand_in,
        data=data,
        mode=mode,
        scans_marker=Markup(SCANS_MARKER),
        verified_marker=Markup(VERIFIED_MARKER),
        form_token=TOKEN_SLOT if has_code else None,
        title=CODE_SLOT if has_code else target.lot_code,
        lang_url=LANG_SLOT.format,
    )


def render_stored(
    app: Flask, target: lookup.Target, data: lookup.PageData, mode: str, lang: str
) -> str:
    """The skeleton in ``lang`` outside a request (the verifier's pass prepares pages)."""
    # A context of its own per page: the language (and Flask-Babel's locale) is kept in g.
    with app.app_context(), app.test_request_context(f"/?lang={lang}"):
        return render_skeleton(target, data, mode)
