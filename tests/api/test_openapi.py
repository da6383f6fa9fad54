from __future__ import annotations

import json
from pathlib import Path

from openapi_spec_validator import validate

COMMITTED = Path(__file__).resolve().parents[2] / "schemas" / "openapi.json"


def test_served_openapi_equals_committed(client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == COMMITTED.read_text(encoding="utf-8"), (
        "schemas/openapi.json is stale: run `flask --app wsgi openapi`"
    )


def test_openapi_describes_registry_and_problems(client) -> None:
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/batches/{entity_id}" in spec["paths"]
    create = spec["paths"]["/api/v1/batches"]["post"]
    assert create["responses"]["422"]["content"]["application/problem+json"]
    batch = spec["components"]["schemas"]["Batch"]
    assert {"product_id", "lot_code", "quantity", "production_date"} <= set(batch["required"])
    assert "required" not in spec["components"]["schemas"].get("BatchUpdatePatch", {})
    json.dumps(spec)


def test_committed_openapi_is_a_valid_openapi_document() -> None:
    """openapi-spec-validator: bounds are numbers, references resolve, 3.1 schemas are valid
    JSON Schema (``minimum: "0"`` on a decimal once made every validator refuse it)."""
    validate(json.loads(COMMITTED.read_text(encoding="utf-8")))


def test_openapi_documents_what_the_responses_are(client) -> None:
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert schemas["Batch"]["properties"]["quantity"]["type"] == "string"
    assert schemas["Facility"]["properties"]["latitude"]["type"] == ["string", "null"]
    assert schemas["Organization"]["properties"]["archived_at"]["type"] == ["string", "null"]
    stage = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/batches/{batch_id}/events"]
    assert {"200", "201"} <= set(stage["post"]["responses"])
