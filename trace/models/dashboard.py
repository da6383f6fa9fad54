"""The province dashboard's rollups: figures counted by the recurring job
(:mod:`trace.services.dashboard`), so the page is a handful of primary-key reads whatever the
number of batches, events and scans. Each table is rewritten whole by one run of the job.

``province_code`` is the province of the producer that owns what is counted; ``""`` holds what
belongs to no province (reports about codes that are not registered)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, String
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


class FlaggedCode(Base):
    """A unit code the copy warning flagged at the last count (the scans of the last 30 days),
    with its evidence: what the console's list of flagged codes reads."""

    __tablename__ = "flagged_code"
    __table_args__ = (Index("ix_flagged_code_province_clients", "province_code", "clients"),)

    code_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    province_code: Mapped[str] = mapped_column(String(2))
    batch_id: Mapped[int]
    as_of: Mapped[dt.datetime]
    scans: Mapped[int]
    clients: Mapped[int]
    first_at: Mapped[dt.datetime]
    last_at: Mapped[dt.datetime]
    reasons: Mapped[list[str]]
    #: scans per province offered: [{"province_code", "province_name", "scans"}], most first
    provinces: Mapped[list[Any]]
