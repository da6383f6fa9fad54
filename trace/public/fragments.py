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

from trace.public.i18n import format_moment, format_number, translations
from trace.services.scans import ScanStats


def _(text: str) -> str:
    """Marks a string for extraction; :func:`scans_section` translates it."""
    return text


def ngettext(singular: str, plural: str, n: int) -> tuple[str, str, int]:
    """Marks a plural message for extraction; :func:`scans_section` translates it."""
    return singular, plural, n


COPY_TITLE = _("This label may be a copy")
COPY_TEXT = _(
    "This unit's code has been scanned by many different people or in several places. A genuine "
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
