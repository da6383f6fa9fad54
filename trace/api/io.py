"""Thin-view helpers: load a request with a schema, dump an answer with a schema."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import Response, json, request
from marshmallow import Schema

from trace.services.errors import invalid


def load_body(schema: Schema) -> dict[str, Any]:
    if not request.is_json:
        raise invalid("/", "the request body must be JSON (Content-Type: application/json)")
    data = request.get_json(silent=True)
    if data is None:
        raise invalid("/", "the request body is not valid JSON")
    if not isinstance(data, dict):
        raise invalid("/", "the request body must be a JSON object")
    return schema.load(data)


def load_query(schema: Schema) -> dict[str, Any]:
    return schema.load(request.args.to_dict(flat=True))


def dump(
    schema: Schema, obj: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps(schema.dump(obj), ensure_ascii=False)
    return Response(body, status=status, mimetype="application/json", headers=headers)


def list_page(
    query: Schema,
    page: Schema,
    listing: Callable[[dict[str, Any], int, str | None], tuple[Sequence[Any], str | None]],
) -> Response:
    """A list view: load the query string, call ``listing(filters, limit, cursor)``, dump the
    page with the cursor of the next one."""
    args = load_query(query)
    limit, cursor = args.pop("limit"), args.pop("cursor", None)
    items, next_cursor = listing(args, limit, cursor)
    return dump(page, {"items": items, "next_cursor": next_cursor})
