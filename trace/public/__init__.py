"""The public side: lookup pages for scanned codes, the GS1 Digital Link resolver, scans and
consumers' reports. Vietnamese by default, English on request; friendly pages for errors."""

from __future__ import annotations

from flask import Blueprint, Flask, Response

from trace.codeview import store
from trace.public import cache, errors, i18n, images, reports, skeleton, views
from trace.services import lookup


def create_blueprint() -> Blueprint:
    bp = Blueprint("public", __name__)
    views.register(bp)
    bp.add_url_rule("/q/<code>/report", view_func=reports.report, methods=["POST"])
    bp.add_url_rule("/img/product/<int:product_id>/<int:width>.jpg", view_func=images.product_image)

    @bp.errorhandler(lookup.InvalidCode)
    def _invalid(error: lookup.InvalidCode) -> Response:
        return errors.unknown_code(_scanned_text() or str(error), invalid=True)

    @bp.errorhandler(lookup.UnknownCode)
    def _unknown(error: lookup.UnknownCode) -> Response:
        return errors.unknown_code(_scanned_text() or str(error), invalid=False)

    @bp.errorhandler(views.BadLink)
    def _bad_link(error: views.BadLink) -> Response:
        return errors.error_page(400, "bad_link", detail=str(error))

    return bp


def _scanned_text() -> str:
    from flask import request

    args = request.view_args or {}
    return str(args.get("code") or "")


def init_app(app: Flask) -> None:
    """Babel for the page language, the blueprint, how the verifier renders the pages it
    stores, and the render cache told of changes."""
    i18n.init_babel(app)
    cache.init_app(app)
    store.set_renderer(app, i18n.LANGUAGES, skeleton.render_stored_all)
    app.register_blueprint(create_blueprint())
