"""Friendly error pages on public URLs, in the page's language (JSON for JSON clients)."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request
from werkzeug.exceptions import HTTPException

from trace.public import client
from trace.public.i18n import page_language
from trace.public.presenters import JSON, json_response


def _wants_json() -> bool:
    accept = request.accept_mimetypes
    return (
        accept[JSON] > accept["text/html"]
        or accept["application/linkset+json"] > accept["text/html"]
    )


def error_page(status: int, reason: str, **context: Any) -> Response:
    """``reason``: not_found, unknown_code, invalid_code, bad_link, rate_limited, method,
    server_error, bad_request."""
    if _wants_json():
        plain = {k: v for k, v in context.items() if isinstance(v, str | int | None)}
        return json_response({"status": status, "reason": reason, **plain}, status)
    page_language()
    body = render_template("public/error.html", status=status, reason=reason, **context)
    response = Response(body, status=status, mimetype="text/html")
    response.vary.update(("Accept", "Accept-Language"))
    return response


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    reason = {404: "not_found", 405: "method", 400: "bad_request", 413: "bad_request"}.get(
        status, "server_error" if status >= 500 else "bad_request"
    )
    response = error_page(status, reason)
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def unknown_code(text: str, invalid: bool) -> Response:
    code = text.strip()[:40]
    return error_page(
        404,
        "invalid_code" if invalid else "unknown_code",
        code=code,
        form_token=client.form_token(code) if code and "/" not in code else None,
    )
