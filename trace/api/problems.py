"""RFC 9457 problem details for every API error."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response, json
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from trace.services.errors import FieldError, ServiceError

PROBLEM_TYPE_BASE = "https://trace.example.vn/problems/"
MEDIA_TYPE = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: Iterable[FieldError] = (),
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    slug = title.lower().replace(" ", "-")
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    field_errors = [{"pointer": e.pointer, "detail": e.message} for e in errors]
    if field_errors:
        body["errors"] = field_errors
    body.update(extra)
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def flatten_messages(messages: Any, prefix: str = "") -> list[FieldError]:
    """marshmallow's nested ``{"field": ["msg"], "items": {0: {...}}}`` as JSON-pointer errors."""
    if isinstance(messages, Mapping):
        found: list[FieldError] = []
        for key, value in messages.items():
            pointer = prefix if key == "_schema" else f"{prefix}/{_escape(str(key))}"
            found.extend(flatten_messages(value, pointer))
        return found
    if isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            return [FieldError(prefix or "/", m) for m in messages]
        return [e for m in messages for e in flatten_messages(m, prefix)]
    return [FieldError(prefix or "/", str(messages))]


def from_validation_error(error: ValidationError) -> Response:
    errors = flatten_messages(error.messages)
    where = ", ".join(e.pointer for e in errors)
    return problem(422, "Invalid input", f"The request has invalid fields: {where}.", errors=errors)


def from_service_error(error: ServiceError) -> Response:
    extra: dict[str, Any] = dict(error.extra)
    return problem(error.status, error.title, error.detail, errors=error.errors, **extra)


def from_http_exception(error: HTTPException) -> Response:
    headers = {}
    if error.code == 405 and error.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    return problem(
        error.code or 500,
        error.name,
        error.description or error.name,
        headers=headers,
    )
