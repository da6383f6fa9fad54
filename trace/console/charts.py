"""The geometry of the dashboard's charts, drawn by the template as inline SVG (no script, no
external asset): bars per day (vertical) and per province (horizontal, sorted). Sizes are in the
SVG's own units; the picture scales to the page's width (``viewBox``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from trace.services.dashboard import DayScans, PlaceScans

WIDTH = 360
DAY_HEIGHT = 150
DAY_TOP = 14  # room for the largest value's label
DAY_AXIS = 18  # room for the day labels below
ROW = 20
LABEL_WIDTH = 100
VALUE_ROOM = 48


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str
    key: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    top: int  # the largest value


def _fraction(value: int, top: int) -> float:
    return value / top if top else 0.0


def days_chart(days: Sequence[DayScans]) -> Chart:
    """One bar per day, oldest on the left; the bars' heights are proportional to the day's
    scans, the largest reaching the top."""
    top = max((d.scans for d in days), default=0)
    plot = DAY_HEIGHT - DAY_TOP - DAY_AXIS
    step = WIDTH / max(len(days), 1)
    bars = []
    for i, d in enumerate(days):
        height = round(plot * _fraction(d.scans, top), 1)
        bars.append(Bar(x=round(i * step + 1, 1), y=round(DAY_TOP + plot - height, 1),
                        width=round(step - 2, 1), height=height, value=d.scans,
                        label=_day_label(d.day), key=d.day.isoformat()))  # fmt: skip
    return Chart(WIDTH, DAY_HEIGHT, bars, top)


def places_chart(places: Sequence[PlaceScans]) -> Chart:
    """One row per province in the order given (the most scans first), a bar proportional to
    its scans after its name."""
    top = max((p.scans for p in places), default=0)
    room = WIDTH - LABEL_WIDTH - VALUE_ROOM
    bars = [
        Bar(
            x=LABEL_WIDTH,
            y=i * ROW + 3,
            width=round(room * _fraction(p.scans, top), 1),
            height=ROW - 6,
            value=p.scans,
            label=p.name,
            key=p.code,
        )
        for i, p in enumerate(places)
    ]
    return Chart(WIDTH, max(len(places), 1) * ROW, bars, top)


def _day_label(day: dt.date) -> str:
    return f"{day.day:02d}/{day.month:02d}"
