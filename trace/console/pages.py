"""Rendering console pages and their error pages."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request
from werkzeug.exceptions import HTTPException

from trace.services.errors import ServiceError

PAGE_SIZE = 25


def render(template: str, http_status: int = 200, **context: Any) -> Response:
    return Response(render_template(template, **context), status=http_status, mimetype="text/html")


def error_page(status: int, reason: str, detail: str | None = None) -> Response:
    """``reason``: csrf, forbidden, not_found, bad_request, method, server_error."""
    return render("console/error.html", status, status=status, reason=reason, detail=detail)


def from_service_error(error: ServiceError) -> Response:
    reason = {403: "forbidden", 404: "not_found"}.get(error.status, "bad_request")
    return error_page(error.status if error.status < 500 else 400, reason, error.detail)


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    reason = {404: "not_found", 405: "method", 403: "forbidden"}.get(status, "bad_request")
    response = error_page(status, reason)
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def list_args() -> tuple[str, str | None]:
    """The search text (``q``) and the page's cursor (``after``) of a list page."""
    q = request.args.get("q", "").strip()[:200]
    cursor = request.args.get("after", "").strip()[:100] or None
    return q, cursor
