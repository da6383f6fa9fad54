"""Plots: the production places of EUDR due diligence (a Facility of kind ``plot``).

A plot's geolocation is WGS84: a point (allowed for plots up to 4 ha) or a polygon, stored as a
GeoJSON geometry rounded to six decimal places, with the area computed geodesically. The farmer
or owner and the land-use right documents are personal data: only the plot's organisation, its
province's centre, inspectors and the owner of an export lot made from its harvest read them.
"""

from __future__ import annotations

import decimal
import enum
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trace.models.base import Base, Timestamped, str_enum
from trace.models.registry import Facility


class PlotGeometry(enum.StrEnum):
    POINT = "Point"
    POLYGON = "Polygon"


class Plot(Timestamped, Base):
    __tablename__ = "plot"

    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facility.id"), primary_key=True, autoincrement=False
    )
    geometry_type: Mapped[PlotGeometry] = mapped_column(str_enum(PlotGeometry, "plot_geometry"))
    #: The GeoJSON geometry (RFC 7946: longitude, latitude), six decimal places.
    geometry: Mapped[dict[str, Any]]
    #: Hectares: computed geodesically for a polygon, the declared area for a point.
    area_ha: Mapped[decimal.Decimal] = mapped_column(Numeric(12, 4))
    declared_area_ha: Mapped[decimal.Decimal | None] = mapped_column(Numeric(12, 4))
    producer_name: Mapped[str] = mapped_column(String(200))
    producer_country: Mapped[str] = mapped_column(String(2))
    #: Land-use right documents: ``[{"type", "number", "url"}]``.
    land_documents: Mapped[list[Any]] = mapped_column(default=list)

    facility: Mapped[Facility] = relationship()
