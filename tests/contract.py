"""The published contract, ``schemas/openapi.json``, as a checker of real responses.

:func:`contract_errors` says how one response differs from what the document promises for its
operation and status: an undocumented status, a media type not documented, a JSON body that its
schema refuses. Responses of paths the document does not describe are not its business.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SPEC_PATH = Path(__file__).resolve().parents[1] / "schemas" / "openapi.json"
JSON_TYPES = ("application/json", "application/problem+json")


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


@cache
def _routes() -> list[tuple[re.Pattern[str], str]]:
    """Path templates as patterns, literal paths before templated ones."""
    routes = []
    for template in spec()["paths"]:
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        routes.append((re.compile(f"^{pattern}$"), template))
    return sorted(routes, key=lambda r: (r[1].count("{"), r[1]))


def operation_of(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    for pattern, template in _routes():
        if pattern.match(path):
            operation = spec()["paths"][template].get(method.lower())
            if operation is not None:
                return template, operation
    return None


@cache
def _validator(template: str, method: str, status: str, media: str) -> Draft202012Validator:
    schema = spec()["paths"][template][method]["responses"][status]["content"][media]["schema"]
    rooted = {"allOf": [schema], "components": spec()["components"]}
    return Draft202012Validator(rooted)


def contract_errors(
    method: str, path: str, status: int, content_type: str, body: bytes
) -> list[str]:
    found = operation_of(method, path)
    if found is None:
        return []
    template, operation = found
    where = f"{method} {path} -> {status}"
    responses = operation["responses"]
    key = str(status) if str(status) in responses else "default"
    if key not in responses:
        return [f"{where}: status {status} is not documented (has {sorted(responses)})"]
    media = content_type.split(";")[0].strip().lower()
    content = responses[key].get("content", {})
    if not content:
        return [] if not body else [f"{where}: a body ({media}) where none is documented"]
    if media not in content:
        return [f"{where}: media type {media!r} is not documented (has {sorted(content)})"]
    if media not in JSON_TYPES or "schema" not in content[media]:
        return []
    try:
        document = json.loads(body)
    except ValueError as error:
        return [f"{where}: the body is not JSON: {error}"]
    validator = _validator(template, method.lower(), key, media)
    return [
        f"{where}: at /{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))[:5]
    ]
