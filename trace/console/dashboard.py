"""The province dashboard (``/console/dashboard``): a centre's province, or any province (or
all) for an inspector or an administrator, from the rollups of
:mod:`trace.services.dashboard`; and the events behind its "events this week" figure. Every
figure links to the list behind it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, current_app, request, url_for

from trace.console import auth, charts
from trace.console.pages import PAGE_SIZE, render
from trace.db import db
from trace.models import Role
from trace.provinces import PROVINCES, VIETNAM
from trace.public.i18n import page_language
from trace.services import dashboard


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/dashboard", "dashboard", dashboard_page, methods=["GET"])
    bp.add_url_rule("/dashboard/events", "week_events", week_events_page, methods=["GET"])


def link(endpoint: str, **params: Any) -> str:
    """``url_for(endpoint, **params)`` without the parameters that are ``None``."""
    return url_for(endpoint, **{k: v for k, v in params.items() if v is not None})


def _asked() -> str | None:
    asked = request.args.get("province", "")[:2]
    return asked if asked in PROVINCES else None


def figure_links(province: str | None) -> dict[str, str]:
    """Where each figure leads: the list behind it, with the province when one was picked."""
    p = province if province in PROVINCES else None
    return {
        "producers": link("console.organisations", kind="producer", province=p),
        "cooperatives": link("console.organisations", kind="cooperative", province=p),
        "products": link("console.products", province=p),
        "active_batches": link("console.batches", status="active", province=p),
        "recalled_batches": link("console.batches", status="recalled", province=p),
        "events_week": link("console.week_events", province=p),
        "scans_30d": link("console.scans", days=30),
        "open_reports": link("console.reports", status="open", province=p),
        "flagged_codes": link("console.flags", province=p),
    }  # fmt: skip


@auth.signed_in
def dashboard_page() -> Response:
    actor = auth.current_actor()
    board = dashboard.read(db.session, actor, _asked())
    return render(
        "console/centre/dashboard.html",
        board=board,
        links=figure_links(board.province_code),
        days_chart=charts.days_chart(board.days),
        places_chart=charts.places_chart(board.places),
        provinces=PROVINCES,
        picker=actor.role is not Role.CENTRE,
        every_minutes=round(float(current_app.config["DASHBOARD_ROLLUP_SECONDS"]) / 60),
    )


@auth.signed_in
def week_events_page() -> Response:
    actor = auth.current_actor()
    try:
        page = max(1, min(int(request.args.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    province = dashboard.province_for(actor, _asked())
    rows, more = dashboard.week_events(db.session, actor, _asked(), PAGE_SIZE, page)
    return render(
        "console/centre/week_events.html",
        rows=rows,
        more=more,
        page=page,
        province=province,
        asked=_asked(),
    )


def vietnam_time(moment: dt.datetime) -> str:
    """``HH:MM, DD/MM/YYYY`` in Vietnam's time: when the figures were counted."""
    return moment.astimezone(VIETNAM).strftime("%H:%M, %d/%m/%Y")


#: the thousands separator of whole numbers in each language (as Babel writes them)
GROUPING = {"vi": ".", "en": ","}


def whole(value: int) -> str:
    """A count with its thousands grouped, as the ``number`` filter writes it, without Babel's
    formatting (about half a millisecond a number: the dashboard shows some 150)."""
    return format(int(value), ",").replace(",", GROUPING.get(page_language(), "."))
