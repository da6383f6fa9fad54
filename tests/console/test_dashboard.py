"""The province dashboard (issue 13): the rollups made by the real recurring job agree with a
direct count of the live tables; the page shows them with their time, each figure linking to
the list behind it; the charts' SVG carries the right bars in the right order; a centre sees its
own province whatever it asks, an inspector picks one (or all); a producer is refused."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.console.centre_world import Province, add_world_scans, province, run_rollup
from trace.models import ProvinceFigures, ProvinceScanDay, ProvinceScanPlace
from trace.provinces import VIETNAM
from trace.services import dashboard


@pytest.fixture
def world(session: Session, client: Any, build: Any, token: Any) -> dict[str, Province]:
    own = province(session, client, build, token, "24", "HTX Phượng Sơn", "BN")
    foreign = province(session, client, build, token, "01", "HTX Hàng Xóm", "HN")
    add_world_scans(session, own, foreign)
    return {"own": own, "foreign": foreign}


def _direct(session: Session, sql: str, **params: Any) -> int:
    return int(session.execute(text(sql), params).scalar_one())


def test_the_job_counts_what_a_direct_count_of_the_live_tables_finds(
    app: Flask, session: Session, world: dict[str, Province]
) -> None:
    run_rollup(app, session)
    now = world["own"].now
    since = dashboard.scans_since(now)
    week = dashboard.week_start(now)
    for code in ("24", "01"):
        row = session.get(ProvinceFigures, code)
        assert row is not None and 0 <= (row.as_of - now).total_seconds() < 600
        org = "SELECT id FROM organization WHERE province_code = :p"
        batches = f"SELECT id FROM batch WHERE producer_id IN ({org})"
        direct = {
            "producers": _direct(session, "SELECT count(*) FROM organization WHERE "
                                 "province_code = :p AND kind = 'producer'", p=code),
            "cooperatives": _direct(session, "SELECT count(*) FROM organization WHERE "
                                    "province_code = :p AND kind = 'cooperative'", p=code),
            "products": _direct(session, f"SELECT count(*) FROM product WHERE "
                                f"organization_id IN ({org})", p=code),
            "active_batches": _direct(session, f"SELECT count(*) FROM batch WHERE id IN "
                                      f"({batches}) AND status = 'active'", p=code),
            "recalled_batches": _direct(session, f"SELECT count(*) FROM batch WHERE id IN "
                                        f"({batches}) AND status = 'recalled'", p=code),
            "events_week": _direct(session, f"SELECT count(DISTINCT event_pk) FROM event_epc "
                                   f"WHERE batch_id IN ({batches}) AND event_time >= :w",
                                   p=code, w=week),
            "scans_30d": _direct(session, f"SELECT count(*) FROM scan WHERE batch_id IN "
                                 f"({batches}) AND at >= :s", p=code, s=since),
            "open_reports": _direct(session, f"SELECT count(*) FROM report WHERE batch_id IN "
                                    f"({batches}) AND status = 'open'", p=code),
        }  # fmt: skip
        for name, value in direct.items():
            assert getattr(row, name) == value, (code, name)
    own = session.get(ProvinceFigures, "24")
    assert own is not None
    # and the values the world was built with
    assert (own.producers, own.cooperatives, own.products) == (1, 1, 2)
    assert (own.active_batches, own.recalled_batches, own.events_week) == (2, 1, 2)
    assert (own.scans_30d, own.open_reports, own.flagged_codes) == (10, 1, 1)
    neighbour = session.get(ProvinceFigures, "01")
    assert neighbour is not None and (neighbour.scans_30d, neighbour.flagged_codes) == (2, 0)
    places = {(r.province_code, r.place_code): r.scans for r in session.query(ProvinceScanPlace)}
    assert places == {("24", "01"): 3, ("24", "46"): 2, ("24", "24"): 3, ("24", "96"): 1,
                      ("01", "48"): 2}  # fmt: skip
    days = {r.day: r.scans for r in session.query(ProvinceScanDay).filter_by(province_code="24")}
    assert sum(days.values()) == 10
    five_days_ago = (world["own"].now - dt.timedelta(days=5)).astimezone(VIETNAM).date()
    assert days[five_days_ago] == 1


def _page(client: Any, path: str = "/console/dashboard?lang=en") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return str(response.get_data(as_text=True))


def _figure(page: str, name: str) -> tuple[str, int]:
    found = re.search(rf'<a id="fig-{name}" href="([^"]*)"><span class="n">([\d.,]+)</span>', page)
    assert found, name
    return found.group(1).replace("&amp;", "&"), int(re.sub(r"[.,]", "", found.group(2)))


def _svg(page: str, name: str) -> str:
    start = page.index(f'id="chart-{name}"')
    return page[start : page.index("</svg>", start)]


def test_a_centre_sees_its_province_with_links_time_and_charts(
    app: Flask, session: Session, world: dict[str, Province], make_user: Any, signed_in: Any,
    build: Any,
) -> None:  # fmt: skip
    run_rollup(app, session)
    centre = build.organization(kind="centre", name="Trung tâm Bắc Ninh", province_code="24")
    client = signed_in(make_user("centre", centre))
    page = _page(client, "/console/dashboard?lang=en&province=01")  # asks for another: ignored
    assert "Bắc Ninh" in page.split("</h1>")[0]
    as_of = session.get(ProvinceFigures, "24").as_of.astimezone(VIETNAM)  # type: ignore[union-attr]
    assert f"As of {as_of:%H:%M, %d/%m/%Y}" in page
    assert _figure(page, "producers") == ("/console/organisations?kind=producer&province=24", 1)
    assert _figure(page, "products") == ("/console/products?province=24", 2)
    assert _figure(page, "active_batches") == ("/console/batches?status=active&province=24", 2)
    assert _figure(page, "recalled_batches")[1] == 1
    assert _figure(page, "events_week") == ("/console/dashboard/events?province=24", 2)
    assert _figure(page, "scans_30d") == ("/console/scans?days=30", 10)
    assert _figure(page, "open_reports") == ("/console/reports?status=open&province=24", 1)
    assert _figure(page, "flagged_codes") == ("/console/flags?province=24", 1)
    assert 'id="f-province"' not in page  # no picker for a centre

    places = _svg(page, "places")
    bars = re.findall(r'<g data-province="(\d\d)" data-scans="(\d+)">', places)
    assert len(bars) == 34
    assert bars[:5] == [("01", "3"), ("24", "3"), ("46", "2"), ("96", "1"), ("04", "0")]
    widths = [float(w) for w in re.findall(r'<rect class="bar" x="[\d.]+" y="[\d.]+" '
                                            r'width="([\d.]+)"', places)]  # fmt: skip
    assert widths[0] == widths[1] > widths[2] > widths[3] > widths[4] == 0
    assert widths[2] == pytest.approx(widths[0] * 2 / 3, abs=0.2)
    assert "Scans without a place: 1." in page
    assert "<title" in places and "<desc" in places and 'role="img"' in places

    days = _svg(page, "days")
    day_bars = re.findall(r'data-day="([\d-]+)" data-scans="(\d+)"', days)
    assert len(day_bars) == 30
    assert [d for d, _ in day_bars] == sorted(d for d, _ in day_bars)  # oldest on the left
    assert sum(int(n) for _, n in day_bars) == 10
    five_days_ago = (world["own"].now - dt.timedelta(days=5)).astimezone(VIETNAM).date().isoformat()
    assert (five_days_ago, "1") in day_bars
    assert 'id="table-days"' in page and 'id="table-places"' in page  # the text alternative
    assert "HN-1" not in page and "Đà Nẵng</text>" in places  # names, never their data


def test_an_inspector_sees_every_province_or_picks_one(
    app: Flask, session: Session, world: dict[str, Province], make_user: Any, signed_in: Any
) -> None:
    run_rollup(app, session)
    client = signed_in(make_user("inspector"))
    everything = _page(client)
    assert "All provinces" in everything.split("</h1>")[0] and 'id="f-province"' in everything
    assert _figure(everything, "scans_30d")[1] == 12
    assert _figure(everything, "open_reports")[1] == 2
    assert _figure(everything, "producers") == ("/console/organisations?kind=producer", 2)
    hanoi = _page(client, "/console/dashboard?lang=en&province=01")
    assert _figure(hanoi, "scans_30d") == ("/console/scans?days=30", 2)
    bars = re.findall(r'<g data-province="(\d\d)" data-scans="(\d+)">', _svg(hanoi, "places"))
    assert bars[0] == ("48", "2")
    events = _page(client, "/console/dashboard/events?lang=en&province=01")
    assert events.count("HN-1") == 2 and "BN-1" not in events


def test_before_the_first_run_the_page_says_the_figures_are_coming(
    make_user: Any, signed_in: Any
) -> None:
    page = _page(signed_in(make_user("admin")))
    assert "being counted for the first time" in page


def test_a_producer_has_no_dashboard(
    world: dict[str, Province], make_user: Any, signed_in: Any
) -> None:
    client = signed_in(make_user("producer", world["own"].producer))
    assert client.get("/console/dashboard").status_code == 403
    assert client.get("/console/dashboard/events").status_code == 403
    assert "/console/dashboard" not in client.get("/console/").get_data(as_text=True)


def test_the_centre_sees_its_weeks_events_only(
    app: Flask, world: dict[str, Province], make_user: Any, signed_in: Any, build: Any
) -> None:
    centre = build.organization(kind="centre", province_code="24")
    page = _page(signed_in(make_user("centre", centre)),
                 "/console/dashboard/events?lang=en&province=01")  # fmt: skip
    assert page.count("BN-1") == 2 and "HN-1" not in page
    assert f'href="/console/batches/{world["own"].batch.id}"' in page


def test_the_dashboard_is_first_in_a_centres_navigation(
    make_user: Any, signed_in: Any, build: Any
) -> None:
    centre = build.organization(kind="centre", province_code="24")
    page = _page(signed_in(make_user("centre", centre)), "/console/?lang=en")
    nav = page[page.index('<nav class="main"') :]
    assert nav.index("/console/dashboard") < nav.index('href="/console/"')


def test_the_figures_lists_keep_their_filters(
    world: dict[str, Province], make_user: Any, signed_in: Any, build: Any
) -> None:
    """The recalled-batches figure's list shows the province's recalled batches only, and keeps
    the filter in its search form; a centre asking for another province still sees its own."""
    centre = build.organization(kind="centre", province_code="24")
    client = signed_in(make_user("centre", centre))
    recalled = _page(client, "/console/batches?lang=en&status=recalled&province=01")
    assert "BN-R" in recalled and "BN-1" not in recalled and "HN-R" not in recalled
    assert '<input type="hidden" name="status" value="recalled">' in recalled
    inspector = signed_in(make_user("inspector"))
    hanoi = _page(inspector, "/console/batches?lang=en&status=active&province=01")
    assert "HN-1" in hanoi and "HN-R" not in hanoi and "BN-1" not in hanoi
    assert "Hà Nội" in hanoi  # the filter is named above the list
