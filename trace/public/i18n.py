"""Language of the public pages: Vietnamese by default, English by ``?lang=en`` or
Accept-Language; dates, times and numbers in the page language's format (Babel/CLDR)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from urllib.parse import quote, urlencode

from babel import support
from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from flask import Flask, current_app, g, request
from flask_babel import Babel

from trace.provinces import VIETNAM
from trace.public.client import arg
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
    else:
        lang = request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)
    g._page_language = lang
    return lang


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
    text = (
        format_date(moment.date(), "medium", locale=lang)
        + " "
        + format_time(moment, "short", tzinfo=zone, locale=lang)
    )
    return f"{text} ({_offset_label(moment)})" if with_zone else text


def local_date(day: dt.date | dt.datetime | None, style: str = "medium") -> str:
    if day is None:
        return ""
    if isinstance(day, dt.datetime):
        day = day.astimezone(VIETNAM).date()
    return format_date(day, style, locale=page_language())


def number(value: Decimal | float | int | None, digits: int = 3) -> str:
    if value is None:
        return ""
    return format_number(value, page_language(), digits)


def format_number(value: Decimal | float | int, lang: str, digits: int = 3) -> str:
    return format_decimal(value, format=f"#,##0.{'#' * digits}", locale=lang)


def iso_datetime(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def lang_url(lang: str) -> str:
    """This page in another language (the raw path keeps a %2F inside a Digital Link value).

    Only ``linkType`` is carried over: the page is cached per language and link type, so any
    other argument of the request that rendered it (``?province=``) must not end up in the links
    every later visitor gets."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    path = raw.partition("?")[0] if raw else quote(request.path)
    args = [("linkType", v) for v in request.args.getlist("linkType")]
    return path + "?" + urlencode([*args, ("lang", lang)])


def unit_name(code: str | None) -> str:
    if not code:
        return ""
    names = UNITS.get(code)
    if names is None:
        return code
    return names[1] if page_language() == "en" else names[0]
