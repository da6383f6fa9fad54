"""The inspector's desk: the search box, a batch's audit, recalls (with their dry run), the
ledger; who may use each route (inspectors and admin everything, a centre its province, a
producer nothing), and that what the pages show is escaped."""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.console.conftest import csrf_of
from trace.db import db
from trace.jobs import enqueue
from trace.jobs.worker import Worker
from trace.labels.codes import new_unit_code
from trace.models import Base, Batch, Code, CodeKind, CodeStatus, JobStatus, Role
from trace.services.actors import Actor
from trace.services.inspection import export_jobs, recalls

ROLES = ("admin", "centre", "producer", "inspector")
ADMIN = Actor(role=Role.ADMIN, label="test")

#: (method, path, form); {batch} and {recall} are the own or the foreign province's
MATRIX_ROUTES = [
    ("GET", "/console/find?q=HTX", {}),
    ("GET", "/console/find.js", {}),
    ("GET", "/console/batches/{batch}/audit", {}),
    ("GET", "/console/batches/{batch}/audit/print", {}),
    ("GET", "/console/ledger", {}),
    ("GET", "/console/ledger?check={job}", {}),
    ("POST", "/console/ledger/verify", {}),
    ("GET", "/console/recalls", {}),
    ("POST", "/console/recalls/preview", {"batches": "{batch}", "reason": "r"}),
    ("POST", "/console/recalls", {"batches": "{batch}", "reason": "r"}),
    ("GET", "/console/recalls/{recall}", {}),
    ("POST", "/console/recalls/{recall}/close", {"note": "done"}),
    ("GET", "/console/exports", {}),
    ("POST", "/console/exports", {"format": "csv", "batch": "{batch}"}),
    ("GET", "/console/exports/{job}", {}),
    ("GET", "/console/exports/{job}/download", {}),
]
SCOPED = {"{batch}", "{recall}", "{job}"}


def owner_or_admin(role: str, whose: str) -> bool:
    """An export is read by whoever asked for it, and by admin."""
    return role == "admin" or whose == "own"


def may(role: str, whose: str) -> bool:
    return role in ("admin", "inspector") or (role == "centre" and whose == "own")


@dataclass
class Desk:
    users: dict[str, Any]
    own: dict[str, Any]
    foreign: dict[str, Any]


_lots = itertools.count(1)


@pytest.fixture
def desk(build: Any, make_user: Any, session: Any) -> Desk:
    own_org = build.organization(name="HTX Phượng Sơn <b>", province_code="24")
    foreign_org = build.organization(name="HTX Hàng Xóm", province_code="01")
    centre_org = build.organization(kind="centre", name="Trung tâm 24", province_code="24")
    own_product = build.product(own_org, name_vi="Vải thiều Lục Ngạn", gtin="8934567890120")
    foreign_product = build.product(foreign_org, name_vi="Cam Cao Phong")
    own_batch = build.batch(own_product, lot_code="LN-OWN-01")
    foreign_batch = build.batch(foreign_product, lot_code="CP-FOR-01")
    users = {
        "admin": make_user("admin"),
        "centre": make_user("centre", centre_org),
        "producer": make_user("producer", own_org),
        "inspector": make_user("inspector"),
    }
    stranger = make_user("inspector")
    session.rollback()
    own_recall = recalls.create_recall(session, ADMIN, {"batches": [own_batch.id],
                                       "reason": "x", "include_downstream": False})  # fmt: skip
    foreign_recall = recalls.create_recall(session, ADMIN, {"batches": [foreign_batch.id],
                                           "reason": "y", "include_downstream": False})  # fmt: skip
    ids = own_batch.id, foreign_batch.id, own_recall.id, foreign_recall.id
    jobs = {role: _done_export(session, user) for role, user in users.items()}
    jobs["foreign"] = _done_export(session, stranger)
    session.commit()
    return Desk(
        users,
        {"batch": ids[0], "recall": ids[2], "org": own_org, "jobs": jobs},
        {"batch": ids[1], "recall": ids[3], "org": foreign_org, "jobs": jobs},
    )


def _done_export(session: Any, user: Any) -> int:
    """A finished export of ``user`` (whatever the role: the matrix reads it)."""
    job = enqueue(session, export_jobs.JOB_KIND, {"format": "csv", "filters": {}},
                  subject=("user", user.id))  # fmt: skip
    job.status, job.result_file, job.result_type = JobStatus.DONE, "none.csv", "text/csv"
    session.flush()
    return job.id


def _fill(text: str, values: dict[str, Any], role: str = "admin", whose: str = "own") -> str:
    job = values["jobs"][role if whose == "own" else "foreign"]
    return (
        text.replace("{batch}", str(values["batch"]))
        .replace("{recall}", str(values["recall"]))
        .replace("{job}", str(job))
    )


CASES = [
    pytest.param(method, path, form, role, whose, id=f"{method} {path} {role} {whose}")
    for method, path, form in MATRIX_ROUTES
    for role in ROLES
    for whose in (("own", "foreign") if any(k in path + str(form) for k in SCOPED) else ("own",))
]


@pytest.mark.parametrize("method,path,form,role,whose", CASES)
def test_desk_route(app: Flask, desk: Desk, signed_in: Any, method: str, path: str,
                    form: dict[str, str], role: str, whose: str) -> None:  # fmt: skip
    client = signed_in(desk.users[role])
    values = desk.own if whose == "own" else desk.foreign
    url = _fill(path, values, role, whose)
    if method == "GET":
        response = client.get(url)
    else:
        token = csrf_of(client.get("/console/").get_data(as_text=True))
        data = {k: _fill(v, values, role, whose) for k, v in form.items()}
        response = client.post(url, data={"csrf_token": token, **data})
    if "{job}" in path:
        if path.endswith("/download") and owner_or_admin(role, whose):
            assert response.status_code == 404  # the test's job has no file: found, no file
            return
        expected = {200} if owner_or_admin(role, whose) else {403}
        if "ledger" in path and role == "producer":
            expected = {403}  # the desk refuses a producer before any job is read
        assert response.status_code in expected, response.status_code
        return
    if "/close" in path and may(role, whose):
        # the recall of the world is open: closing it is allowed once
        assert response.status_code == 303
        return
    expected = {200, 303} if may(role, whose) else {403, 404}
    assert response.status_code in expected, (response.status_code,
                                              response.get_data(as_text=True)[:300])  # fmt: skip


@pytest.mark.parametrize("method,path,form", MATRIX_ROUTES, ids=lambda v: str(v))
def test_an_anonymous_visitor_gets_the_sign_in(app: Flask, desk: Desk, method, path, form) -> None:
    client = app.test_client()
    url = _fill(path, desk.own)
    if method == "GET":
        response = client.get(url)
    else:
        token = csrf_of(client.get("/console/sign-in").get_data(as_text=True))
        response = client.post(url, data={"csrf_token": token})
    assert response.status_code in {302, 303} and "/console/sign-in" in response.location


def _post(client: Any, url: str, **data: str) -> Any:
    token = csrf_of(client.get("/console/").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def _counts(app: Flask) -> dict[str, int]:
    with db.new_session(app) as fresh:
        return {
            t.name: fresh.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
            if t.name not in ("user_session", "login_attempt")
        }


def test_find_reads_every_kind_of_text(app: Flask, desk: Desk, signed_in: Any, session) -> None:
    client = signed_in(desk.users["inspector"])
    code = new_unit_code()
    session.add(Code(code=code, kind=CodeKind.UNIT, batch_id=desk.own["batch"],
                     status=CodeStatus.PRINTED))  # fmt: skip
    session.commit()
    audit = f"/console/batches/{desk.own['batch']}/audit"
    dashed = "-".join([code[:4], code[4:8].lower(), code[8:]])
    for text in (
        code,
        dashed,
        f"https://trace.example.vn/q/{code}",
        f"https://trace.example.vn/01/08934567890120/10/LN-OWN-01/21/{code}",
        "/01/08934567890120/10/LN-OWN-01",
        "ln-own-01",
    ):
        response = client.get("/console/find", query_string={"q": text})
        assert response.status_code == 303 and response.location.endswith(audit), text
    gtin = client.get("/console/find", query_string={"q": "8934567890120"})
    assert gtin.status_code == 303 and "/console/products" in gtin.location
    # Several matches: a list grouped by kind; names without diacritics.
    listed = client.get("/console/find", query_string={"q": "htx"})
    page = listed.get_data(as_text=True)
    assert listed.status_code == 200
    assert "HTX Phượng Sơn &lt;b&gt;" in page and "HTX Phượng Sơn <b>" not in page
    assert "HTX Hàng Xóm" in page
    one = client.get("/console/find", query_string={"q": "hang xom"})
    assert one.status_code == 303 and one.location.endswith(
        f"/console/organisations/{desk.foreign['org'].id}"
    )
    nothing = client.get("/console/find", query_string={"q": "https://x.vn/01/12345678901234"})
    assert nothing.status_code == 200 and "Không tìm thấy" in nothing.get_data(as_text=True)


def test_a_centre_finds_only_its_province(app: Flask, desk: Desk, signed_in: Any) -> None:
    client = signed_in(desk.users["centre"])
    page = client.get("/console/find", query_string={"q": "htx"})
    assert page.status_code == 303  # only its own province's HTX: straight to it
    assert page.location.endswith(f"/console/organisations/{desk.own['org'].id}")
    foreign = client.get("/console/find", query_string={"q": "cp-for-01"})
    assert foreign.status_code == 200 and "CP-FOR-01" not in foreign.get_data(as_text=True)
    producer = signed_in(desk.users["producer"])
    assert producer.get("/console/find?q=htx").status_code == 403


def test_recall_through_the_console_after_a_dry_run(app: Flask, desk: Desk, signed_in: Any):
    client = signed_in(desk.users["inspector"])
    with db.new_session(app) as s:
        batch = s.get(Batch, desk.own["batch"])
        product = batch.product
        fresh = Batch(product_id=product.id, producer_id=batch.producer_id, lot_code="LN-OWN-02",
                  quantity=10, unit=batch.unit, production_date=batch.production_date)  # fmt: skip
        s.add(fresh)
        s.commit()
        fresh_id = fresh.id
    before = _counts(app)
    form = {"batches": str(fresh_id), "reason": "Nhiễm khuẩn <script>",
            "instruction_vi": "Trả lại cửa hàng", "instruction_en": "Return it",
            "include_downstream": "1"}  # fmt: skip
    preview = _post(client, "/console/recalls/preview", **form)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200, page[:500]
    assert "LN-OWN-02" in page and "Nhiễm khuẩn &lt;script&gt;" in page
    assert _counts(app) == before  # the dry run wrote nothing
    confirmed = _post(client, "/console/recalls", **form)
    assert confirmed.status_code == 303
    shown = client.get(confirmed.location).get_data(as_text=True)
    assert "Trả lại cửa hàng" in shown and "Return it" in shown
    with db.new_session(app) as s:
        assert s.get(Batch, fresh_id).status.value == "recalled"
    # bad input: a clear page with the error by its field, nothing written
    bad = _post(client, "/console/recalls/preview", batches="abc", reason="")
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)


def test_a_centre_cannot_recall_or_audit_another_province(app, desk: Desk, signed_in: Any):
    client = signed_in(desk.users["centre"])
    before = _counts(app)
    foreign = str(desk.foreign["batch"])
    assert _post(client, "/console/recalls/preview", batches=foreign, reason="r").status_code == 403
    assert _post(client, "/console/recalls", batches=foreign, reason="r").status_code == 403
    assert client.get(f"/console/batches/{foreign}/audit").status_code == 403
    assert client.get(f"/console/recalls/{desk.foreign['recall']}").status_code == 403
    listed = client.get("/console/recalls").get_data(as_text=True)
    assert f"/console/recalls/{desk.foreign['recall']}" not in listed
    assert f"/console/recalls/{desk.own['recall']}" in listed
    assert _counts(app) == before


def test_audit_page_and_ledger(app: Flask, desk: Desk, signed_in: Any) -> None:
    client = signed_in(desk.users["inspector"])
    page = client.get(f"/console/batches/{desk.own['batch']}/audit?depth=3")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "LN-OWN-01" in text
    assert f"/console/batches/{desk.own['batch']}/audit/print" in text
    printable = client.get(f"/console/batches/{desk.own['batch']}/audit/print")
    assert printable.status_code == 200 and "@media print" in printable.get_data(as_text=True)
    assert 'width=""' not in printable.get_data(as_text=True)
    asked = _post(client, "/console/ledger/verify")
    assert asked.status_code == 303
    waiting = client.get(asked.location).get_data(as_text=True)
    assert 'http-equiv="refresh"' in waiting and "flask --app wsgi ledger verify" in waiting
    Worker(app).run(burst=True)
    done = client.get(asked.location).get_data(as_text=True)
    assert "Sổ cái nguyên vẹn" in done and 'http-equiv="refresh"' not in done
    # Someone else's check is not theirs to read.
    other = signed_in(desk.users["centre"])
    assert other.get(asked.location).status_code == 403


def test_an_export_runs_as_a_job_and_downloads(app, client, build, token, make_user, signed_in):
    from tests.api.inspection_support import build_chain

    chain = build_chain(client, build, token)
    inspector = signed_in(make_user("inspector"))
    started = _post(inspector, "/console/exports", format="csv", organization=str(
        chain["distributor"].id), lang="en")  # fmt: skip
    assert started.status_code == 303
    waiting = inspector.get(started.location)
    assert waiting.status_code == 200 and 'http-equiv="refresh"' in waiting.get_data(as_text=True)
    Worker(app).run(burst=True)
    done = inspector.get(started.location).get_data(as_text=True)
    assert 'id="download"' in done and 'http-equiv="refresh"' not in done
    file = inspector.get(started.location + "/download")
    assert file.status_code == 200 and file.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(file.get_data().decode("utf-8-sig"))))
    assert {r["Traceability lot code"] for r in rows} == {"VS-2606-01", "HQ-2606-01"}
    # Another inspector cannot read it; the portal export is JSON.
    other = signed_in(make_user("inspector"))
    assert other.get(started.location).status_code == 403
    assert other.get(started.location + "/download").status_code == 403
    portal = _post(inspector, "/console/exports", format="portal", batch=str(chain["b"].id))
    Worker(app).run(burst=True)
    body = inspector.get(portal.location + "/download")
    assert body.status_code == 200 and body.json[0]["lot_code"] == "VS-2606-01"
    bad = _post(inspector, "/console/exports", format="csv", batch="abc", to="soon")
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)


def test_the_ledger_check_names_the_first_problem(app, client, build, token, make_user, signed_in):
    import json

    from tests.api.inspection_support import build_chain, raw

    chain = build_chain(client, build, token)
    raw(app, "UPDATE event SET document = :doc WHERE seq = 3",
        doc=json.dumps({"type": "ObjectEvent", "eventID": "urn:uuid:forged"}))  # fmt: skip
    inspector = signed_in(make_user("inspector"))
    asked = _post(inspector, "/console/ledger/verify")
    Worker(app).run(burst=True)
    page = inspector.get(asked.location).get_data(as_text=True)
    assert "Sổ cái không khớp" in page and "Vấn đề đầu tiên: mục 3" in page
    # the audit of the altered batch (the lychee's third event) says so too, now
    audit = inspector.get(f"/console/batches/{chain['a'].id}/audit").get_data(as_text=True)
    assert "Một số mục của lô này không khớp" in audit


def test_a_centre_finds_what_its_province_received(app, client, build, token, make_user,
                                                   signed_in) -> None:  # fmt: skip
    from tests.api.inspection_support import build_chain

    chain = build_chain(client, build, token)  # the lychee (Bắc Ninh) was received in Hà Nội
    hanoi_centre = build.organization(kind="centre", name="Trung tâm Hà Nội", province_code="01")
    hanoi = signed_in(make_user("centre", hanoi_centre))
    received = hanoi.get("/console/find", query_string={"q": "ln2606-a01"})
    assert received.status_code == 303
    assert received.location.endswith(f"/console/batches/{chain['a'].id}/audit")
    never_shipped = hanoi.get("/console/find", query_string={"q": "ln2606-z99"})
    assert never_shipped.status_code == 200
    assert "LN2606-Z99" not in never_shipped.get_data(as_text=True)
    assert hanoi.get(f"/console/batches/{chain['other'].id}/audit").status_code == 403


def test_the_audit_names_the_console_user_who_recorded(app, desk: Desk, signed_in, session):
    from trace.api.event_schemas import StageForm
    from trace.models import User
    from trace.services.accounts.users import actor_for
    from trace.services.events import stages

    session.rollback()
    person = session.get(User, desk.users["producer"].id)
    person.name = "Nguyễn Thị <Hoa>"
    form = StageForm().load({"stage": "harvesting", "time": "2026-06-08T05:30:00"})
    stages.record_stage(session, actor_for(person), desk.own["batch"], form, "https://t.vn")
    session.commit()
    page = signed_in(desk.users["inspector"]).get(f"/console/batches/{desk.own['batch']}/audit")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Nguyễn Thị &lt;Hoa&gt;" in text and "Nguyễn Thị <Hoa>" not in text


def test_asking_again_queues_no_more_work(app, client, build, token, make_user, signed_in,
                                          session) -> None:  # fmt: skip
    """A whole-ledger check already on its way is the answer to asking again; a person has at
    most two exports being made at once (each fills a file): repeated clicks, or a script with
    a signed-in session, cannot fill the job queue or the disk."""
    from sqlalchemy import func, select

    from tests.api.inspection_support import build_chain
    from trace.models import Job

    chain = build_chain(client, build, token)
    inspector = signed_in(make_user("inspector"))
    first = _post(inspector, "/console/ledger/verify")
    again = _post(inspector, "/console/ledger/verify")
    assert first.status_code == again.status_code == 303 and again.location == first.location

    def jobs(kind: str) -> int:
        session.rollback()
        return session.scalar(select(func.count()).select_from(Job).where(Job.kind == kind))

    assert jobs("ledger_verify") == 1
    for _ in range(2):
        made = _post(inspector, "/console/exports", format="csv", batch=str(chain["b"].id))
        assert made.status_code == 303
    third = _post(inspector, "/console/exports", format="csv", batch=str(chain["b"].id))
    assert third.status_code == 409 and "vẫn đang được tạo" in third.get_data(as_text=True)
    assert jobs("console_export") == 2
    Worker(app).run(burst=True)  # once they are made, the next may be asked for
    assert _post(inspector, "/console/exports", format="csv").status_code == 303
    assert _post(inspector, "/console/ledger/verify").location != first.location


def test_a_centre_finds_its_own_lot_behind_many_of_elsewhere(build, make_user, signed_in,
                                                             monkeypatch) -> None:  # fmt: skip
    """The search keeps a kind's first hits: a centre's own batches come before those of other
    provinces it may not read, so a common lot code elsewhere does not hide its own."""
    from trace.services.inspection import finder

    monkeypatch.setattr(finder, "LIMIT", 3)
    ours = build.organization(name="HTX Lục Ngạn", province_code="24")
    own = build.batch(build.product(ours), lot_code="VAI-2026")
    for _ in range(4):  # newer, of the same lot code, in another province
        build.batch(build.product(build.organization(province_code="01")), lot_code="VAI-2026")
    centre = signed_in(make_user("centre", build.organization(kind="centre", province_code="24")))
    found = centre.get("/console/find", query_string={"q": "vai-2026"})
    assert found.status_code == 303, found.get_data(as_text=True)[:500]
    assert found.location.endswith(f"/console/batches/{own.id}/audit")
