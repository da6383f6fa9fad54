"""Consumer reports and flagged codes on the console (issue 13): a centre reads its province's
reports, open first, assigns one to a person of its province, resolves it with a note (each
change audited); it sees the scans behind its flagged code (client hashes shortened, never an
address) and clears the warning with a reason through the API's service. Another province's
report or code is not found; what consumers wrote renders inert."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.console.centre_world import Province, add_world_scans, province, run_rollup
from tests.console.conftest import csrf_of
from trace.models import AuditEntry, Code, Organization, Report, User


@pytest.fixture
def world(session: Session, client: Any, build: Any, token: Any) -> dict[str, Province]:
    own = province(session, client, build, token, "24", "HTX Phượng Sơn", "BN")
    foreign = province(session, client, build, token, "01", "HTX Hàng Xóm", "HN")
    add_world_scans(session, own, foreign)
    return {"own": own, "foreign": foreign}


@pytest.fixture
def centre_org(build: Any) -> Organization:
    return build.organization(kind="centre", name="Trung tâm Bắc Ninh", province_code="24")


@pytest.fixture
def officer(make_user: Any, centre_org: Organization) -> User:
    return make_user("centre", centre_org, name="Chị Lan")  # type: ignore[no-any-return]


def _get(client: Any, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, (response.status_code, path)
    return str(response.get_data(as_text=True))


def _post(client: Any, page: str, action: str, data: dict[str, Any]) -> Any:
    token = csrf_of(_get(client, page))
    return client.post(action, data={"csrf_token": token, **data})


def _audits(session: Session, action: str, entity: str, entity_id: int) -> list[AuditEntry]:
    session.rollback()
    return list(session.scalars(select(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.entity_type == entity,
        AuditEntry.entity_id == str(entity_id))))  # fmt: skip


def test_reports_open_first_then_read_assign_and_resolve(
    session: Session, world: dict[str, Province], officer: User, make_user: Any,
    signed_in: Any, build: Any,
) -> None:  # fmt: skip
    own, foreign = world["own"], world["foreign"]
    client = signed_in(officer)
    listing = _get(client, "/console/reports?lang=en")
    assert listing.index(f"#{own.report.id} ") < listing.index(f"#{own.resolved.id} ")
    assert f"#{foreign.report.id} " not in listing and "Tem lạ HN" not in listing
    only_open = _get(client, "/console/reports?lang=en&status=open")
    assert f"#{own.report.id} " in only_open and f"#{own.resolved.id} " not in only_open

    page = f"/console/reports/{own.report.id}?lang=en"
    read = _get(client, page)
    assert "Tem lạ BN" in read and "BN-1" in read
    colleague = make_user("centre", officer.organization, name="Anh Minh")
    inspector = make_user("inspector", name="Ông Thanh")
    elsewhere = make_user("centre", build.organization(kind="centre", province_code="01"),
                          name="Người Hà Nội")  # fmt: skip
    read = _get(client, page)
    assert "Anh Minh" in read and "Ông Thanh" in read and "Người Hà Nội" not in read

    refused = _post(client, page, f"/console/reports/{own.report.id}/assign",
                    {"assignee_id": str(elsewhere.id)})  # fmt: skip
    assert refused.status_code == 400
    done = _post(client, page, f"/console/reports/{own.report.id}/assign",
                 {"assignee_id": str(colleague.id)})  # fmt: skip
    assert done.status_code == 303
    [entry] = _audits(session, "assign", "report", own.report.id)
    assert entry.user_id == officer.id and entry.after["assignee_id"] == colleague.id
    mine = _get(signed_in(colleague), "/console/reports?lang=en&assignee=me")
    assert f"#{own.report.id} " in mine and "Handled by Anh Minh" in mine

    empty = _post(client, page, f"/console/reports/{own.report.id}/resolve", {"resolution": ""})
    assert empty.status_code == 400 and 'id="e-resolution"' in empty.get_data(as_text=True)
    resolved = _post(client, page, f"/console/reports/{own.report.id}/resolve",
                     {"resolution": "Tem thật, đã gọi lại cho người mua."})  # fmt: skip
    assert resolved.status_code == 303
    session.rollback()
    report = session.get(Report, own.report.id, populate_existing=True)
    assert report is not None and report.status == "resolved"
    assert report.resolved_by_user_id == officer.id
    assert report.resolution == "Tem thật, đã gọi lại cho người mua."
    assert len(_audits(session, "resolve", "report", own.report.id)) == 1
    again = _post(client, page, f"/console/reports/{own.report.id}/resolve",
                  {"resolution": "again"})  # fmt: skip
    assert again.status_code == 409
    assert inspector.id  # an inspector was offered, and the foreign officer was not


def test_another_provinces_report_is_not_found_and_nothing_changes(
    session: Session, world: dict[str, Province], officer: User, signed_in: Any
) -> None:
    foreign = world["foreign"].report
    client = signed_in(officer)
    _get(client, f"/console/reports/{foreign.id}", 404)
    own_page = f"/console/reports/{world['own'].report.id}"
    for action, data in (("assign", {"assignee_id": str(officer.id)}),
                         ("resolve", {"resolution": "mine now"})):  # fmt: skip
        response = _post(client, own_page, f"/console/reports/{foreign.id}/{action}", data)
        assert response.status_code in (403, 404)
    session.rollback()
    report = session.get(Report, foreign.id, populate_existing=True)
    assert report is not None and report.status == "open" and report.assignee_id is None


def test_what_a_consumer_wrote_renders_inert(
    session: Session, world: dict[str, Province], officer: User, signed_in: Any
) -> None:
    session.rollback()
    report = Report(batch_id=world["own"].batch.id, kind="other",
                    message='<script>alert(1)</script><img src=x onerror="alert(2)">',
                    contact="<b>me</b>", client_hash="d" * 64)  # fmt: skip
    session.add(report)
    session.commit()
    client = signed_in(officer)
    for path in ("/console/reports", f"/console/reports/{report.id}"):
        page = _get(client, path)
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>me" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_producer_handles_no_reports_or_flags(
    world: dict[str, Province], make_user: Any, signed_in: Any
) -> None:
    own = world["own"]
    client = signed_in(make_user("producer", own.producer))
    for path in ("/console/reports", f"/console/reports/{own.report.id}", "/console/flags",
                 f"/console/flags/{own.copied.id}"):  # fmt: skip
        _get(client, path, 403)


def test_the_flagged_code_its_scans_and_clearing_the_warning(
    app: Any, session: Session, world: dict[str, Province], officer: User, signed_in: Any
) -> None:
    own, foreign = world["own"], world["foreign"]
    run_rollup(app, session)
    client = signed_in(officer)
    listing = _get(client, "/console/flags?lang=en")
    assert "BNCOPY" in listing and "BNCALM" not in listing and "HN" not in listing
    page = f"/console/flags/{own.copied.id}?lang=en"
    detail = _get(client, page)
    start = detail.index('id="scans"')
    scans = detail[start : detail.index("</table>", start)]
    assert scans.count("<tr") == 7  # the header and six scans
    assert "Hà Nội" in scans and "Huế" in scans
    clients = re.findall(r'<td class="code">([^<]*)</td>', scans)
    assert clients and all(len(c) == 8 for c in clients)
    assert "0" * 64 not in detail and "0" * 9 not in detail  # never the whole hash

    empty = _post(client, page, f"/console/flags/{own.copied.id}/clear", {"reason": ""})
    assert empty.status_code == 400
    cleared = _post(client, page, f"/console/flags/{own.copied.id}/clear",
                    {"reason": "Sáu người cùng một đoàn tham quan <b>"})  # fmt: skip
    assert cleared.status_code == 303
    session.rollback()
    code = session.get(Code, own.copied.id, populate_existing=True)
    assert code is not None and code.copy_warning_cleared_at is not None
    [entry] = _audits(session, "clear_copy_warning", "code", own.copied.id)
    assert entry.user_id == officer.id
    after = _get(client, page)
    assert "đoàn tham quan &lt;b&gt;" in after and "before the warning was cleared" in after
    assert "BNCOPY" not in _get(client, "/console/flags?lang=en")  # only new scans bring it back

    _get(client, f"/console/flags/{foreign.copied.id}", 404)
    foreign_clear = _post(client, page, f"/console/flags/{foreign.copied.id}/clear",
                          {"reason": "not mine"})  # fmt: skip
    assert foreign_clear.status_code in (403, 404)


def test_an_inspector_sees_and_clears_any_provinces_flag(
    app: Any, session: Session, world: dict[str, Province], make_user: Any, signed_in: Any
) -> None:
    run_rollup(app, session)
    client = signed_in(make_user("inspector"))
    assert "BNCOPY" in _get(client, "/console/flags?lang=en")
    page = f"/console/flags/{world['own'].copied.id}"
    assert _post(client, page, f"{page}/clear", {"reason": "checked"}).status_code == 303
    assert f"#{world['foreign'].report.id} " in _get(client, "/console/reports?lang=en")
