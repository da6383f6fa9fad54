"""Every response an API test receives through the Flask client is checked against the
published contract (``schemas/openapi.json``): a documented status, a documented media type, a
JSON body its schema accepts. Differences are collected and fail the test that produced them,
after it ran, so a test's own assertions still speak first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.contract import contract_errors

_FOUND = pytest.StashKey[list[str]]()


class ContractClient(FlaskClient):
    found: list[str]

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        request = response.request
        self.found.extend(
            contract_errors(
                request.method,
                request.path,
                response.status_code,
                response.content_type or "",
                response.get_data(),
            )
        )
        return response


@pytest.fixture(autouse=True)
def _contract_checked(request: pytest.FixtureRequest, migrated_app: Flask) -> Iterator[None]:
    found: list[str] = []
    request.node.stash[_FOUND] = found
    client_class = type("CheckedClient", (ContractClient,), {"found": found})
    previous, migrated_app.test_client_class = migrated_app.test_client_class, client_class
    yield
    migrated_app.test_client_class = previous


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    outcome = yield
    found = item.stash.get(_FOUND, [])
    if found:
        raise AssertionError(
            "responses differ from schemas/openapi.json:\n" + "\n".join(dict.fromkeys(found))
        )
    return outcome
