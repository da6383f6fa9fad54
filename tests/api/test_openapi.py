from __future__ import annotations

import json
from pathlib import Path

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
