"""The public routes: ``/q/<code>``, the Digital Link paths, reports, the resolver description.

Views stay thin: resolve what was scanned, read its freshness and scan statistics and record the
scan (:mod:`trace.codeview.pageview`: one statement on PostgreSQL), then answer a conditional
request or render (cached by freshness, :mod:`trace.public.cache`; the per-view scan section from
:mod:`trace.public.fragments`).

A conditional GET answered with 304 is still a person looking at the page, so it is recorded as
a scan; HEAD requests and prefetches (``Purpose``/``Sec-Purpose: prefetch``) are not.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, render_template, request
from markupsafe import escape
from werkzeug.http import http_date

from trace.codeview import ledgercheck, pageview, scans, store
from trace.db import db
from trace.gs1 import DigitalLink, DigitalLinkError, parse_digital_link_path
from trace.models import Batch
from trace.public import client, fragments, resolver, skeleton
from trace.public.cache import cache, cached
from trace.public.i18n import LANGUAGES, lang_url, page_language
from trace.public.presenters import JSON, facility_json, json_response, page_json, product_json
from trace.services import lookup
from trace.services.passport import DPP_LINK_TYPE, passport


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/q/<code>", view_func=code_page, methods=["GET"])
    bp.add_url_rule("/q/<code>/", view_func=code_page, methods=["GET"])
    bp.add_url_rule("/01/<path:rest>", view_func=digital_link, methods=["GET"])
    bp.add_url_rule("/414/<path:rest>", view_func=digital_link, methods=["GET"])
    bp.add_url_rule("/.well-known/gs1resolver", view_func=well_known, methods=["GET"])


# Negotiation ---------------------------------------------------------------------------------


def wanted() -> str:
    """``html``, ``json``, ``linkset``, ``recall`` or ``passport``, from linkType and the Accept
    header (the passport is JSON: a browser asking for ``gs1:dpp`` gets the page)."""
    link_type = client.arg("linkType")
    accept = request.environ.get("HTTP_ACCEPT", "")
    if not link_type and "json" not in accept:
        return "html"  # a browser or a bare client: no negotiation to do
    if link_type in resolver.LINKSET_LINK_TYPES:
        return "linkset"
    if link_type == "gs1:recallStatus":
        return "recall"
    best = request.accept_mimetypes.best_match(["text/html", JSON, resolver.LINKSET_TYPE])
    if best == resolver.LINKSET_TYPE:
        return "linkset"
    if best == JSON and request.accept_mimetypes[JSON] > request.accept_mimetypes["text/html"]:
        return "passport" if link_type == DPP_LINK_TYPE else "json"
    return "html"


def _vary(response: Response) -> Response:
    response.vary.update(("Accept", "Accept-Language"))
    return response


# Code pages ----------------------------------------------------------------------------------


def code_page(code: str) -> Response:
    form = wanted()
    view = pageview.view_code(code, _new_scan(form), _wanted(form), **_copy_thresholds())
    page_url = f"{current_app.config['PUBLIC_URL']}/q/{view.target.code}"
    levels = [(page_url, page_url, _description(view.target), True)]
    return respond(view, levels, form)


def _mode() -> str:
    return "trace" if client.arg("linkType") == "gs1:traceability" else "pip"


def _wanted(form: str) -> store.Wanted | None:
    """The stored page an HTML view reads with its code (JSON and the rest need none)."""
    return store.Wanted(page_language(), _mode()) if form == "html" else None


def _copy_thresholds() -> dict[str, Any]:
    settings = current_app.config
    return {
        "copy_clients": int(settings["PUBLIC_COPY_CLIENTS"]),
        "copy_hours": float(settings["PUBLIC_COPY_WINDOW_HOURS"]),
    }


def _new_scan(form: str) -> pageview.NewScan | None:
    """The scan this request records: GETs of the page (HTML or JSON), not HEAD nor prefetch,
    nor the linkset or recall status a resolver client asks for."""
    if form not in ("html", "json") or not client.counts_as_scan():
        return None
    return pageview.NewScan(client.client_hash(), page_language(), client.offered_province())


def _description(target: lookup.Target) -> str:
    kind = "unit" if target.is_unit else "lot"
    return f"{kind} {target.code or target.lot_code}"


def respond(view: pageview.View, levels: list[tuple[str, str, str, bool]], form: str) -> Response:
    """The page of a batch or unit code in the negotiated form (the scan is already recorded)."""
    target, stats = view.target, view.stats
    if form == "linkset":
        return _vary(json_response(resolver.linkset(levels), mimetype=resolver.LINKSET_TYPE))
    if form == "recall":
        return _vary(json_response(lookup.recall_status(db.session, target)))
    if form == "passport":
        return _vary(_passport(target))
    if view.check_read:  # read with the code: the batch's check needs no read of its own
        cache().put(("check", target.batch_id), _check_ttl(), view.check, target.batch_id)
    lang = page_language()
    mode = _mode()
    period = client.token_period() if form == "html" else None
    etag = "-".join(
        [
            target.freshness.token,
            str(target.status),
            lang,
            form,
            mode,
            "copy" if stats and stats.suspicious else "ok",
            # The page carries a report form token: a stored copy is reused only while fresh.
            *([str(period)] if period is not None else []),
        ]
    )
    last_modified, last_modified_text = target.freshness.last_modified, target.freshness.http_date
    if period is not None:  # no older than its form token (If-Modified-Since must not revive it)
        signed, signed_text = _period_start(period, client.form_max_age())
        if signed > last_modified:
            last_modified, last_modified_text = signed, signed_text
    headers = [
        ("ETag", f'W/"{etag}"'),
        ("Last-Modified", last_modified_text),
        ("Cache-Control", "no-cache"),
        (
            "Link",
            f'<{levels[0][1]}?linkType=linkset>; rel="linkset"; type="{resolver.LINKSET_TYPE}"',
        ),
        ("Vary", "Accept, Accept-Language"),
    ]
    if _not_modified(etag, last_modified):
        return Response(status=304, headers=headers)
    if form == "json":
        response = json_response(_json_body(target, stats))
        response.headers.extend(headers)
        return response
    status = 410 if target.voided else 200
    # Headers handed over as one list: this runs on every view, and werkzeug checks each
    # ``headers[...] =`` against the ones already set.
    body = _html(target, stats, lang, mode, period, view.page)
    return Response(body, status, headers, mimetype="text/html")


@lru_cache(maxsize=4)
def _period_start(period: int, max_age: int) -> tuple[dt.datetime, str]:
    """The start of a form token period (:func:`client.token_period_start`) and its HTTP date,
    formatted once per period."""
    start = client.token_period_start(period, max_age)
    return start, http_date(start)


def _passport(target: lookup.Target) -> Response:
    """The batch's digital product passport (``schemas/passport.schema.json``)."""
    if target.voided:
        body = {"code": target.code, "code_status": "voided", "passport": None}
        return json_response(body, status=410)
    key = ("dpp", target.batch_id, target.freshness.token)
    public_url = current_app.config["PUBLIC_URL"]
    document = cached(
        key,
        lambda: passport(db.session, db.session.get_one(Batch, target.batch_id), public_url),
        target.batch_id,
    )
    return json_response(document)


def _not_modified(etag: str, last_modified: dt.datetime) -> bool:
    environ = request.environ
    if "HTTP_IF_NONE_MATCH" in environ:
        return request.if_none_match.contains_weak(etag)
    if "HTTP_IF_MODIFIED_SINCE" not in environ:
        return False
    since = request.if_modified_since
    return since is not None and last_modified.replace(microsecond=0) <= since


def _data(target: lookup.Target) -> lookup.PageData:
    key = ("data", target.batch_id, target.freshness.token)
    return cached(key, lambda: store.page_data(db.session, target), target.batch_id)


CHECK_SECONDS = 30.0  # how long a process reuses a batch's verifier check it has read


def _check(batch_id: int) -> ledgercheck.Check | None:
    return cache().get_or_make(
        ("check", batch_id), _check_ttl(), lambda: store.read("", batch_id)[1], batch_id
    )


def _verification(target: lookup.Target) -> lookup.Verification:
    """The verifier's check while it is at most :data:`ledgercheck.MAX_AGE` old (a process
    reuses what it read for :data:`CHECK_SECONDS`), else a check at view time (reused while
    the batch is unchanged, for at most ``PUBLIC_CACHE_SECONDS``)."""
    check = _check(target.batch_id)
    if check is not None and check.current(dt.datetime.now(dt.UTC)):
        return check.verification
    key = ("verify", target.batch_id, target.freshness.token)
    return cached(key, lambda: lookup.verify_batch(db.session, target.batch_id), target.batch_id)


def _json_body(target: lookup.Target, stats: scans.ScanStats | None) -> dict[str, Any]:
    return page_json(
        target, _data(target), stats, current_app.config["PUBLIC_URL"], _verification(target)
    )


SCANS_MARKER_BYTES = skeleton.SCANS_MARKER.encode()
VERIFIED_MARKER_BYTES = skeleton.VERIFIED_MARKER.encode()
CODE_SLOT, TOKEN_SLOT, LANG_SLOT = skeleton.CODE_SLOT, skeleton.TOKEN_SLOT, skeleton.LANG_SLOT


def _html(
    target: lookup.Target,
    stats: scans.ScanStats | None,
    lang: str,
    mode: str,
    period: int | None,
    stored: str | None = None,
) -> bytes:
    """The page, with the unit code's scan section filled in.

    Rendered in two cached steps, both keyed by the batch's freshness: once per batch, language,
    link type and kind of code, a skeleton with stand-ins for the code, the report form's token
    and the language links; then once per code, URL and token period, the skeleton with those
    filled in (the token is signed then; :func:`client.token_period`). A batch's ten thousand
    unit codes thus cost one template rendering, not ten thousand. ``stored``: the skeleton
    read with the code (PostgreSQL's first view), if it was stored."""
    if target.voided:
        return render_template(
            "public/voided.html", target=target, form_token=client.form_token(target.code or "")
        ).encode()
    fresh = target.freshness.token
    # ``period``: :func:`client.token_period`; no cached page carries a token older than it
    key = ("html", target.code_id, request.environ.get("PATH_INFO"), fresh, lang, mode, period)
    # Kept encoded: encoding 12 KB of Vietnamese text on every view costs more than the splice.
    page: bytes = cached(
        key,
        lambda: _fill(_skeleton(target, lang, mode, stored), target).encode(),
        target.batch_id,
    )
    verification = _verification(target)
    mark = cached(
        ("verified", lang, verification),
        lambda: fragments.verified_section(verification, lang).encode(),
    )
    page = page.replace(VERIFIED_MARKER_BYTES, mark, 1)
    if stats is not None:
        section = fragments.scans_section(stats, lang).encode()
        page = page.replace(SCANS_MARKER_BYTES, section, 1)
    return page


def _skeleton(target: lookup.Target, lang: str, mode: str, stored: str | None) -> tuple[str, ...]:
    """The batch's page with stand-ins: from this process's cache, else from the pages stored
    for every worker (read with the batch's verifier check), else rendered now and stored.
    Kept cut at its stand-ins (:func:`_fill`)."""
    has_code = target.code is not None
    key = ("skeleton", target.batch_id, target.freshness.token, lang, mode, target.kind, has_code)

    def make() -> str:
        if stored is not None:
            return stored
        stored_key = store.store_key(target, lang, mode)
        body, check = store.read(stored_key, target.batch_id)
        cache().put(("check", target.batch_id), _check_ttl(), check, target.batch_id)
        if body is None:
            made_at = store.made_now()
            body = skeleton.render_skeleton(target, _data(target), mode)
            store.write(stored_key, target, body, made_at)
        return body

    return cached(key, lambda: cut(make()), target.batch_id)


def _check_ttl() -> float:
    return min(CHECK_SECONDS, float(current_app.config["PUBLIC_CACHE_SECONDS"]))


STAND_INS = frozenset((CODE_SLOT, TOKEN_SLOT, *map(LANG_SLOT.format, LANGUAGES)))
_PREFIX = "__trace_"  # every stand-in is ``__trace_<name>__`` (a test holds them to it)
_LONGEST = max(map(len, STAND_INS))


def cut(page: str) -> tuple[str, ...]:
    """``page`` cut at its stand-ins, which are kept at the odd places, as ``re.split`` with
    them in a group would (leftmost first): found by their common prefix, in about half the time
    the regular expression took on a 12 KB page (every first view of a batch pays it)."""
    parts = []
    start = 0
    at = page.find(_PREFIX)
    while at != -1:
        end = page.find("__", at + len(_PREFIX), at + _LONGEST)  # a name holds no "__"
        stand_in = page[at : end + 2] if end != -1 else ""
        if stand_in in STAND_INS:
            parts += [page[start:at], stand_in]
            start = end + 2
            at = page.find(_PREFIX, start)
        else:  # the prefix, not a stand-in: text
            at = page.find(_PREFIX, at + 1)
    parts.append(page[start:])
    return tuple(parts)


_LANG_SLOTS = tuple((lang, LANG_SLOT.format(lang)) for lang in LANGUAGES)


def _fill(parts: tuple[str, ...], target: lookup.Target) -> str:
    """The skeleton cut at its stand-ins (odd ``parts``), joined with what they stand for on
    this view: one pass, where a ``replace`` per stand-in went over the whole page each."""
    values = {slot: str(escape(lang_url(lang))) for lang, slot in _LANG_SLOTS}
    if target.code is not None:
        values[TOKEN_SLOT] = client.form_token(target.code)
        values[CODE_SLOT] = target.code
    page = list(parts)
    page[1::2] = [values.get(stand_in, stand_in) for stand_in in parts[1::2]]
    return "".join(page)


# Digital Link --------------------------------------------------------------------------------


def _raw_path() -> tuple[str, str]:
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        path, _, query = raw.partition("?")
    else:
        path = quote(request.path, safe="/:@!$&'()*+,;=-._~")
        query = request.query_string.decode("latin-1")
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")  # GS1: tolerate trailing slashes
    return path, query


def parse_request_link() -> DigitalLink:
    path, query = _raw_path()
    return parse_digital_link_path(path, query)


def digital_link(rest: str) -> Response:
    del rest  # the raw path is parsed instead: a %2F inside a value must not split it
    try:
        link = parse_request_link()
    except DigitalLinkError as exc:
        raise BadLink(str(exc)) from None
    if link.base:
        raise lookup.UnknownCode(link.base)
    qualifiers = dict(link.qualifiers)
    if link.primary_ai == "414" and not qualifiers:
        return facility(link.primary_value)
    if link.primary_ai != "01" or set(qualifiers) - {"10", "21"}:
        raise lookup.UnknownCode(link.primary_value)
    gtin = link.primary_value
    if not qualifiers:
        return product(gtin)
    lot, serial = qualifiers.get("10"), qualifiers.get("21")
    form = wanted()
    scan = _new_scan(form)
    if serial is not None:
        view = pageview.view_serial(gtin, serial, lot, scan, _wanted(form), **_copy_thresholds())
    else:
        assert lot is not None
        view = pageview.view_lot(gtin, lot, scan)
    return respond(view, _levels(link), form)


def _levels(link: DigitalLink) -> list[tuple[str, str, str, bool]]:
    """Each level of the request, from the full path up to the GTIN, for the linkset."""
    public_url = current_app.config["PUBLIC_URL"]
    ais = [(link.primary_ai, link.primary_value), *link.qualifiers]
    levels = []
    for n in range(len(ais), 0, -1):
        level = ais[:n]
        names = dict(level)
        if "21" in names:
            text = f"unit {names['21']}"
        elif "10" in names:
            text = f"lot {names['10']}"
        else:
            text = f"GTIN {names['01']}"
        levels.append(
            (
                resolver.gs1_anchor(level),
                public_url + resolver.own_path(level),
                text,
                n > 1,
            )
        )
    return levels


class BadLink(Exception):
    """A malformed Digital Link: answered with 400."""


def product(gtin: str) -> Response:
    public_url = current_app.config["PUBLIC_URL"]
    form = wanted()
    page_url = f"{public_url}/01/{gtin}"
    if form == "linkset":
        level = [(resolver.gs1_anchor([("01", gtin)]), page_url, f"GTIN {gtin}", False)]
        return _vary(json_response(resolver.linkset(level), mimetype=resolver.LINKSET_TYPE))
    info = lookup.product_page(db.session, gtin)
    if form == "json":
        return _vary(json_response(product_json(gtin, info)))
    return _vary(Response(render_template("public/product.html", info=info, gtin=gtin)))


def facility(gln: str) -> Response:
    place, org = lookup.facility_page(db.session, gln)
    if wanted() == "json":
        return _vary(json_response(facility_json(gln, place, org)))
    return _vary(Response(render_template("public/facility.html", place=place, org=org, gln=gln)))


def well_known() -> Response:
    return json_response(resolver.description(current_app.config["PUBLIC_URL"]))
