"""Scans (one per GET, not HEAD or prefetch; salted client hash) and consumers' reports."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import seeds
from tests.public.conftest import Chain
from trace.codeview import live
from trace.models import Report, Scan


def _token(html: bytes) -> str:
    match = re.search(rb'name="token" value="([^"]+)"', html)
    assert match
    return match.group(1).decode()


def test_scans_are_recorded_once_per_get(
    client: FlaskClient, chain: Chain, session: Session, count: Callable[[type], int]
) -> None:
    client.get(f"/q/{chain.code}", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert count(Scan) == 1
    client.head(f"/q/{chain.code}")
    client.get(f"/q/{chain.code}", headers={"Sec-Purpose": "prefetch"})
    client.get(f"/q/{chain.code}", headers={"Purpose": "prefetch"})
    assert count(Scan) == 1
    client.get(f"/q/{chain.code}?province=24")
    session.rollback()  # end the fixture's read snapshot
    live.flush(client.application)
    scans = session.scalars(select(Scan).order_by(Scan.id)).all()
    assert len(scans) == 2
    assert scans[0].batch_id == chain.batch.id and scans[0].code_id is not None
    assert len(scans[0].client_hash) == 64 and "203.0.113.7" not in scans[0].client_hash
    assert scans[1].province_code == "24" and scans[0].province_code is None


def test_unit_code_scan_count_and_copy_warning(
    app: Any, client: FlaskClient, chain: Chain, unit_code: Callable[..., str]
) -> None:
    code = unit_code(chain.batch)
    first = client.get(f"/q/{code}?lang=en")
    assert "first time this code has been scanned" in first.data.decode()
    second = client.get(f"/q/{code}?lang=en").data.decode()
    assert "scanned 1 time before" in second and "may be a copy" not in second
    for n in range(12):
        client.get(f"/q/{code}", environ_base={"REMOTE_ADDR": f"198.51.100.{n}"})
    page = client.get(f"/q/{code}?lang=en").data.decode()
    assert "This label may be a copy" in page
    assert "scanned 13 times before" in page  # 127.0.0.1 twice counts once a day


def test_report_with_csrf_token(
    client: FlaskClient, chain: Chain, count: Callable[[type], int], session: Session
) -> None:
    token = _token(client.get(f"/q/{chain.code}").data)
    form = {"kind": "quality", "message": "Quả bị dập", "contact": "0912 345 678"}
    assert client.post(f"/q/{chain.code}/report", data=form).status_code == 400  # no token
    assert client.post(f"/q/{chain.code}/report", data=form | {"token": "x"}).status_code == 400
    other = _token(client.get(f"/q/{chain.juice_code}").data)
    assert client.post(f"/q/{chain.code}/report", data=form | {"token": other}).status_code == 400
    assert count(Report) == 0
    done = client.post(f"/q/{chain.code}/report", data=form | {"token": token})
    assert done.status_code == 201
    assert "Cảm ơn bạn" in done.data.decode()
    session.rollback()
    report = session.scalars(select(Report)).one()
    assert report.batch_id == chain.batch.id and report.kind == "quality"
    assert report.contact == "0912 345 678" and len(report.client_hash) == 64


def test_report_validation_and_rate_limit(
    client: FlaskClient, chain: Chain, count: Callable[[type], int]
) -> None:
    token = _token(client.get(f"/q/{chain.code}").data)
    bad = client.post(f"/q/{chain.code}/report", data={"kind": "x", "message": "", "token": token})
    assert bad.status_code == 400
    form = {"kind": "other", "message": "Nhãn bị mờ", "token": token}
    for _ in range(5):
        assert client.post(f"/q/{chain.code}/report", data=form).status_code == 201
    limited = client.post(f"/q/{chain.code}/report", data=form)
    assert limited.status_code == 429
    assert count(Report) == 5
    elsewhere = client.post(
        f"/q/{chain.code}/report", data=form, environ_base={"REMOTE_ADDR": "192.0.2.9"}
    )
    assert elsewhere.status_code == 201


def test_report_of_an_unknown_code(
    client: FlaskClient, chain: Chain, session: Session, rng: random.Random
) -> None:
    code = seeds.unit_code(rng)
    page = client.get(f"/q/{code}")
    form = {"kind": "counterfeit", "message": "Tem lạ", "token": _token(page.data)}
    assert client.post(f"/q/{code}/report", data=form).status_code == 201
    session.rollback()
    report = session.scalars(select(Report)).one()
    assert report.batch_id is None and code in report.message


def test_cached_page_does_not_pass_one_visitors_place_to_the_next(
    client: FlaskClient, chain: Chain, unit_code: Callable[..., str]
) -> None:
    code = unit_code(chain.batch)
    client.get(f"/q/{code}?province=24")
    later = client.get(f"/q/{code}").data.decode()
    assert "province=24" not in later  # the language links of the cached page
    assert f'action="/q/{code}/report"' in later and "__trace_" not in later
