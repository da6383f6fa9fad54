"""The province dashboard's rollups: figures counted by the recurring job
(:mod:`trace.services.dashboard`), so the page is a handful of primary-key reads whatever the
number of batches, events and scans. Each table is rewritten whole by one run of the job.

``province_code`` is the province of the producer that owns what is counted; ``""`` holds what
belongs to no province (reports about codes that are not registered)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from trace.models.base import Base


class ProvinceFigures(Base):
    """One province's figures, as of ``as_of``."""

    __tablename__ = "province_figures"

    province_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    as_of: Mapped[dt.datetime]
    producers: Mapped[int] = mapped_column(default=0)
    cooperatives: Mapped[int] = mapped_column(default=0)
    products: Mapped[int] = mapped_column(default=0)
    active_batches: Mapped[int] = mapped_column(default=0)
    recalled_batches: Mapped[int] = mapped_column(default=0)
    events_week: Mapped[int] = mapped_column(default=0)
    scans_30d: Mapped[int] = mapped_column(default=0)
    open_reports: Mapped[int] = mapped_column(default=0)
    flagged_codes: Mapped[int] = mapped_column(default=0)


class ProvinceScanDay(Base):
    """Scans of a province's codes on one day (Vietnam time), over the last 30 days."""

    __tablename__ = "province_scan_day"

    province_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    scans: Mapped[int]


class ProvinceScanPlace(Base):
    """Scans of a province's codes over the last 30 days, by the province the scanning client
    offered (``place_code``; scans without one are not counted here)."""

    __tablename__ = "province_scan_place"

    province_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    place_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    scans: Mapped[int]
