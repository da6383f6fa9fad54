"""Language of the public pages: Vietnamese by default, English by ``?lang=en`` or
Accept-Language; numbers in the page language's format (Babel/CLDR).

Dates: Vietnamese as people in Vietnam write them, 08/06/2026 and 05:30 (CLDR's medium style
gives "8 thg 6, 2026"); English keeps CLDR's "Jun 8, 2026, 5:30 AM", whose month name leaves no
doubt which number is the day. The printable inspection reports (Vietnamese first, English
beside it) use the numeric Vietnamese form through the ``vn_date`` and ``vn_datetime`` filters.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from urllib.parse import quote, urlencode

from babel import support
from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from flask import Flask, current_app, g, request
from flask_babel import Babel
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from trace.provinces import VIETNAM
from trace.public.client import CACHED_HEADER_LENGTH, arg
from trace.units import UNITS

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"


def page_language() -> str:
    """``?lang=`` when it names a supported language, else Accept-Language, else Vietnamese."""
    cached = g.get("_page_language")
    if cached:
        return str(cached)
    asked = arg("lang").strip().lower()[:5]
    accept = request.environ.get("HTTP_ACCEPT_LANGUAGE")
    if asked[:2] in LANGUAGES:
        lang = asked[:2]
    elif not accept:
        lang = DEFAULT_LANGUAGE  # most phones send one, but no need to parse an absent header
    elif len(accept) > CACHED_HEADER_LENGTH:  # parsed, never kept: a client can make up many
        lang = _best_language.__wrapped__(accept)
    else:
        lang = _best_language(accept)
    g._page_language = lang
    return lang


@lru_cache(maxsize=1024)
def _best_language(accept: str) -> str:
    """The language an Accept-Language header asks for, parsed once per distinct header (a few
    phone models and browsers send most of them; parsing took a tenth of a first view)."""
    parsed = parse_accept_header(accept, LanguageAccept)
    return str(parsed.best_match(LANGUAGES, default=DEFAULT_LANGUAGE))


def translations(lang: str) -> support.Translations:
    """The message catalog of ``lang``, loaded once per process (Flask-Babel's own lookup
    resolves the request's locale on every call, too slow for the per-view parts of a page)."""
    directories = tuple(current_app.extensions["babel"].translation_directories)
    return _load_translations(directories, lang)


@lru_cache(maxsize=16)
def _load_translations(directories: tuple[str, ...], lang: str) -> support.Translations:
    merged = support.Translations()
    for directory in directories:
        catalog = support.Translations.load(directory, [lang], "messages")
        if isinstance(catalog, support.Translations):  # else no catalogue: merging is a no-op
            merged.merge(catalog)
        if hasattr(catalog, "plural"):
            merged.plural = catalog.plural
    return merged


def init_babel(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Ho_Chi_Minh")
    Babel(app, locale_selector=page_language)
    app.jinja_env.filters.update(
        local_datetime=local_datetime,
        local_date=local_date,
        number=number,
        vn_date=vn_date,
        vn_datetime=vn_datetime,
    )
    app.jinja_env.globals.update(
        page_language=page_language, lang_url=lang_url, unit_name=unit_name
    )


def _offset_label(moment: dt.datetime) -> str:
    offset = moment.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def local_datetime(moment: dt.datetime | None, with_zone: bool = True) -> str:
    """A moment in its own offset (events keep theirs; others are shown in +07:00)."""
    if moment is None:
        return ""
    return format_moment(moment, page_language(), with_zone)


@lru_cache(maxsize=8192)
def format_moment(moment: dt.datetime, lang: str, with_zone: bool = True) -> str:
    """:func:`local_datetime` in ``lang``, remembered: Babel's formatting is slow and a unit
    code's first scan is formatted on each of its views."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if moment.utcoffset() is None or moment.tzinfo is dt.UTC:
        moment = moment.astimezone(VIETNAM)
    zone = moment.tzinfo
    if lang == "vi":
        text = f"{numeric_date(moment.date())} {moment:%H:%M}"
    else:
        text = (
            format_date(moment.date(), "medium", locale=lang)
            + " "
            + format_time(moment, "short", tzinfo=zone, locale=lang)
        )
    return f"{text} ({_offset_label(moment)})" if with_zone else text


def numeric_date(day: dt.date) -> str:
    """dd/mm/yyyy, as dates are written in Vietnam (and on the labels)."""
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def local_date(day: dt.date | dt.datetime | str | None, style: str = "medium") -> str:
    if day is None:
        return ""
    if isinstance(day, str):  # an ISO date, as the passport's parts carry them
        day = dt.date.fromisoformat(day)
    if isinstance(day, dt.datetime):
        day = day.astimezone(VIETNAM).date()
    lang = page_language()
    return numeric_date(day) if lang == "vi" else format_date(day, style, locale=lang)


def _parsed(value: str) -> dt.datetime | dt.date | None:
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        return dt.datetime.fromisoformat(text) if len(text) > 10 else dt.date.fromisoformat(text)
    except ValueError:
        return None


def _report_moment(moment: dt.datetime) -> dt.datetime:
    """In its own offset when it has one other than UTC (an event's), else in +07:00."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if not moment.utcoffset():
        moment = moment.astimezone(VIETNAM)
    return moment


def vn_date(value: dt.date | dt.datetime | str | None) -> str:
    """A date in the reports: dd/mm/yyyy (a moment's, as :func:`vn_datetime` places it);
    anything that is not a date is shown as it is."""
    if value is None or value == "":
        return ""
    day = _parsed(value) if isinstance(value, str) else value
    if day is None:
        return str(value)
    if isinstance(day, dt.datetime):
        day = _report_moment(day).date()
    return numeric_date(day)


def vn_datetime(value: dt.datetime | str | None) -> str:
    """A moment in the reports: ``dd/mm/yyyy HH:MM (UTC+hh:mm)``, in its own offset when it
    has one other than UTC (an event's), else in +07:00; not a moment: shown as it is."""
    if value is None or value == "":
        return ""
    moment = _parsed(value) if isinstance(value, str) else value
    if not isinstance(moment, dt.datetime):
        return str(value)
    return format_moment(_report_moment(moment), "vi")


def number(value: Decimal | float | int | None, digits: int = 3) -> str:
    if value is None:
        return ""
    return format_number(value, page_language(), digits)


def format_number(value: Decimal | float | int, lang: str, digits: int = 3) -> str:
    try:
        return format_decimal(value, format=f"#,##0.{'#' * digits}", locale=lang)
    except InvalidOperation:  # more digits than decimal arithmetic carries (stored before 10^15)
        return str(value)


def iso_datetime(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def lang_url(lang: str) -> str:
    """This page in another language (the raw path keeps a %2F inside a Digital Link value).

    Only ``linkType`` is carried over: the page is cached per language and link type, so any
    other argument of the request that rendered it (``?province=``) must not end up in the links
    every later visitor gets."""
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    path = raw.partition("?")[0] if raw else quote(request.path)
    if not environ.get("QUERY_STRING"):  # most scans: no arguments to parse
        return f"{path}?lang={lang}"
    args = [("linkType", v) for v in request.args.getlist("linkType")]
    return path + "?" + urlencode([*args, ("lang", lang)])


def unit_name(code: str | None) -> str:
    if not code:
        return ""
    names = UNITS.get(code)
    if names is None:
        return code
    return names[1] if page_language() == "en" else names[0]
