"""Thin-view helpers: load a request with a schema, dump an answer with a schema."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from flask import Response, current_app, json, request
from marshmallow import Schema

from trace.services.errors import invalid
from trace.services.registry.text import storable_problem

MAX_JSON_DEPTH = 64
"""Deeper JSON is refused before anything walks it recursively (marshmallow, the event hash)."""
MAX_JSON_INTEGER = 2**53 - 1
"""Integers exact in every JSON reader (RFC 7493 I-JSON); larger ones broke the JSON columns."""


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def check_json(data: Any) -> None:
    """Refuse JSON no column can hold the same way on every database: nesting deeper than
    :data:`MAX_JSON_DEPTH`, NUL characters and lone surrogates in strings (keys included),
    numbers that are not finite (``1e400`` parses as infinity, ``NaN`` as not a number) and
    integers past :data:`MAX_JSON_INTEGER`.
    Iterative, so it is safe on any depth; raises :class:`InvalidInput` naming the place."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, pointer, depth = stack.pop()
        if isinstance(value, str):
            problem = storable_problem(value)
            if problem:
                raise invalid(pointer or "/", problem)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise invalid(pointer or "/", "must be a finite number")
        elif isinstance(value, int):
            if abs(value) > MAX_JSON_INTEGER:
                raise invalid(pointer or "/", "must be an integer between -(2^53 - 1) and 2^53 - 1")
        elif isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise invalid(pointer or "/", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            items: Iterable[tuple[Any, Any]] = (
                value.items() if isinstance(value, dict) else enumerate(value)
            )
            for key, item in items:
                child = f"{pointer}/{_escape(str(key))}"
                if isinstance(key, str) and (problem := storable_problem(key)):
                    raise invalid(child, "a key " + problem)
                stack.append((item, child, depth + 1))


def read_json_object(what: str = "the request body") -> dict[str, Any]:
    """The request's JSON object, checked by :func:`check_json`; 422 for anything else."""
    if not request.is_json:
        raise invalid("/", f"{what} must be JSON (Content-Type: application/json)")
    try:
        data = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        raise invalid("/", f"{what} is not valid JSON") from None
    if not isinstance(data, dict):
        raise invalid("/", f"{what} must be a JSON object")
    check_json(data)
    return data


def check_query() -> None:
    """Query parameters are text too: the same refusal of NUL characters."""
    for key, value in request.args.items(multi=True):
        problem = storable_problem(key) or storable_problem(value)
        if problem:
            raise invalid(f"/query/{_escape(key)}", problem)


def public_url() -> str:
    """``TRACE_PUBLIC_URL`` without a trailing slash: the host printed into QR codes and URIs."""
    return str(current_app.config["PUBLIC_URL"])


def load_body(schema: Schema) -> dict[str, Any]:
    return schema.load(read_json_object())


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
