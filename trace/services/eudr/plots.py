"""A plot's geolocation, farmer or owner and land-use right documents: written by whoever may
change the facility, read under :func:`~trace.services.events.visibility.may_read_plot`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from trace.models import Facility, FacilityKind, Plot, PlotGeometry
from trace.services import audit
from trace.services.actors import Actor
from trace.services.errors import Forbidden, NotFound, get_or_404, invalid
from trace.services.eudr.geometry import area_warning, check_geometry
from trace.services.events import visibility


@dataclass(frozen=True)
class PlotView:
    plot: Plot
    warnings: list[str]


def _view(plot: Plot, tolerance: float) -> PlotView:
    computed = plot.area_ha if plot.geometry_type is PlotGeometry.POLYGON else None
    warning = area_warning(plot.declared_area_ha, computed, tolerance)
    return PlotView(plot, [warning] if warning else [])


def _plot_facility(session: Session, facility_id: int) -> Facility:
    facility = get_or_404(session, Facility, facility_id)
    if facility.kind is not FacilityKind.PLOT:
        raise invalid(
            "/facility_id",
            f"facility {facility_id} is a {facility.kind.value}, not a plot: only a facility of "
            "kind plot has a geolocation for EUDR",
        )
    return facility


def set_plot(
    session: Session,
    actor: Actor,
    facility_id: int,
    data: Mapping[str, Any],
    tolerance: float,
) -> PlotView:
    """Create or replace the plot's geolocation and owner details (all or nothing)."""
    facility = _plot_facility(session, facility_id)
    org = facility.organization
    actor.require(actor.may_manage_organization(org.id, org.province_code), "change this plot")
    declared: Decimal | None = data.get("declared_area_ha")
    if declared is not None:
        declared = declared.quantize(Decimal("0.0001"))
    location = check_geometry(data["geometry"], declared)
    values = {
        "geometry_type": PlotGeometry(location.kind),
        "geometry": location.geometry,
        "area_ha": location.computed_area_ha if location.computed_area_ha is not None else declared,
        "declared_area_ha": declared,
        "producer_name": data["producer_name"],
        "producer_country": data.get("producer_country", "VN"),
        "land_documents": [dict(d) for d in data.get("land_documents", [])],
    }
    plot = session.get(Plot, facility_id)
    if plot is None:
        plot = Plot(facility_id=facility_id, **values)
        session.add(plot)
        session.flush()
        audit.record(session, actor, "create", "plot", facility_id, after=audit.snapshot(plot))
    else:
        before = audit.snapshot(plot)
        for key, value in values.items():
            setattr(plot, key, value)
        session.flush()
        after = audit.snapshot(plot)
        if after != before:
            audit.record(session, actor, "update", "plot", facility_id, before=before, after=after)
    return _view(plot, tolerance)


def get_plot(session: Session, actor: Actor, facility_id: int, tolerance: float) -> PlotView:
    facility = _plot_facility(session, facility_id)
    org = facility.organization
    if not visibility.may_read_plot(actor, org.id, facility.province_code):
        raise Forbidden(
            f"A {actor.role.value} token may not read plot {facility_id}: a plot's geolocation "
            "and farmer are read by its organisation, its province's centre and inspectors "
            "(and, through an export lot's EUDR package, by that lot's owner)."
        )
    plot = session.get(Plot, facility_id)
    if plot is None:
        raise NotFound(f"Plot {facility_id} has no geolocation yet.")
    return _view(plot, tolerance)
