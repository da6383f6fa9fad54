"""The administrator's screens (issue 13): people across provinces (end sessions, deactivate,
revoke tokens), the audit log with its filters and keyset pages, the system's status. Only an
administrator reaches ``/console/admin/*``."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.console.conftest import csrf_of
from trace.codeview import live
from trace.models import ApiToken, AuditEntry, Job, JobStatus, User
from trace.services import audit
from trace.services.accounts.users import actor_for
from trace.services.registry.tokens import create_personal_token

LATEST_MIGRATION = max(
    path.stem for path in (Path(__file__).parents[2] / "trace/migrations/versions").glob("0*.py")
)
ADMIN_PAGES = ("/console/admin/users", "/console/admin/audit", "/console/admin/status")


@pytest.fixture
def people(build: Any, make_user: Any) -> dict[str, User]:
    bac_ninh = build.organization(name="HTX Phượng Sơn", province_code="24")
    ha_noi = build.organization(name="HTX Hà Nội", province_code="01")
    centre_org = build.organization(kind="centre", name="Trung tâm 24", province_code="24")
    return {
        "admin": make_user("admin", name="Quản trị"),
        "centre": make_user("centre", centre_org, name="Cán bộ trung tâm"),
        "producer": make_user("producer", bac_ninh, name="Chị Lan"),
        "hanoi": make_user("producer", ha_noi, name="Anh Minh"),
        "inspector": make_user("inspector", name="Thanh tra"),
    }


def post(client: Any, path: str, data: dict[str, str] | None = None) -> Any:
    token = csrf_of(client.get("/console/").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **(data or {})})


def text_of(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.get_data(as_text=True))


@pytest.mark.parametrize("role", ["centre", "producer", "inspector"])
def test_only_an_administrator_reaches_the_admin_pages(
    people: dict[str, User], signed_in: Any, role: str, session: Session
) -> None:
    client = signed_in(people[role])
    for path in ADMIN_PAGES:
        response = client.get(path)
        assert response.status_code == 403, (path, response.status_code)
        assert 'lang="vi"' in response.get_data(as_text=True)  # the friendly page
    target = people["hanoi"]
    assert client.get(f"/console/admin/users/{target.id}").status_code == 403
    assert post(client, f"/console/admin/users/{target.id}/sessions/end").status_code == 403
    assert (
        post(client, f"/console/admin/users/{target.id}/active", {"active": "0"}).status_code == 403
    )
    session.rollback()
    assert session.scalar(select(User.active).where(User.id == target.id))
    nav = client.get("/console/").get_data(as_text=True)
    assert "/console/admin/" not in nav


def test_the_admin_menu_shows_the_admin_pages(people: dict[str, User], signed_in: Any) -> None:
    page = text_of(signed_in(people["admin"]).get("/console/"))
    for path in (*ADMIN_PAGES, "/console/imports"):
        assert f'href="{path}"' in page


def test_an_admin_ends_a_users_sessions_and_their_next_click_lands_on_sign_in(
    people: dict[str, User], signed_in: Any, session: Session
) -> None:
    producer = people["producer"]
    theirs, other_browser = signed_in(producer), signed_in(producer)
    assert theirs.get("/console/batches").status_code == 200
    admin = signed_in(people["admin"])
    page = text_of(admin.get(f"/console/admin/users/{producer.id}"))
    assert "2" in re.search(r"Phiên đang mở: (\d+)|Open sessions: (\d+)", page).group(0)  # type: ignore[union-attr]
    response = post(admin, f"/console/admin/users/{producer.id}/sessions/end")
    assert response.status_code == 303
    page = text_of(admin.get(response.location))
    assert "2" in page and 'role="status"' in page
    for browser in (theirs, other_browser):
        after = browser.get("/console/batches")
        assert after.status_code == 302 and "/console/sign-in" in after.location
    session.rollback()
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "end_sessions")).one()
    assert entry.entity_id == str(producer.id) and entry.user_id == people["admin"].id
    assert text_of(admin.get("/console/admin/users")).count("Quản trị") >= 1  # admin still in


def test_deactivating_stops_the_person_and_reactivating_lets_them_in_again(
    people: dict[str, User], signed_in: Any, session: Session
) -> None:
    person = people["hanoi"]
    theirs = signed_in(person)
    admin = signed_in(people["admin"])
    assert (
        post(admin, f"/console/admin/users/{person.id}/active", {"active": "0"}).status_code == 303
    )
    assert theirs.get("/console/").status_code == 302
    session.rollback()
    assert session.scalar(select(User.active).where(User.id == person.id)) is False
    listed = text_of(admin.get("/console/admin/users?active=0"))
    assert "Anh Minh" in listed and "Chị Lan" not in listed
    assert (
        post(admin, f"/console/admin/users/{person.id}/active", {"active": "1"}).status_code == 303
    )
    signed_in(person)  # may sign in again


def test_an_admin_lists_and_revokes_a_persons_api_tokens(
    people: dict[str, User], signed_in: Any, session: Session, client: Any
) -> None:
    person = people["producer"]
    session.rollback()
    token, secret = create_personal_token(session, actor_for(person), "máy tính bảng <kho>")
    session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/batches", headers=headers).status_code == 200
    admin = signed_in(people["admin"])
    page = text_of(admin.get(f"/console/admin/users/{person.id}"))
    assert "máy tính bảng &lt;kho&gt;" in page and token.prefix in page
    response = post(admin, f"/console/admin/tokens/{token.id}/revoke")
    assert response.status_code == 303 and response.location.endswith(f"/users/{person.id}")
    assert client.get("/api/v1/batches", headers=headers).status_code == 401
    session.rollback()
    assert session.scalar(select(ApiToken.revoked_at).where(ApiToken.id == token.id)) is not None


def test_the_people_list_filters_by_province_organisation_role_and_sign_in(
    people: dict[str, User], signed_in: Any, session: Session
) -> None:
    admin = signed_in(people["admin"])
    session.rollback()
    session.execute(
        update(User)
        .where(User.id == people["centre"].id)
        .values(last_sign_in_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=90))
    )
    session.execute(update(User).where(User.id == people["hanoi"].id).values(last_sign_in_at=None))
    session.commit()

    def names(query: str) -> set[str]:
        page = text_of(admin.get("/console/admin/users?" + query))
        return set(re.findall(r'<div class="row-title"><a href="[^"]+">([^<]+)</a>', page))

    assert names("") == {"Quản trị", "Cán bộ trung tâm", "Chị Lan", "Anh Minh", "Thanh tra"}
    assert names("province=24") == {"Cán bộ trung tâm", "Chị Lan"}
    assert names("province=01") == {"Anh Minh"}
    assert names(f"organization_id={people['producer'].organization_id}") == {"Chị Lan"}
    assert names("role=producer") == {"Chị Lan", "Anh Minh"}
    assert names("signed_in=never") == {"Anh Minh", "Chị Lan", "Thanh tra"}  # never signed in
    assert names("signed_in=stale") == {"Cán bộ trung tâm"}
    assert names("signed_in=recent") == {"Quản trị"}
    assert names("q=lan") == {"Chị Lan"}
    assert names("role=nonsense&province=xx&active=maybe") == names("")  # no filter, no 500


def test_the_people_list_pages_by_id(
    people: dict[str, User], signed_in: Any, make_user: Any
) -> None:
    for n in range(26):
        make_user("producer", people["producer"].organization, name=f"Người {n:02d}")
    admin = signed_in(people["admin"])
    first = text_of(admin.get("/console/admin/users?role=producer"))
    after = re.search(r'href="(/console/admin/users\?[^"]*after=\d+[^"]*)"', first)
    assert after, "no next page"
    second = text_of(admin.get(after.group(1).replace("&amp;", "&")))
    on_first = set(re.findall(r"Người \d\d", first))
    on_second = set(re.findall(r"Người \d\d", second))
    assert len(on_first) + len(on_second) == 26 and not on_first & on_second


def _entries(session: Session, people: dict[str, User], n: int) -> None:
    session.rollback()
    actor = actor_for(people["producer"])
    for i in range(n):
        audit.record(session, actor, "update", "batch", 1000 + i, after={"note": f"sửa {i}"})
    audit.record(session, actor_for(people["centre"]), "archive", "product", 7)
    old = audit.record(session, actor_for(people["hanoi"]), "create", "organization", 99)
    old.at = dt.datetime(2026, 1, 15, 3, 0, tzinfo=dt.UTC)
    session.commit()


def test_the_audit_log_filters_and_pages_newest_first(
    people: dict[str, User], signed_in: Any, session: Session
) -> None:
    _entries(session, people, 60)
    admin = signed_in(people["admin"])
    first = text_of(admin.get(f"/console/admin/audit?user_id={people['producer'].id}"))
    ids = [int(x) for x in re.findall(r"batch (\d+)</a>", first)]
    assert ids == list(range(1059, 1009, -1))  # 50, newest first, each linked
    assert 'href="/console/batches/1059"' in first
    older = re.search(r'href="(/console/admin/audit\?[^"]*before=\d+[^"]*)"', first)
    assert older
    second = text_of(admin.get(older.group(1).replace("&amp;", "&")))
    assert [int(x) for x in re.findall(r"batch (\d+)</a>", second)] == list(range(1009, 999, -1))
    assert 'class="button" href="/console/admin/audit?before' not in second  # the last page

    by_action = text_of(admin.get("/console/admin/audit?action=archive"))
    assert "product 7" in by_action and "batch 10" not in by_action
    org = people["centre"].organization_id
    assert "product 7" in text_of(admin.get(f"/console/admin/audit?organization_id={org}"))
    kinds = text_of(admin.get("/console/admin/audit?entity_type=organization"))
    assert 'href="/console/organisations/99"' in kinds
    january = text_of(admin.get("/console/admin/audit?since=2026-01-15&until=2026-01-15"))
    assert "organization 99" in january and "batch 10" not in january
    assert "organization 99" not in text_of(admin.get("/console/admin/audit?since=2026-01-16"))
    junk = admin.get("/console/admin/audit?since=tomorrow&user_id=abc&before=-1")
    assert junk.status_code == 200


def test_the_audit_log_renders_what_was_changed_inert(
    people: dict[str, User], signed_in: Any, session: Session
) -> None:
    session.rollback()
    evil = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    audit.record(session, actor_for(people["producer"]), evil[:40], evil[:40], evil[:60],
                 after={"name": evil})  # fmt: skip
    session.commit()
    page = text_of(signed_in(people["admin"]).get("/console/admin/audit"))
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page or "\\u003cscript\\u003e" in page


def test_the_system_status_says_ok_or_warns_line_by_line(
    people: dict[str, User], signed_in: Any
) -> None:
    page = text_of(signed_in(people["admin"]).get("/console/admin/status?lang=en"))
    for key in ("database", "migrations", "ledger", "checkpoint", "live", "jobs", "ledger_check",
                "disk"):  # fmt: skip
        assert f'id="status-{key}"' in page, key
    migrations = page.split('id="status-migrations"')[1].split("</li>")[0]
    assert (
        ">OK<" in migrations
        and f"Current: {LATEST_MIGRATION}; head: {LATEST_MIGRATION}" in migrations
    )
    verifier = page.split('id="status-ledger_check"')[1].split("</li>")[0]
    assert "Warning" in verifier and "Never ran" in verifier  # no worker has run here
    disk = page.split('id="status-disk"')[1].split("</li>")[0]
    assert "Free" in disk and ("GiB" in disk or "MiB" in disk)


def test_admin_forms_need_the_csrf_token(
    people: dict[str, User], signed_in: Any, session: Session
) -> None:
    person = people["producer"]
    theirs = signed_in(person)
    admin = signed_in(people["admin"])
    response = admin.post(f"/console/admin/users/{person.id}/sessions/end")
    assert response.status_code == 400
    response = admin.post(f"/console/admin/users/{person.id}/active", data={"active": "0"})
    assert response.status_code == 400
    assert theirs.get("/console/").status_code == 200
    session.rollback()
    assert session.scalar(select(User.active).where(User.id == person.id))


def test_names_render_inert_on_the_people_pages(
    people: dict[str, User], signed_in: Any, make_user: Any
) -> None:
    evil = make_user("producer", people["producer"].organization, name="<script>alert(1)</script>")
    admin = signed_in(people["admin"])
    for path in ("/console/admin/users", f"/console/admin/users/{evil.id}"):
        page = text_of(admin.get(path))
        assert "<script>alert(1)" not in page, page[page.find("<script>alert") - 300 :][:400]
        assert "&lt;script&gt;alert(1)" in page


def _line(page: str, key: str) -> str:
    return page.split(f'id="status-{key}"')[1].split("</li>")[0]


def test_the_status_warns_of_failed_and_long_waiting_jobs(
    people: dict[str, User], signed_in: Any, session: Session
) -> None:
    admin = signed_in(people["admin"])
    assert ">OK<" in _line(text_of(admin.get("/console/admin/status?lang=en")), "jobs")
    session.rollback()
    now = dt.datetime.now(dt.UTC)
    session.add(Job(kind="render_labels", params={}, status=JobStatus.FAILED, finished_at=now,
                    error="boom"))  # fmt: skip
    session.add(Job(kind="render_labels", params={}, run_after=now - dt.timedelta(minutes=9)))
    session.commit()
    jobs = _line(text_of(admin.get("/console/admin/status?lang=en")), "jobs")
    assert "Warning" in jobs and "failed in 24 hours: 1" in jobs and "oldest waiting 9" in jobs


def test_the_status_asks_the_live_state(
    app: Any, people: dict[str, User], signed_in: Any, session: Session
) -> None:
    """PostgreSQL's change feed, or a SQLite file's change counter."""
    admin = signed_in(people["admin"])
    live.start(app)
    live_line = _line(text_of(admin.get("/console/admin/status?lang=en")), "live")
    assert ">OK<" in live_line and "Listening for changes" in live_line
    assert "Scans not yet written: 0" in live_line


def test_a_time_range_pages_by_time_without_gaps_or_repeats(
    people: dict[str, User], signed_in: Any, session: Session
) -> None:
    session.rollback()
    actor = actor_for(people["producer"])
    start = dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.UTC)
    for i in range(70):  # recorded out of time order, some at the same moment
        entry = audit.record(session, actor, "update", "batch", 2000 + i)
        entry.at = start + dt.timedelta(minutes=(i * 37) % 70 // 2)
    session.commit()
    admin = signed_in(people["admin"])
    seen: list[int] = []
    path = "/console/admin/audit?since=2026-03-01&until=2026-03-01"
    for _page in range(3):
        page = text_of(admin.get(path))
        seen += [int(x) for x in re.findall(r"batch (\d+)</a>", page)]
        older = re.search(r'class="button" href="(/console/admin/audit\?[^"]*before=[^"]*)"', page)
        if not older:
            break
        path = older.group(1).replace("&amp;", "&")
    assert sorted(seen) == list(range(2000, 2070))  # every entry once
    moments = {2000 + i: (i * 37) % 70 // 2 for i in range(70)}
    assert [moments[x] for x in seen] == sorted((moments[x] for x in seen), reverse=True)
