"""The commands, run as a user would through the Flask CLI runner."""

from __future__ import annotations

import json

from sqlalchemy import select

from trace.demo import read_fixture
from trace.models import ApiToken, Batch, Organization, Product, Role
from trace.provinces import PROVINCES


def test_init_is_idempotent(app) -> None:
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init"])
        assert result.exit_code == 0, result.output
        assert "Database ready" in result.output


def test_demo_loads_idempotently_and_prints_tokens(app, client, count) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "--json"])
    assert first.exit_code == 0, first.output
    output = json.loads(first.output)
    assert set(output["tokens"]) == {"admin", "centre", "producer", "inspector"}
    assert output["urls"] and all(u.startswith("https://trace.example.vn/") for u in output["urls"])
    counts = (count(Organization), count(Product), count(Batch))
    assert counts[1] >= 10

    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert "producer  token: trc_" in second.output
    assert (count(Organization), count(Product), count(Batch)) == counts

    products = client.get(
        "/api/v1/products?limit=500",
        headers={"Authorization": f"Bearer {output['tokens']['inspector']}"},
    ).json["items"]
    assert len(products) >= 10
    provinces = {
        client.get(
            f"/api/v1/organizations/{p['organization_id']}",
            headers={"Authorization": f"Bearer {output['tokens']['inspector']}"},
        ).json["province_code"]
        for p in products
    }
    assert len(provinces) >= 6 and provinces <= set(PROVINCES)


def test_demo_tokens_have_their_roles(app, client) -> None:
    output = json.loads(app.test_cli_runner().invoke(args=["demo", "--json"]).output)
    producer = {"Authorization": f"Bearer {output['tokens']['producer']}"}
    inspector = {"Authorization": f"Bearer {output['tokens']['inspector']}"}
    body = {"kind": "producer", "name": "X", "tax_code": "0100000001", "province_code": "01",
            "address": "Hà Nội"}  # fmt: skip
    assert client.post("/api/v1/organizations", json=body, headers=producer).status_code == 403
    assert client.post("/api/v1/organizations", json=body, headers=inspector).status_code == 403
    admin = {"Authorization": f"Bearer {output['tokens']['admin']}"}
    assert client.post("/api/v1/organizations", json=body, headers=admin).status_code == 201


def test_fixture_is_valid_vietnamese_data() -> None:
    fixture = read_fixture()
    provinces = {o["province_code"] for o in fixture["organizations"]}
    assert len(fixture["products"]) >= 10 and len(provinces) >= 6
    assert any("gtin" in p for p in fixture["products"])
    assert any("gtin" not in p for p in fixture["products"])
    assert any(p["name_vi"] == "Vải thiều Lục Ngạn" for p in fixture["products"])


def test_token_create(app, session, build) -> None:
    org = build.organization()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["token", "create", "--role", "producer", "--org", str(org.id)])
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert secret.startswith("trc_") and len(secret) > 40
    session.rollback()
    stored = session.scalars(select(ApiToken)).one()
    assert stored.role is Role.PRODUCER and stored.organization_id == org.id
    assert secret not in stored.token_hash


def test_token_create_explains_bad_arguments(app, count) -> None:
    runner = app.test_cli_runner()
    no_org = runner.invoke(args=["token", "create", "--role", "producer"])
    assert no_org.exit_code != 0 and "--org" in no_org.output
    bad_province = runner.invoke(args=["token", "create", "--role", "centre", "--province", "99"])
    assert bad_province.exit_code != 0 and "province" in bad_province.output
    assert count(ApiToken) == 0


def test_openapi_check(app) -> None:
    result = app.test_cli_runner().invoke(args=["openapi", "--check"])
    assert result.exit_code == 0, result.output


def test_commands_on_a_database_without_tables_say_to_run_init(tmp_path) -> None:
    from trace import create_app

    empty = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "SECRET_KEY": "x"}
    )
    runner = empty.test_cli_runner()
    for args in (["verify"], ["ledger", "verify"], ["audit", "custody"],
                 ["token", "create", "--role", "admin"]):  # fmt: skip
        result = runner.invoke(args=args)
        assert result.exit_code == 1, (args, result.output)
        assert (
            "has no Trace tables yet" in result.output and "flask --app wsgi init" in result.output
        )
        assert "Traceback" not in result.output
    assert runner.invoke(args=["init"]).exit_code == 0
    assert runner.invoke(args=["verify"]).exit_code == 0
