"""The console's import upload page (issues 13 and 14): templates, upload, the preview (run as
a job) as a table with row, column and message in the page's language, commit as a job, the
history; the API's authorisation (a producer its own batches, a centre its province, never an
inspector); escaping of file names and cell values; CSRF; bad files."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import gtin13
from tests.console.conftest import csrf_of
from trace.api.imports import engine
from trace.console import import_preview
from trace.jobs.worker import Worker
from trace.models import Batch, Import, Job, User
from trace.services.accounts.users import actor_for


@pytest.fixture
def own(build: Any) -> dict[str, Any]:
    org = build.organization(name="HTX Vải Phượng Sơn", province_code="24")
    product = build.product(org, gtin=gtin13(777001), name_vi="Vải thiều")
    return {"org": org, "product": product}


@pytest.fixture
def foreign(build: Any) -> dict[str, Any]:
    org = build.organization(name="HTX Hà Nội", province_code="01")
    return {"org": org, "product": build.product(org, gtin=gtin13(777002))}


@pytest.fixture
def producer(make_user: Any, own: dict[str, Any]) -> User:
    return make_user("producer", own["org"])


def batches_csv(gtin: str, lot: str = "LN-2026-01") -> str:
    return f"Mã GTIN;Số lô;Số lượng;Ngày sản xuất\n{gtin};{lot};1250,5;12/06/2026\n"


def upload(client: FlaskClient, kind: str, body: bytes | str, name: str = "lô.csv",
           with_csrf: bool = True) -> Any:  # fmt: skip
    data: dict[str, Any] = {"kind": kind}
    data["file"] = (io.BytesIO(body.encode() if isinstance(body, str) else body), name)
    if with_csrf:
        data["csrf_token"] = csrf_of(client.get("/console/imports").get_data(as_text=True))
    return client.post("/console/imports", data=data, content_type="multipart/form-data")


def previewed(app: Any, client: FlaskClient, kind: str, body: bytes | str,
              name: str = "lô.csv") -> tuple[str, str]:  # fmt: skip
    """Upload, let the worker run the preview; the preview page's path and its text."""
    response = upload(client, kind, body, name)
    assert response.status_code == 303, re.findall(
        r"class=\"error\"[^<]*>([^<]*)", response.get_data(as_text=True)
    )
    path = response.location
    waiting = client.get(path).get_data(as_text=True)
    assert 'http-equiv="refresh"' in waiting  # the page refreshes itself until it is done
    assert Worker(app).run(burst=True) >= 1
    page = client.get(path)
    assert page.status_code == 200
    return path, page.get_data(as_text=True)


def _count(session: Session, model: Any) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _imported(session: Session) -> int:
    """Committed imports (each upload's preview is an import record too, ``dry_run``)."""
    session.rollback()
    stmt = select(func.count()).select_from(Import).where(Import.dry_run.is_(False))
    return int(session.scalar(stmt) or 0)


def test_a_producer_previews_fixes_and_commits_a_batches_file(
    app: Any, producer: User, signed_in: Any, own: dict[str, Any], session: Session
) -> None:
    client = signed_in(producer)
    good = own["product"].gtin
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)
    _, page = previewed(app, client, "batches", batches_csv(wrong))
    assert "Mã GTIN" in page and "Số kiểm tra" in page  # column, message in Vietnamese
    assert re.search(r'<td class="n">2</td><td>Mã GTIN</td>', page)
    assert "import_commit" not in page and "/commit" not in page  # nothing to confirm
    assert _count(session, Batch) == 0 and _imported(session) == 0

    path, page = previewed(app, client, "batches", batches_csv(good))
    assert re.search(r'id="count-created">1<', page), page
    commit_path = path + "/commit"
    assert f'action="{commit_path}"' in page
    assert _count(session, Batch) == 0  # a preview writes nothing
    response = client.post(commit_path, data={"csrf_token": csrf_of(page)})
    assert response.status_code == 303 and "/console/imports/" in response.location
    import_path = response.location
    assert 'http-equiv="refresh"' in client.get(import_path).get_data(as_text=True)
    assert Worker(app).run(burst=True) >= 1
    done = client.get(import_path).get_data(as_text=True)
    assert 'id="import-counts"' in done and "1" in done.split('id="import-counts"')[1][:80]
    assert _count(session, Batch) == 1
    assert "LN-2026-01" in client.get("/console/batches").get_data(as_text=True)
    # committing the same preview again goes to the same import, writing nothing more
    again = client.post(commit_path, data={"csrf_token": csrf_of(page)})
    assert again.location == import_path and _imported(session) == 1
    history = client.get("/console/imports").get_data(as_text=True)
    record = session.scalars(select(Import).where(Import.dry_run.is_(False))).one()
    assert "lô.csv" in history and record.sha256[:16] in history and producer.login in history


def test_a_producer_may_not_import_another_organisations_batch(
    app: Any, producer: User, signed_in: Any, foreign: dict[str, Any], session: Session
) -> None:
    client = signed_in(producer)
    _, page = previewed(app, client, "batches", batches_csv(foreign["product"].gtin))
    assert "/commit" not in page and "Hãy chọn một sản phẩm của đơn vị bạn." in page
    assert _count(session, Batch) == 0


def test_a_producer_is_offered_only_batches_and_events(
    producer: User, signed_in: Any, session: Session
) -> None:
    client = signed_in(producer)
    page = client.get("/console/imports").get_data(as_text=True)
    assert 'value="batches"' in page and 'value="events"' in page
    assert 'value="organizations"' not in page
    orgs = "Loại tổ chức;Tên tổ chức;Mã số thuế;Tỉnh;Địa chỉ\nHợp tác xã;X;2400999001;24;Y\n"
    response = upload(client, "organizations", orgs)
    assert response.status_code == 422 and _count(session, Job) == 0


def test_file_names_and_cell_values_render_inert(
    app: Any, producer: User, signed_in: Any, own: dict[str, Any]
) -> None:
    client = signed_in(producer)
    evil = "Vườn <script>alert(2)</script><img src=x onerror=alert(1)>"
    head = "Mã GTIN;Số lô;Số lượng;Ngày sản xuất;Cơ sở sản xuất\n"
    body = head + f"{own['product'].gtin};L1;1;12/06/2026;{evil}\n"
    _, page = previewed(app, client, "batches", body, name="<b onmouseover=alert(3)>lô.csv")
    assert "<script>alert(2)" not in page and "<img src=x" not in page and "<b onm" not in page
    assert "&lt;script&gt;alert(2)" in page, re.findall(r"<tr><td.*?</tr>", page)
    assert "&lt;b onmouseover=alert(3)&gt;lô.csv" in page  # and the file name


@pytest.mark.parametrize(
    "body,name,words",
    [
        (b"PK\x03\x04 not really a zip", "x.xlsx", "XLSX"),
        (b"", "empty.csv", "tr\xe1\xbb\x91ng".decode("utf-8") if False else "rỗng"),
        ("Cột lạ;Số lô\n1;2\n", "cols.csv", "Cột lạ"),
    ],
)
def test_bad_files_get_a_friendly_message_and_nothing_is_written(
    app: Any, producer: User, signed_in: Any, session: Session, body: Any, name: str, words: str
) -> None:
    client = signed_in(producer)
    response = upload(client, "batches", body, name)  # refused at once, on the upload page
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and words.lower() in page.lower()
    assert "/commit" not in page and 'class="error"' in page
    assert _count(session, Batch) == 0 and _imported(session) == 0
    assert _count(session, Job) == 0


def test_the_templates_download(producer: User, signed_in: Any) -> None:
    client = signed_in(producer)
    csv = client.get("/console/imports/templates/batches.csv")
    assert csv.status_code == 200 and "attachment" in csv.headers["Content-Disposition"]
    assert "Số lô" in csv.get_data(as_text=True)
    xlsx = client.get("/console/imports/templates/events.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get("/console/imports/templates/nothing.csv").status_code == 404


def test_uploading_needs_the_csrf_token(
    producer: User, signed_in: Any, own: dict[str, Any], session: Session
) -> None:
    client = signed_in(producer)
    response = upload(client, "batches", batches_csv(own["product"].gtin), with_csrf=False)
    assert response.status_code == 400
    assert _count(session, Job) == 0


def test_a_centre_sees_only_its_provinces_imports(
    app: Any, make_user: Any, signed_in: Any, own: dict[str, Any], foreign: dict[str, Any],
    build: Any,
) -> None:  # fmt: skip
    ours = signed_in(make_user("producer", own["org"]))
    theirs = signed_in(make_user("producer", foreign["org"]))
    paths = {}
    cases = (("own", ours, own["product"], "ours.csv"),
             ("foreign", theirs, foreign["product"], "theirs.csv"))  # fmt: skip
    for who, client, product, name in cases:
        path, page = previewed(app, client, "batches", batches_csv(product.gtin), name)
        response = client.post(path + "/commit", data={"csrf_token": csrf_of(page)})
        paths[who] = response.location
    centre = signed_in(make_user("centre", build.organization(kind="centre", province_code="24")))
    history = centre.get("/console/imports").get_data(as_text=True)
    assert "ours.csv" in history and "theirs.csv" not in history
    assert centre.get(paths["own"]).status_code == 200
    assert centre.get(paths["foreign"]).status_code == 403
    assert ours.get(paths["foreign"]).status_code == 403
    assert theirs.get(paths["foreign"]).status_code == 200


ROLES = ("admin", "centre", "producer", "inspector")
#: every import route × role × own/foreign, as in test_route_matrix.py ("own": the role's own
#: upload or its organisation's or province's import; "foreign": another province's)
MATRIX_ROUTES = [
    ("GET", "/console/imports"),
    ("POST", "/console/imports"),
    ("GET", "/console/imports/templates/{kind}.{fmt}"),
    ("GET", "/console/imports/previews/{preview}"),
    ("POST", "/console/imports/previews/{preview}/commit"),
    ("GET", "/console/imports/{import}"),
]


def importer(role: str, whose: str) -> bool:
    return role != "inspector"


def owner_or_admin(role: str, whose: str) -> bool:
    return role == "admin" or (role != "inspector" and whose == "own")


RULES = [importer, importer, lambda role, whose: True, owner_or_admin, owner_or_admin,
         owner_or_admin]  # fmt: skip


@pytest.fixture
def world(app: Any, make_user: Any, build: Any, own: dict[str, Any], foreign: dict[str, Any],
          session: Session) -> dict[str, Any]:  # fmt: skip
    centre = build.organization(kind="centre", name="Trung tâm 24", province_code="24")
    users = {
        "admin": make_user("admin"),
        "centre": make_user("centre", centre),
        "producer": make_user("producer", own["org"]),
        "inspector": make_user("inspector"),
        "stranger": make_user("producer", foreign["org"]),
    }
    session.rollback()
    previews = {}
    for who, user in users.items():
        product = foreign["product"] if who == "stranger" else own["product"]
        body = batches_csv(product.gtin, f"LOT-{who}").encode()
        if who == "inspector":  # may not import: its "own" preview is another's
            user = users["admin"]
        record = engine.submit(session, actor_for(user), "batches", "m.csv", body, dry_run=True)
        import_preview.stage(app, record.id, body)
        previews[who] = record.job_id
    imports = {}
    for who in ("producer", "stranger"):
        product = foreign["product"] if who == "stranger" else own["product"]
        body = batches_csv(product.gtin, f"IMP-{who}").encode()
        imports[who] = engine.submit(session, actor_for(users[who]), "batches", "i.csv", body).id
    session.commit()
    Worker(app).run(burst=True)
    return {"users": users, "previews": previews, "imports": imports}


@pytest.mark.parametrize(
    "method,path,rule",
    [pytest.param(m, p, r, id=f"{m} {p}") for (m, p), r in zip(MATRIX_ROUTES, RULES, strict=True)],
)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("whose", ["own", "foreign"])
def test_authorisation_of_every_import_route(
    world: dict[str, Any], signed_in: Any, own: dict[str, Any], method: str, path: str,
    rule: Any, role: str, whose: str,
) -> None:  # fmt: skip
    client = signed_in(world["users"][role])
    filled = path.format(
        kind="batches", fmt="csv",
        preview=world["previews"][role if whose == "own" else "stranger"],
        **{"import": world["imports"]["producer" if whose == "own" else "stranger"]},
    )  # fmt: skip
    if method == "GET":
        response = client.get(filled)
    elif filled == "/console/imports":
        response = upload(client, "batches", batches_csv(own["product"].gtin, "NEW-1"))
    else:
        token = csrf_of(client.get("/console/").get_data(as_text=True))
        response = client.post(filled, data={"csrf_token": token})
    expected = {200, 303} if rule(role, whose) else {403, 404}
    assert response.status_code in expected, (response.status_code, filled)


@pytest.mark.parametrize("method,path", MATRIX_ROUTES)
def test_anonymous_visitors_are_sent_to_sign_in(app: Any, world: dict[str, Any], method: str,
                                                path: str) -> None:  # fmt: skip
    client = app.test_client()
    filled = path.format(kind="batches", fmt="csv", preview=world["previews"]["producer"],
                         **{"import": world["imports"]["producer"]})  # fmt: skip
    if method == "GET":
        response = client.get(filled)
    else:
        token = csrf_of(client.get("/console/sign-in").get_data(as_text=True))
        response = client.post(filled, data={"csrf_token": token})
    assert response.status_code in {302, 303} and "/console/sign-in" in response.location


def test_an_unexpected_failure_of_the_preview_says_so_plainly(
    app: Any, producer: User, signed_in: Any, own: dict[str, Any], monkeypatch: Any
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("internal detail /srv/secret")

    monkeypatch.setattr(engine, "preview", broken)
    client = signed_in(producer)
    _, page = previewed(app, client, "batches", batches_csv(own["product"].gtin))
    assert 'role="alert"' in page and "Có lỗi không lường trước" in page
    assert "internal detail" not in page and "Traceback" not in page and "/commit" not in page


def test_a_centre_imports_within_its_province_only(
    app: Any, make_user: Any, signed_in: Any, build: Any, session: Session
) -> None:
    centre = signed_in(make_user("centre", build.organization(kind="centre", province_code="24")))
    head = "Loại tổ chức;Tên tổ chức;Mã số thuế;Tỉnh;Địa chỉ\n"
    ours = head + "Hợp tác xã;HTX Bến Cầu;2400999101;Bắc Ninh;Xã Lục Ngạn\n"
    theirs = head + "Hợp tác xã;HTX Thủ đô;0100999102;Hà Nội;Phường Ba Đình\n"
    _, page = previewed(app, client=centre, kind="organizations", body=theirs)
    assert "/commit" not in page and re.search(r'<td class="n">2</td>', page)
    path, page = previewed(app, client=centre, kind="organizations", body=ours)
    assert re.search(r'id="count-created">1<', page)
    response = centre.post(path + "/commit", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 303
    Worker(app).run(burst=True)
    assert 'id="import-counts"' in centre.get(response.location).get_data(as_text=True)


def test_an_upload_is_previewed_by_the_engines_own_job(
    app: Any, producer: User, signed_in: Any, own: dict[str, Any], session: Session
) -> None:
    client = signed_in(producer)
    path, _ = previewed(app, client, "batches", batches_csv(own["product"].gtin))
    session.rollback()
    job = session.get(Job, int(path.rsplit("/", 1)[1]))
    assert job is not None and job.kind == engine.JOB_KIND
    record = session.get(Import, int(job.subject_id or 0))
    assert record is not None and record.dry_run and record.content is None
    assert record.counts == {"rows": 1, "created": 1, "updated": 0, "unchanged": 0}
    assert (
        import_preview.staged_path(app, record.id).read_bytes()
        == batches_csv(own["product"].gtin).encode()
    )  # kept for the commit
    assert "lô.csv" not in client.get("/console/imports").get_data(as_text=True)  # not an import
    assert {j.kind for j in session.scalars(select(Job))} == {engine.JOB_KIND}


def test_a_preview_queued_as_the_former_job_kind_leads_to_the_engines_preview(
    app: Any, producer: User, signed_in: Any, own: dict[str, Any], session: Session
) -> None:
    from trace.jobs import enqueue, results_dir

    body = batches_csv(own["product"].gtin).encode()
    folder = results_dir(app) / import_preview.UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "0123abcd.upload").write_bytes(body)
    params = {
        "user_id": producer.id,
        "kind": "batches",
        "file_name": "cũ.csv",
        "sha256": engine.digest(body),
        "size": len(body),
        "staged": "0123abcd.upload",
    }
    old = enqueue(session, import_preview.LEGACY_KIND, params, actor=actor_for(producer),
                  max_attempts=1)  # fmt: skip
    session.commit()
    client = signed_in(producer)
    assert 'http-equiv="refresh"' in client.get(f"/console/imports/previews/{old.id}").text
    assert Worker(app).run(burst=True) >= 2  # the former job, then the engine's preview
    handed = client.get(f"/console/imports/previews/{old.id}")
    assert handed.status_code == 303
    page = client.get(handed.location).get_data(as_text=True)
    assert re.search(r'id="count-created">1<', page) and "cũ.csv" in page
    assert not (folder / "0123abcd.upload").exists()
    response = client.post(handed.location + "/commit", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 303 and "/console/imports/" in response.location
    Worker(app).run(burst=True)
    assert _count(session, Batch) == 1 and _imported(session) == 1


def test_a_centre_reads_a_producers_preview_but_may_not_import_it(
    app: Any, make_user: Any, signed_in: Any, build: Any, own: dict[str, Any],
    producer: User, session: Session,
) -> None:  # fmt: skip
    body = batches_csv(own["product"].gtin, "LOT-OF-PRODUCER").encode()
    record = engine.submit(session, actor_for(producer), "batches", "m.csv", body, dry_run=True)
    import_preview.stage(app, record.id, body)
    session.commit()
    Worker(app).run(burst=True)
    before = _imported(session), _count(session, Batch)
    centre = signed_in(make_user("centre", build.organization(kind="centre", province_code="24")))
    page = centre.get(f"/console/imports/previews/{record.job_id}")
    assert page.status_code == 200  # the province's previews are the centre's to read
    token = csrf_of(page.get_data(as_text=True))
    response = centre.post(f"/console/imports/previews/{record.job_id}/commit",
                           data={"csrf_token": token})  # fmt: skip
    assert response.status_code == 403
    Worker(app).run(burst=True)
    assert (_imported(session), _count(session, Batch)) == before
