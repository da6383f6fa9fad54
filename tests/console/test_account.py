"""Personal API tokens and sessions, in the console."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.console.conftest import csrf_of
from trace.models import ApiToken, AuditEntry, User, UserSession


@pytest.fixture
def producer(build: Any, make_user: Any) -> User:
    return make_user("producer", build.organization())


def post(
    client: Any, path: str, data: dict[str, str] | None = None, page: str = "/console/account"
) -> Any:
    token = csrf_of(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **(data or {})})


def test_a_personal_token_is_shown_once_and_acts_like_its_user(
    app: Any, producer: User, signed_in: Any, build: Any, session: Session
) -> None:
    client = signed_in(producer)
    created = post(client, "/console/account/tokens", {"name": "Cân đóng gói"})
    assert created.status_code == 201
    secret = re.search(r'value="(trc_[^"]+)"', created.get_data(as_text=True)).group(1)
    assert secret not in client.get("/console/account").get_data(as_text=True)  # once only
    api = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    own = api.post(
        "/api/v1/facilities",
        json={"organization_id": producer.organization_id, "kind": "farm", "name": "Trại",
              "address": "x", "province_code": "24"},
        headers=headers,
    )  # fmt: skip
    assert own.status_code == 201, own.json
    other = build.organization()
    foreign = api.post(
        "/api/v1/facilities",
        json={"organization_id": other.id, "kind": "farm", "name": "Trại", "address": "x",
              "province_code": "24"},
        headers=headers,
    )  # fmt: skip
    assert foreign.status_code == 403  # scoped like the user: a producer of its own organisation
    entry = session.scalar(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "facility")
        .order_by(AuditEntry.id.desc())
    )
    assert entry.user_id == producer.id and entry.token_id is not None


def test_tokens_are_listed_and_revoked_by_their_owner_only(
    app: Any, producer: User, make_user: Any, signed_in: Any, session: Session
) -> None:
    client = signed_in(producer)
    secret = re.search(
        r'value="(trc_[^"]+)"',
        post(client, "/console/account/tokens", {"name": "Máy quét"}).get_data(as_text=True),
    ).group(1)
    token = session.scalar(select(ApiToken).where(ApiToken.user_id == producer.id))
    assert "Máy quét" in client.get("/console/account").get_data(as_text=True)
    stranger = signed_in(make_user("producer", producer.organization))
    refused = post(stranger, f"/console/account/tokens/{token.id}/revoke")
    assert refused.status_code == 404
    assert "Máy quét" not in stranger.get("/console/account").get_data(as_text=True)
    headers = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/batches", headers=headers).status_code == 200
    assert post(client, f"/console/account/tokens/{token.id}/revoke").status_code == 303
    assert app.test_client().get("/api/v1/batches", headers=headers).status_code == 401


def test_a_token_needs_a_name_and_the_form_says_so(
    producer: User, signed_in: Any, session: Session
) -> None:
    response = post(signed_in(producer), "/console/account/tokens", {"name": "  "})
    assert response.status_code == 422
    assert "Hãy đặt tên" in response.get_data(as_text=True)
    assert session.scalars(select(ApiToken)).all() == []


def test_a_deactivated_users_tokens_stop(
    app: Any, producer: User, signed_in: Any, session: Session
) -> None:
    client = signed_in(producer)
    text = post(client, "/console/account/tokens", {"name": "x"}).get_data(as_text=True)
    secret = re.search(r'value="(trc_[^"]+)"', text).group(1)
    session.get(User, producer.id).active = False
    session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/batches", headers=headers).status_code == 401


def test_sign_out_everywhere_ends_every_session_of_the_user(
    producer: User, signed_in: Any, session: Session
) -> None:
    phone, desktop = signed_in(producer), signed_in(producer)
    page = phone.get("/console/account").get_data(as_text=True)
    assert "2 thiết bị" in page
    assert post(phone, "/console/account/sessions/end").status_code == 303
    assert phone.get("/console/").status_code == 302
    assert desktop.get("/console/").status_code == 302
    assert session.scalars(select(UserSession).where(UserSession.ended_at.is_(None))).all() == []
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "end_sessions"))
    assert entry.user_id == producer.id
