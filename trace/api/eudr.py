"""EUDR due diligence: plots' geolocation and an export lot's package for the EU Information
System."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app

from trace.api import eudr_schemas as es
from trace.api.auth import current_actor
from trace.api.docs import documented
from trace.api.io import dump, load_body
from trace.db import db
from trace.services.eudr import package as packages
from trace.services.eudr import plots
from trace.services.eudr.plots import PlotView

_plot = es.PlotSchema()
_package = es.EudrPackageSchema()


def _tolerance() -> float:
    return float(current_app.config["EUDR_AREA_TOLERANCE"])


def _plot_answer(view: PlotView, status: int = 200) -> Response:
    data: dict[str, Any] = {
        column: getattr(view.plot, column)
        for column in ("facility_id", "geometry", "declared_area_ha", "area_ha", "producer_name",
                       "producer_country", "land_documents", "updated_at")
    }  # fmt: skip
    return dump(_plot, data | {"warnings": view.warnings}, status)


@documented(summary="Set a plot's geolocation, farmer and land documents (EUDR)", tag="EUDR",
            body=es.PlotSchema, response=es.PlotSchema, errors=(401, 403, 404, 422))  # fmt: skip
def put_plot(facility_id: int) -> Response:
    actor = current_actor()
    view = plots.set_plot(db.session, actor, facility_id, load_body(_plot), _tolerance())
    return _plot_answer(view)


@documented(summary="A plot's geolocation, farmer and land documents (EUDR)", tag="EUDR",
            response=es.PlotSchema, errors=(401, 403, 404, 422))  # fmt: skip
def get_plot(facility_id: int) -> Response:
    return _plot_answer(plots.get_plot(db.session, current_actor(), facility_id, _tolerance()))


@documented(summary="An export lot's EUDR due diligence package (GeoJSON of its plots)",
            tag="EUDR", response=es.EudrPackageSchema, errors=(401, 403, 404, 409))  # fmt: skip
def batch_eudr(batch_id: int) -> Response:
    built = packages.build(db.session, current_actor(), batch_id, _tolerance())
    return dump(_package, packages.require_complete(built))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/facilities/<int:facility_id>/plot", "put_plot", put_plot, methods=["PUT"])
    bp.add_url_rule("/facilities/<int:facility_id>/plot", "get_plot", get_plot, methods=["GET"])
    bp.add_url_rule("/batches/<int:batch_id>/eudr", "batch_eudr", batch_eudr, methods=["GET"])
