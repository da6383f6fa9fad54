"""The ``/api/v1`` blueprint: bearer tokens, JSON in and out, problem+json for every error."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, json, request
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from trace.api import problems
from trace.api.docs import build_spec
from trace.api.io import check_query
from trace.db import db
from trace.services.errors import ServiceError

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def create_blueprint() -> Blueprint:
    bp = Blueprint("api", __name__, url_prefix="/api/v1")

    from trace.api import events, inspection, jobs, labels, registry

    registry.register(bp)
    events.register(bp)
    labels.register(bp)
    inspection.register(bp)
    jobs.register(bp)

    @bp.get("/openapi.json")
    def openapi() -> Response:
        return Response(spec_json(current_app), mimetype="application/json")

    bp.before_request(check_query)

    @bp.after_request
    def commit_writes(response: Response) -> Response:
        """The one commit boundary of an API request: a successful write is committed here."""
        if request.method in WRITE_METHODS and response.status_code < 400:
            try:
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                return problems.problem(
                    409, "Conflict", "The change conflicts with data written at the same time."
                )
        return response

    bp.register_error_handler(ValidationError, problems.from_validation_error)
    bp.register_error_handler(ServiceError, problems.from_service_error)
    return bp


def spec_json(app: Flask) -> str:
    """The OpenAPI document as committed in ``schemas/openapi.json`` (stable key order)."""
    return json.dumps(build_spec(app), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def handle_http_error(error: HTTPException) -> Response | HTTPException:
    """API paths answer HTTP errors (404 of an unknown route, 405, 413) as problem+json."""
    if request.path.startswith("/api/"):
        return problems.from_http_exception(error)
    return error
