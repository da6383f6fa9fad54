"""OpenAPI 3 from the views themselves: each view declares its schemas, apispec writes the spec."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import Schema, fields

from trace.models import MAX_ID

F = Callable[..., Any]
PROBLEM = {"$ref": "#/components/schemas/Problem"}
_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>\w+)>")


def documented(
    *,
    summary: str,
    tag: str,
    body: type[Schema] | Schema | None = None,
    query: type[Schema] | None = None,
    response: type[Schema] | Schema | None = None,
    status: int = 200,
    also: dict[int, str] | None = None,
    content_type: str = "application/json",
    also_as: tuple[str, ...] = (),
    errors: tuple[int, ...] = (401, 403, 404, 422),
    public: bool = False,
    accepted: type[Schema] | Schema | None = None,
    body_content_type: str = "application/json",
    alternatives: dict[int, tuple[str, type[Schema] | Schema]] | None = None,
) -> Callable[[F], F]:
    """Attach what the OpenAPI document says about a view; behaviour is untouched.

    ``also`` names other success statuses answered with the same schema (status: description);
    ``also_as`` other media types the success may be answered in (``text/html`` reports);
    ``alternatives`` other success statuses with their own description and schema (a dry run).
    """

    def wrap(view: F) -> F:
        view._apidoc = {  # type: ignore[attr-defined]
            "summary": summary,
            "tag": tag,
            "body": body,
            "query": query,
            "response": response,
            "status": status,
            "also": also or {},
            "content_type": content_type,
            "also_as": also_as,
            "errors": errors,
            "public": public,
            "accepted": accepted,
            "body_content_type": body_content_type,
            "alternatives": alternatives or {},
        }
        return view

    return wrap


def _problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "RFC 9457 problem details",
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "pointer": {"type": "string", "description": "RFC 6901 JSON pointer"},
                        "detail": {"type": "string"},
                    },
                },
            },
        },
        "required": ["type", "title", "status", "detail"],
    }


def _schema_name(schema: type[Schema] | Schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    if isinstance(schema, Schema) and schema.partial:
        name += "Patch"
    return name


def build_spec(app: Flask) -> dict[str, Any]:
    marshmallow_plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
    spec = APISpec(
        title="Trace: product traceability API",
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[marshmallow_plugin],
        info={
            "description": "Registry, EPCIS 2.0 events, labels and audits for Vietnam's "
            "provincial traceability centres. Errors are RFC 9457 problem+json."
        },
    )
    # Decimals are answered as strings (exact, as stored); their bounds become x-minimum/x-maximum.
    marshmallow_plugin.map_to_openapi_type(fields.Decimal, "string", "decimal")
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", _problem_schema())
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, sorted(r.methods or ())))
    paths: dict[str, dict[str, Any]] = {}
    for rule in rules:
        view = app.view_functions.get(rule.endpoint)
        doc = getattr(view, "_apidoc", None)
        if doc is None:
            continue
        path = _CONVERTER.sub(lambda m: "{" + m.group("name") + "}", rule.rule)
        parameters = [
            {
                "in": "path",
                "name": m.group("name"),
                "required": True,
                "schema": (
                    {"type": "integer", "minimum": 0, "maximum": MAX_ID}
                    if m.group("conv") == "int"
                    else {"type": "string"}
                ),
            }
            for m in _CONVERTER.finditer(rule.rule)
        ]
        method = next(m for m in sorted(rule.methods or ()) if m not in {"HEAD", "OPTIONS"})
        operation: dict[str, Any] = {
            "summary": doc["summary"],
            "tags": [doc["tag"]],
            "operationId": rule.endpoint.replace(".", "_"),
            "parameters": parameters,
            "responses": {},
        }
        if doc["query"] is not None:
            operation["parameters"].append({"in": "query", "schema": doc["query"]})
        if doc["body"] is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {doc["body_content_type"]: {"schema": doc["body"]}},
            }
        ok: dict[str, Any] = {"description": "OK" if doc["status"] < 300 else "Created"}
        if doc["response"] is not None:
            ok["content"] = {doc["content_type"]: {"schema": doc["response"]}}
        elif doc["content_type"] != "application/json":
            ok["content"] = {doc["content_type"]: {}}
        for media in doc["also_as"]:
            ok.setdefault("content", {})[media] = {"schema": {"type": "string"}}
        operation["responses"][str(doc["status"])] = ok
        if doc.get("accepted") is not None:
            operation["responses"]["202"] = {
                "description": "Accepted: not ready yet; ask again after Retry-After seconds",
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                "content": {"application/json": {"schema": doc["accepted"]}},
            }
        for code, description in doc["also"].items():
            operation["responses"][str(code)] = ok | {"description": description}
        for code, (description, schema) in doc.get("alternatives", {}).items():
            operation["responses"][str(code)] = {
                "description": description,
                "content": {"application/json": {"schema": schema}},
            }
        # Any /api/v1 request may be refused for a query parameter no database stores (a NUL).
        errors = sorted({*doc["errors"], 422} if path.startswith("/api/") else doc["errors"])
        for code in errors:
            operation["responses"][str(code)] = {
                "description": _ERROR_TEXT.get(code, "Error"),
                "content": {"application/problem+json": {"schema": PROBLEM}},
            }
        if not doc["public"]:
            operation["security"] = [{"bearer": []}]
        paths.setdefault(path, {})[method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


_ERROR_TEXT = {
    400: "Malformed request",
    401: "Missing or unknown bearer token",
    403: "The token's role or organisation may not do this",
    404: "Not found",
    409: "Conflict with existing data",
    422: "Invalid fields, each named by a JSON pointer",
}
