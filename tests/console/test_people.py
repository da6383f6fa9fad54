"""Invitations and password resets: one-time links valid 72 hours, issued by an admin or a
centre officer (a centre: only in its province); the person sets a password on first visit."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.console.conftest import csrf_of, sign_in
from trace.models import AuditEntry, OneTimeLink, User, UserSession


@pytest.fixture
def centre(build: Any, make_user: Any) -> User:
    return make_user("centre", build.organization(kind="centre", name="Trung tâm Bắc Ninh"))


def post(client: Any, path: str, data: dict[str, str] | None = None) -> Any:
    token = csrf_of(client.get("/console/people").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **(data or {})})


def link_in(response: Any) -> str:
    found = re.search(
        r'value="https://trace\.example\.vn(/console/welcome/[^"]+)"',
        response.get_data(as_text=True),
    )
    assert found, "no link on the page"
    return found.group(1)


def invited(officer: Any, build: Any, email: str) -> str:
    """The welcome link of a producer the officer invites into a new organisation."""
    coop = build.organization()
    return link_in(
        post(
            officer,
            "/console/people/invite",
            {"email": email, "role": "producer", "organization_id": str(coop.id)},
        )
    )


def welcome(
    app: Any, path: str, password: str = "mật khẩu mới 2026", confirm: str | None = None
) -> tuple[Any, Any]:
    browser = app.test_client()
    page = browser.get(path)
    if page.status_code != 200:
        return browser, page
    data = {"password": password, "password_confirm": confirm or password}
    data["csrf_token"] = csrf_of(page.get_data(as_text=True))
    return browser, browser.post(path, data=data)


def test_a_centre_invites_a_producer_who_sets_a_password_and_is_signed_in(
    app: Any, centre: User, signed_in: Any, build: Any, session: Session
) -> None:
    coop = build.organization(name="HTX Phượng Sơn")
    officer = signed_in(centre)
    issued = post(
        officer,
        "/console/people/invite",
        {
            "name": "Anh Hùng",
            "phone": "0912 111 222",
            "role": "producer",
            "organization_id": str(coop.id),
        },
    )
    assert issued.status_code == 201
    assert "72" in issued.get_data(as_text=True)
    path = link_in(issued)
    invited = session.scalar(select(User).where(User.phone == "0912111222"))
    assert invited.organization_id == coop.id and invited.password_hash == ""
    assert sign_in(app.test_client(), "0912111222", "").status_code == 200  # no password yet
    browser, done = welcome(app, path)
    assert done.status_code == 303
    assert "HTX Phượng Sơn" in browser.get("/console/").get_data(as_text=True)
    assert sign_in(app.test_client(), "0912 111 222", "mật khẩu mới 2026").status_code == 303
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "invitation"))
    assert entry.user_id == centre.id and entry.entity_id == str(invited.id)


def test_a_link_works_once(app: Any, centre: User, signed_in: Any, build: Any) -> None:
    path = invited(signed_in(centre), build, "x@example.com")
    assert welcome(app, path)[1].status_code == 303
    _, again = welcome(app, path, "another password 1")
    assert again.status_code == 404
    assert "không còn hiệu lực" in again.get_data(as_text=True)
    assert sign_in(app.test_client(), "x@example.com", "another password 1").status_code == 200


def test_a_link_expires_after_72_hours(
    app: Any, centre: User, signed_in: Any, build: Any, session: Session
) -> None:
    path = invited(signed_in(centre), build, "y@example.com")
    link = session.scalar(select(OneTimeLink))
    assert link.expires_at - link.created_at == dt.timedelta(hours=72)
    session.execute(
        update(OneTimeLink).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    )
    session.commit()
    _, page = welcome(app, path)
    assert page.status_code == 404


def test_the_passwords_must_match_and_be_long_enough(
    app: Any, centre: User, signed_in: Any, build: Any
) -> None:
    path = invited(signed_in(centre), build, "z@example.com")
    _, differ = welcome(app, path, "long enough 1", "long enough 2")
    assert differ.status_code == 422 and "không giống nhau" in differ.get_data(as_text=True)
    _, short = welcome(app, path, "short")
    assert short.status_code == 422 and "Ít nhất 8 ký tự" in short.get_data(as_text=True)
    assert welcome(app, path)[1].status_code == 303  # the link was not used up by the mistakes


def test_a_centre_invites_only_in_its_province_and_never_an_admin(
    centre: User, signed_in: Any, build: Any, session: Session
) -> None:
    elsewhere = build.organization(province_code="01")
    officer = signed_in(centre)
    refused = post(
        officer,
        "/console/people/invite",
        {"email": "far@example.com", "role": "producer", "organization_id": str(elsewhere.id)},
    )
    assert refused.status_code == 403
    admin = post(
        officer,
        "/console/people/invite",
        {
            "email": "boss@example.com",
            "role": "admin",
            "organization_id": str(centre.organization_id),
        },
    )
    assert admin.status_code == 403
    assert (
        session.scalars(
            select(User).where(User.email.in_(["far@example.com", "boss@example.com"]))
        ).all()
        == []
    )


def test_an_invitation_form_with_mistakes_keeps_what_was_typed(
    centre: User, signed_in: Any
) -> None:
    response = post(
        signed_in(centre),
        "/console/people/invite",
        {"name": "Chị <b>Mai</b>", "email": "not-an-email", "role": "producer"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="Chị &lt;b&gt;Mai&lt;/b&gt;"' in page
    assert "Hãy nhập địa chỉ email." in page


def test_a_reset_link_replaces_the_password_and_ends_old_sessions(
    app: Any, centre: User, signed_in: Any, make_user: Any, build: Any, session: Session
) -> None:
    coop = build.organization()
    farmer = make_user("producer", coop)
    farmers_phone = signed_in(farmer)
    issued = post(signed_in(centre), f"/console/people/{farmer.id}/reset")
    assert issued.status_code == 201
    first = link_in(issued)
    second = link_in(post(signed_in(centre), f"/console/people/{farmer.id}/reset"))
    assert welcome(app, first)[1].status_code == 404  # replaced by the newer link
    assert welcome(app, second, "brand new password")[1].status_code == 303
    assert farmers_phone.get("/console/").status_code == 302
    assert sign_in(app.test_client(), farmer.login, "brand new password").status_code == 303


def test_a_centre_cannot_reset_someone_outside_its_province(
    centre: User, signed_in: Any, make_user: Any, build: Any, session: Session
) -> None:
    outsider = make_user("producer", build.organization(province_code="01"))
    inspector = make_user("inspector")
    officer = signed_in(centre)
    for person in (outsider, inspector):
        assert post(officer, f"/console/people/{person.id}/reset").status_code == 404
        assert post(officer, f"/console/people/{person.id}/sessions/end").status_code == 404
        assert (
            post(officer, f"/console/people/{person.id}/active", {"active": "0"}).status_code == 404
        )
    assert session.scalars(select(OneTimeLink)).all() == []
    session.expire_all()
    assert session.get(User, outsider.id).active


def test_deactivating_a_person_stops_their_sessions_at_once(
    centre: User, signed_in: Any, make_user: Any, build: Any, session: Session
) -> None:
    farmer = make_user("producer", build.organization())
    farmers_phone = signed_in(farmer)
    assert (
        post(signed_in(centre), f"/console/people/{farmer.id}/active", {"active": "0"}).status_code
        == 303
    )
    assert farmers_phone.get("/console/").status_code == 302
    assert (
        post(signed_in(centre), f"/console/people/{farmer.id}/active", {"active": "1"}).status_code
        == 303
    )
    assert signed_in(farmer).get("/console/").status_code == 200


def test_an_admin_ends_a_persons_sessions(
    make_user: Any, signed_in: Any, build: Any, session: Session
) -> None:
    farmer = make_user("producer", build.organization())
    farmers_phone = signed_in(farmer)
    admin = signed_in(make_user("admin"))
    assert post(admin, f"/console/people/{farmer.id}/sessions/end").status_code == 303
    assert farmers_phone.get("/console/").status_code == 302
    open_rows = session.scalars(
        select(UserSession).where(UserSession.user_id == farmer.id, UserSession.ended_at.is_(None))
    )
    assert open_rows.all() == []


def test_producers_and_inspectors_manage_nobody(make_user: Any, signed_in: Any, build: Any) -> None:
    for role in ("producer", "inspector"):
        client = signed_in(make_user(role, build.organization() if role == "producer" else None))
        assert client.get("/console/people").status_code == 403
        token = csrf_of(client.get("/console/").get_data(as_text=True))
        response = client.post(
            "/console/people/invite",
            data={"csrf_token": token, "email": "a@example.com", "role": "producer"},
        )
        assert response.status_code == 403
