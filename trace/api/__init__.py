"""The ``/api/v1`` blueprint: bearer tokens, JSON in and out, problem+json for every error."""

from __future__ import annotations

from contextlib import ExitStack

from flask import Blueprint, Flask, Response, current_app, g, json, request
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from trace.api import problems
from trace.api.docs import build_spec
from trace.api.io import check_query
from trace.db import transaction
from trace.services.errors import ServiceError

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def create_blueprint() -> Blueprint:
    bp = Blueprint("api", __name__, url_prefix="/api/v1")

    from trace.api import (
        eudr,
        events,
        imports,
        inspection,
        jobs,
        labels,
        passport,
        portal,
        registry,
    )

    registry.register(bp)
    events.register(bp)
    labels.register(bp)
    inspection.register(bp)
    jobs.register(bp)
    passport.register(bp)
    eudr.register(bp)
    portal.register(bp)
    imports.register(bp)

    @bp.get("/openapi.json")
    def openapi() -> Response:
        return Response(spec_json(current_app), mimetype="application/json")

    bp.before_request(check_query)

    @bp.before_request
    def open_write_transaction() -> None:
        """A write request is one :func:`transaction`, committed by ``commit_writes`` when it
        succeeded. Reads need none: the session's read transaction ends with the request."""
        if request.method in WRITE_METHODS:
            boundary = ExitStack()
            boundary.enter_context(transaction(write=True))
            g.api_transaction = boundary

    @bp.after_request
    def commit_writes(response: Response) -> Response:
        boundary: ExitStack | None = g.pop("api_transaction", None)
        if boundary is None:
            return response
        if response.status_code >= 400:
            boundary.__exit__(_Failed, _Failed(), None)  # rolled back: nothing half-written
            return response
        try:
            boundary.close()
        except IntegrityError:
            return problems.problem(
                409, "Conflict", "The change conflicts with data written at the same time."
            )
        return response

    @bp.teardown_request
    def roll_back_unfinished(error: BaseException | None) -> None:
        """A request that ended without ``commit_writes`` (an unhandled error) leaves its
        transaction rolled back."""
        boundary: ExitStack | None = g.pop("api_transaction", None)
        if boundary is not None:
            boundary.__exit__(_Failed, _Failed(), None)

    bp.register_error_handler(ValidationError, problems.from_validation_error)
    bp.register_error_handler(ServiceError, problems.from_service_error)
    return bp


class _Failed(Exception):
    """What ends a request's transaction that did not succeed: it is rolled back."""


def spec_json(app: Flask) -> str:
    """The OpenAPI document as committed in ``schemas/openapi.json`` (stable key order)."""
    return json.dumps(build_spec(app), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def handle_http_error(error: HTTPException) -> Response | HTTPException:
    """API paths answer HTTP errors (404 of an unknown route, 405, 413) as problem+json."""
    if request.path.startswith("/api/"):
        return problems.from_http_exception(error)
    return error
