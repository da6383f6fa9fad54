"""The part of a unit code's page that changes on every view: its scan count, first scan and
copy warning, spliced into the cached page (:func:`trace.public.views._html`).

Written in Python rather than as a template because it runs on every view of every unit code:
rendering a Jinja template through Flask and Flask-Babel costs far more than the page's database
work (each ``_()`` resolves the request's locale again). Here the language's catalog is looked
up once (:func:`trace.public.i18n.translations`), and the first scan's moment is formatted once
per process and language (:func:`trace.public.i18n.format_moment`). The strings are extracted
for translation like any other (``trace/translations/babel.cfg`` covers ``public/**.py``).
"""

from __future__ import annotations

import datetime as dt

from markupsafe import escape

from trace.codeview.scans import ScanStats
from trace.public.i18n import format_moment, format_number, translations
from trace.services.lookup import Verification


def _(text: str) -> str:
    """Marks a string for extraction; :func:`scans_section` translates it."""
    return text


def ngettext(singular: str, plural: str, n: int) -> tuple[str, str, int]:
    """Marks a plural message for extraction; :func:`scans_section` translates it."""
    return singular, plural, n


COPY_TITLE = _("This label may be a copy")
COPY_TEXT = _(
    "This unit's code has been scanned by many different people. A genuine "
    "label is usually scanned only by its buyer. Check the packaging carefully and report it below "
    "if in doubt."
)
CAPPED = _("This code has been scanned more than %(num)s times.")
COUNTED = ngettext(
    "This code has been scanned %(num)s time before.",
    "This code has been scanned %(num)s times before.",
    2,
)
FIRST_SCAN = _("First scanned on %(when)s.")
NEVER = _("This is the first time this code has been scanned.")


def scans_section(stats: ScanStats, lang: str) -> str:
    """The copy warning (when the code looks copied) and the scan count, as HTML."""
    catalog = translations(lang)
    gettext, ngettext_ = catalog.ugettext, catalog.ungettext
    parts = []
    if stats.suspicious:
        parts.append(
            '<section class="warn" role="alert" id="copy-warning">\n'
            f"<h2>{gettext(COPY_TITLE)}</h2>\n<p>{gettext(COPY_TEXT)}</p>\n</section>\n"
        )
    if stats.count:
        if stats.capped:
            text = gettext(CAPPED) % {"num": format_number(stats.count, lang)}
        else:
            singular, plural, _n = COUNTED
            text = ngettext_(singular, plural, stats.count) % {"num": stats.count}
        if stats.first:
            text += "\n" + gettext(FIRST_SCAN) % {"when": format_moment(stats.first, lang)}
    else:
        text = gettext(NEVER)
    parts.append(f'<section class="card" id="scans">\n<p>{text}</p>\n</section>\n')
    return "".join(parts)


VERIFIED = _("History verified")
CHECKED_NOW = ngettext(
    "The %(num)s record below is sealed in a tamper-evident ledger; it was checked just now and "
    "has not been changed since it was recorded.",
    "The %(num)s records below are sealed in a tamper-evident ledger; they were checked just now "
    "and have not been changed since they were recorded.",
    2,
)
CHECKED_AT = ngettext(
    "The %(num)s record below is sealed in a tamper-evident ledger; it was checked at %(when)s "
    "and had not been changed since it was recorded.",
    "The %(num)s records below are sealed in a tamper-evident ledger; they were checked at "
    "%(when)s and had not been changed since they were recorded.",
    2,
)
NO_STAGES = _("No stages recorded yet")
NO_STAGES_TEXT = _("The producer has not recorded any stage of this lot yet.")
NOT_VERIFIED = _("History could not be verified")
NOT_VERIFIED_TEXT = _(
    "Some records of this product no longer match what was originally recorded. Treat them with "
    "caution and report the problem below."
)
VIETNAM = dt.timezone(dt.timedelta(hours=7))


def checked_moment(moment: dt.datetime) -> str:
    """A check's time as the page states it: ``10:42, 30/11/2026`` (Vietnam time)."""
    return moment.astimezone(VIETNAM).strftime("%H:%M, %d/%m/%Y")


def verified_section(v: Verification, lang: str) -> str:
    """The "history verified" mark: checked at view time ("just now") or by the ledger
    verifier (with its time), nothing recorded yet, or the warning of a failed check."""
    catalog = translations(lang)
    gettext, ngettext_ = catalog.ugettext, catalog.ungettext
    if v.ok and v.checked:
        singular, plural, _n = CHECKED_NOW if v.checked_at is None else CHECKED_AT
        values: dict[str, object] = {"num": v.checked}
        if v.checked_at is not None:
            values["when"] = checked_moment(v.checked_at)
        title, text = gettext(VERIFIED), ngettext_(singular, plural, v.checked) % values
        mark = f'<p class="mark">✓ {escape(title)}</p>'
    elif v.ok:
        mark = f'<p class="mark">{escape(gettext(NO_STAGES))}</p>'
        text = gettext(NO_STAGES_TEXT)
    else:
        mark = f'<p class="mark error">✗ {escape(gettext(NOT_VERIFIED))}</p>'
        text = gettext(NOT_VERIFIED_TEXT)
    state = "ok" if v.ok else "bad"
    return (
        f'<section class="card {state}" id="verified">\n{mark}\n'
        f'<p class="small">{escape(text)}</p>\n</section>'
    )
