"""Scans of the user's codes: per day, per province, each code's first and latest scan, and the
codes the copy warning flagged (:func:`trace.services.inspection.signals.suspicious_codes`,
with the API's default settings). Scoped by the services: a producer sees its own codes only."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, current_app, request

from trace.console import auth
from trace.console.pages import render
from trace.db import db
from trace.services import scan_summary
from trace.services.inspection import signals

PERIODS = (7, 30, 90)
FLAGGED_LIMIT = 50


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/scans", "scans", scans_page, methods=["GET"])


@auth.signed_in
def scans_page() -> Response:
    try:
        days = int(request.args.get("days", "30"))
    except ValueError:
        days = 30
    if days not in PERIODS:
        days = 30
    session, actor, config = db.session, auth.current_actor(), current_app.config
    summary = scan_summary.summarize(session, actor, days=days)
    flagged = signals.suspicious_codes(
        session,
        actor,
        since=summary.since,
        until=summary.until,
        window=dt.timedelta(hours=float(config["SUSPICIOUS_WINDOW_HOURS"])),
        min_clients=int(config["SUSPICIOUS_MIN_CLIENTS"]),
        min_km=float(config["SUSPICIOUS_MIN_KM"]),
        limit=FLAGGED_LIMIT,
    )
    busiest = max((d.scans for d in summary.days), default=0)
    return render(
        "console/scans.html",
        summary=summary,
        flagged=flagged,
        days=days,
        periods=PERIODS,
        busiest=busiest,
    )
