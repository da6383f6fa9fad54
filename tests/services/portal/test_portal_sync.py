"""Portal sync against the stand-in portal (tests/portal_standin.py: a real HTTP server on
127.0.0.1) that validates every body against schemas/portal-record.json and fails in every way
we know of."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.conftest import Builder, gtin13
from tests.portal_standin import CLIENT_ID, CLIENT_SECRET, StandIn
from tests.served import FLASK, ROOT
from trace.models import PortalKind, PortalRecord, PortalStatus
from trace.services.actors import SYSTEM
from trace.services.portal import status as portal_status
from trace.services.portal.sync import PortalSync, RateLimit, SyncStats
from trace.services.portal.transport import Delivery, HttpTransport

FAST = {"PORTAL_RETRY_SECONDS": 5, "PORTAL_MAX_ATTEMPTS": 8, "PORTAL_PER_MINUTE": 0}


@pytest.fixture
def portal() -> Iterator[StandIn]:
    with StandIn(timeout_seconds=1.0) as standin:
        yield standin


def transport(portal: StandIn, *, secret: str = CLIENT_SECRET, timeout: float = 0.5) -> Any:
    return HttpTransport(portal.url, token_url=portal.url + "/sso/token", client_id=CLIENT_ID,
                         client_secret=secret, timeout=timeout)  # fmt: skip


def sync(app: Flask, portal: StandIn, monkeypatch: pytest.MonkeyPatch, **config: Any) -> SyncStats:
    for key, value in {**FAST, **config}.items():
        monkeypatch.setitem(app.config, key, value)
    secret = config.pop("secret", CLIENT_SECRET)
    return PortalSync(app, transport(portal, secret=secret), worker_id="test-worker").run()


def worker_env(app: Flask, portal: StandIn, **settings: str) -> dict[str, str]:
    """The environment of a `portal sync` process on the test's database and stand-in."""
    return {
        **os.environ,
        "TRACE_DATABASE_URL": app.config["DATABASE_URL"],
        "TRACE_PUBLIC_URL": app.config["PUBLIC_URL"],
        "TRACE_SECRET_KEY": "test-secret",
        "TRACE_PORTAL_URL": portal.url,
        "TRACE_PORTAL_CLIENT_ID": CLIENT_ID,
        "TRACE_PORTAL_CLIENT_SECRET": CLIENT_SECRET,
        **settings,
    }


def records(session: Session) -> dict[tuple[str, int], PortalRecord]:
    session.rollback()
    session.expire_all()
    return {(str(r.kind), r.entity_id): r for r in session.scalars(select(PortalRecord))}


def make_due(session: Session) -> None:
    """Time passes: every retrying record's next attempt is due."""
    session.execute(
        update(PortalRecord).values(next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(1))
    )
    session.commit()


def chain(build: Builder, **product: Any) -> tuple[Any, Any, Any]:
    org = build.organization()
    item = build.product(org, **({"gtin": gtin13(next(_gtins)), "image": "vai.jpg"} | product))
    return org, item, build.batch(item)


_gtins = iter(range(70000, 80000))


def test_a_change_writes_its_record_in_the_same_transaction(session, build, client, token):
    org, product, batch = chain(build)
    found = records(session)
    assert {k: r.status for k, r in found.items()} == {
        ("organization", org.id): PortalStatus.PENDING,
        ("product", product.id): PortalStatus.PENDING,
        ("batch", batch.id): PortalStatus.PENDING,
    }
    assert found[("batch", batch.id)].organization_id == org.id
    centre = token("centre", province="24")
    response = client.patch(f"/api/v1/products/{product.id}", headers=centre,
                            json={"name_en": "Luc Ngan lychee, first grade"})  # fmt: skip
    assert response.status_code == 200
    assert records(session)[("product", product.id)].version == 2
    # a refused change writes nothing, its outbox record included
    other = build.organization()
    response = client.patch(f"/api/v1/organizations/{org.id}", headers=centre,
                            json={"tax_code": other.tax_code})  # fmt: skip
    assert response.status_code == 409
    assert records(session)[("organization", org.id)].version == 1
    # an update that changes nothing is no new version
    client.patch(f"/api/v1/products/{product.id}", headers=centre,
                 json={"name_en": "Luc Ngan lychee, first grade"})  # fmt: skip
    assert records(session)[("product", product.id)].version == 2


def test_a_recall_sends_the_batch_again(session, build, client, token):
    _org, _product, batch = chain(build)
    recall = {"batches": [batch.id], "reason": "Dư lượng thuốc BVTV"}
    response = client.post("/api/v1/recalls", headers=token("inspector"), json=recall)
    assert response.status_code == 201, response.json
    assert records(session)[("batch", batch.id)].version == 2


def test_a_stage_recorded_on_a_batch_sends_it_again(session, build, client, token):
    org, _product, batch = chain(build)
    response = client.post(f"/api/v1/batches/{batch.id}/events", headers=token("producer", org),
                           json={"stage": "harvesting", "time": "2026-06-12T05:30:00"})  # fmt: skip
    assert response.status_code == 201, response.json
    assert records(session)[("batch", batch.id)].version == 2


def test_everything_is_sent_once_and_the_portals_ids_are_kept(app, session, build, portal,
                                                             monkeypatch):  # fmt: skip
    org, product, batch = chain(build)
    stats = sync(app, portal, monkeypatch)
    assert stats.outcomes == {"accepted": 3} and stats.repeated == 0
    # organisations first, then products, then batches; each body valid against the contract
    assert [r.kind for r in portal.received] == ["organization", "product", "batch"]
    assert [r.status for r in portal.received] == [200, 200, 200]
    assert portal.keys() == [f"trace-organization-{org.id}-v1", f"trace-product-{product.id}-v1",
                             f"trace-batch-{batch.id}-v1"]  # fmt: skip
    found = records(session)
    sent = found[("batch", batch.id)]
    assert sent.status is PortalStatus.ACCEPTED
    assert (sent.portal_id, sent.national_code) == (f"BAT-{batch.id}", f"VNBATCH-{batch.id}")
    assert sent.accepted_version == 1 and sent.body["batch"]["lot_code"] == batch.lot_code
    passport = sent.body["passport"]  # the batch's digital product passport, as published
    assert passport["passport_version"] and passport["legal_basis"]
    assert batch.lot_code in str(passport)
    body = portal.received[1].body
    assert body["organization"]["tax_code"] == org.tax_code
    assert body["product"]["image_urls"] == [
        f"https://trace.example.vn/img/product/{product.id}/640.jpg"
    ]
    # nothing due: a second run sends nothing
    assert sync(app, portal, monkeypatch).claimed == 0
    assert len(portal.received) == 3


def test_each_refusal_has_its_status_and_is_not_retried_until_it_changes(
    app, session, build, portal, monkeypatch
):
    unapproved, p1, b1 = chain(build)
    _ok, bad_gtin, _b2 = chain(build)
    _ok3, no_image, _b3 = chain(build, image="https://cdn.example.vn/missing.jpg")
    portal.unapproved.add(unapproved.tax_code)
    portal.bad_gtins.add(bad_gtin.gtin)
    portal.unfetchable.add("cdn.example.vn")
    sync(app, portal, monkeypatch)
    found = records(session)

    def state(kind: str, entity: Any) -> tuple[Any, Any]:
        return found[(kind, entity.id)].status, found[(kind, entity.id)].reason

    assert state("organization", unapproved) == (PortalStatus.REJECTED, "organization_not_approved")
    assert state("product", p1) == (PortalStatus.REJECTED, "organization_not_approved")
    assert state("batch", b1) == (PortalStatus.REJECTED, "organization_not_approved")
    assert state("product", bad_gtin) == (PortalStatus.REJECTED, "bad_gtin")
    assert state("product", no_image) == (PortalStatus.REJECTED, "image_not_fetchable")
    rejected = found[("product", no_image.id)]
    assert "cdn.example.vn/missing.jpg" in rejected.portal_message
    assert "TRACE_PUBLIC_URL" in rejected.message  # what an officer can do about it
    sent = len(portal.received)
    make_due(session)
    assert sync(app, portal, monkeypatch).claimed == 0, "a refused record went again unchanged"
    assert len(portal.received) == sent
    # the officer fixes the GTIN: the change is sent again, under a new key
    portal.bad_gtins.clear()
    assert build.session is session
    from trace.services.registry import catalogue

    catalogue.update_product(session, SYSTEM, bad_gtin.id, {"name_en": "fixed"})
    session.commit()
    sync(app, portal, monkeypatch)
    assert portal.keys()[-1] == f"trace-product-{bad_gtin.id}-v2"
    assert records(session)[("product", bad_gtin.id)].status is PortalStatus.ACCEPTED
    # the organisation gets approved and is re-sent: its waiting records go by themselves
    portal.unapproved.clear()
    portal_status.resend(session, SYSTEM, found[("organization", unapproved.id)].id)
    session.commit()
    sync(app, portal, monkeypatch)
    found = records(session)
    assert state("organization", unapproved)[0] is PortalStatus.ACCEPTED
    assert state("product", p1) == (PortalStatus.ACCEPTED, None)
    assert state("batch", b1) == (PortalStatus.ACCEPTED, None)
    assert found[("batch", b1.id)].version == 2


def test_the_stand_in_refuses_a_body_that_breaks_the_contract(portal):
    sender = transport(portal)
    body = {"contract_version": "1", "record_type": "product", "record_id": "product:1",
            "version": 1, "idempotency_key": "k1",
            "organization": {"tax_code": "0101234567", "gln": None, "name": "HTX"},
            "product": {"id": 1, "gtin": "8934567890120", "name_vi": "Vải", "category": "fruit",
                        "image_urls": [], "standards": []}}  # fmt: skip
    answer = sender.send(Delivery("product", "k1", body))
    assert (answer.outcome, answer.reason) == ("rejected", "invalid_record")
    assert "gtin" in answer.portal_message  # a 13-digit GTIN is not the contract's GTIN-14
    body["product"]["gtin"] = "08934567890120"
    assert sender.send(Delivery("product", "k2", body)).outcome == "accepted"
    del body["product"]
    assert sender.send(Delivery("product", "k3", body)).reason == "invalid_record"
    sender.close()


@pytest.mark.parametrize("fault", ["500", "503", "429", "timeout", "drop"])
def test_transient_failures_are_retried_with_backoff_and_nothing_is_lost(
    app, session, build, portal, monkeypatch, fault
):
    org, product, batch = chain(build)
    portal.faults.extend([fault, fault])
    before = dt.datetime.now(dt.UTC)
    sync(app, portal, monkeypatch)
    found = records(session)
    first = found[("organization", org.id)]
    assert first.status is PortalStatus.RETRYING and first.attempts == 1
    assert first.reason == {"429": "rate_limited", "timeout": "timeout"}.get(fault, "unavailable")
    assert first.next_attempt_at >= before + dt.timedelta(seconds=4)  # 5 s, then 10, 20, …
    assert found[("product", product.id)].status is PortalStatus.RETRYING
    assert found[("batch", batch.id)].status is PortalStatus.ACCEPTED
    make_due(session)
    sync(app, portal, monkeypatch)
    found = records(session)
    assert {r.status for r in found.values()} == {PortalStatus.ACCEPTED}
    assert found[("organization", org.id)].attempts == 2
    # every record accepted exactly once, each retry under the same key
    assert sorted(Counter(portal.keys(200)).values()) == [1, 1, 1]
    assert Counter(portal.keys())[f"trace-organization-{org.id}-v1"] == 2


def test_backoff_doubles_and_a_record_fails_after_its_last_attempt(app, session, build, portal,
                                                                   monkeypatch):  # fmt: skip
    org = build.organization()
    waits = []
    for _attempt in range(3):
        portal.faults.append("503")
        start = dt.datetime.now(dt.UTC)
        sync(app, portal, monkeypatch, PORTAL_MAX_ATTEMPTS=3)
        record = records(session)[("organization", org.id)]
        waits.append(round((record.next_attempt_at - start).total_seconds()))
        make_due(session)
    assert waits[:2] == [5, 10]
    assert record.status is PortalStatus.FAILED and "Gave up after 3 attempts" in record.message
    assert sync(app, portal, monkeypatch).claimed == 0  # failed stays failed until re-sent
    portal_status.resend(session, SYSTEM, record.id)
    session.commit()
    sync(app, portal, monkeypatch)
    assert records(session)[("organization", org.id)].status is PortalStatus.ACCEPTED


def test_an_expired_token_is_refreshed_and_the_record_goes_through(app, session, build, portal,
                                                                   monkeypatch):  # fmt: skip
    org = build.organization()
    sender = transport(portal)
    sender.send(Delivery("organization", "warm-up", {}))  # signs in
    assert portal.token_requests == 1
    portal.expire_tokens()
    monkeypatch.setattr("trace.services.portal.sync.transport_from_config", lambda _c: sender)
    for key, value in FAST.items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.setitem(app.config, "PORTAL_URL", portal.url)
    PortalSync(app).run()
    assert portal.token_requests == 2
    assert [r.status for r in portal.received[-2:]] == [401, 200]
    assert records(session)[("organization", org.id)].status is PortalStatus.ACCEPTED


def test_refused_credentials_are_retried_with_a_message(app, session, build, portal, monkeypatch):
    org = build.organization()
    sync(app, portal, monkeypatch, secret="wrong")
    record = records(session)[("organization", org.id)]
    assert (record.status, record.reason) == (PortalStatus.RETRYING, "credentials")
    assert "TRACE_PORTAL_CLIENT_SECRET" in record.message
    assert portal.received == []


def test_the_rate_limit_spaces_sends():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limit = RateLimit(120, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limit.wait()
    assert slept == [0.5, 0.5, 0.5, 0.5]
    limit.pause(3)
    limit.wait()
    assert slept[-1] == pytest.approx(3)


def test_a_version_changed_while_in_flight_is_sent_again(app, session, build, portal,
                                                         monkeypatch):  # fmt: skip
    org = build.organization()
    sender = transport(portal)

    class ChangingTransport:
        def send(self, delivery: Delivery) -> Any:
            from trace.services.registry import catalogue

            catalogue.update_organization(session, SYSTEM, org.id, {"name": "HTX đổi tên"})
            session.commit()
            return sender.send(delivery)

        def close(self) -> None:
            sender.close()

    for key, value in FAST.items():
        monkeypatch.setitem(app.config, key, value)
    stats = PortalSync(app, ChangingTransport()).run()  # type: ignore[arg-type]
    # the answer about version 1 is superseded; version 2 goes in the same run, its own key
    assert stats.outcomes == {"superseded": 1, "accepted": 1}
    assert portal.keys() == [f"trace-organization-{org.id}-v1", f"trace-organization-{org.id}-v2"]
    record = records(session)[("organization", org.id)]
    assert record.status is PortalStatus.ACCEPTED and record.accepted_version == 2
    assert record.body["organization"]["name"] == "HTX đổi tên"
    assert portal.received[1].body["organization"]["name"] == "HTX đổi tên"


def test_enqueue_gives_existing_entities_a_record(app, session, build):
    org, product, batch = chain(build)
    session.execute(PortalRecord.__table__.delete())
    session.commit()
    result = app.test_cli_runner().invoke(args=["portal", "enqueue"])
    assert result.exit_code == 0, result.output
    assert "3 records queued" in result.output
    assert set(records(session)) == {("organization", org.id), ("product", product.id),
                                     ("batch", batch.id)}  # fmt: skip
    assert str(PortalKind.BATCH) == "batch"


@pytest.mark.committed  # the worker runs as a process of its own, on its own connection
def test_a_worker_killed_mid_send_repeats_only_the_records_in_flight(app, session, build, portal):
    for _ in range(5):
        chain(build)
    portal.faults.extend(["ok"] * 7 + ["hold"])  # the 8th request never gets its answer
    env = worker_env(app, portal, TRACE_PORTAL_CHUNK="5", TRACE_PORTAL_PER_MINUTE="0")
    worker = subprocess.Popen([FLASK, "--app", "wsgi", "portal", "sync"], cwd=ROOT, env=env,
                              stderr=subprocess.PIPE)  # fmt: skip
    try:
        assert portal.held.wait(60), worker.stderr.read() if worker.poll() is not None else ""
        worker.kill()  # SIGKILL: no chance to record anything
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
        portal.release.set()
    found = records(session)
    in_flight = {r.idempotency_key for r in found.values() if r.status is PortalStatus.SENT}
    assert len(in_flight) == 5  # the chunk being sent
    assert sum(r.status is PortalStatus.ACCEPTED for r in found.values()) == 5
    answered_before = set(portal.keys(200))
    # time passes: the dead worker's lease runs out
    session.execute(update(PortalRecord).values(lease_until=dt.datetime.now(dt.UTC)))
    session.commit()
    time.sleep(0.01)
    stats = PortalSync(app, transport(portal), worker_id="second").run()
    assert stats.repeated == 5
    found = records(session)
    assert {r.status for r in found.values()} == {PortalStatus.ACCEPTED}  # nothing lost
    assert {r.idempotency_key for r in found.values() if r.repeats == 1} == in_flight
    assert {r.repeats for r in found.values()} == {0, 1}
    assert all(r.last_repeat_at for r in found.values() if r.repeats)
    # sent twice: only records that were in flight; everything else once
    received = Counter(portal.keys())
    twice = {key for key, n in received.items() if n > 1}
    assert twice and twice <= in_flight, twice
    assert all(n <= 2 for n in received.values())
    assert set(received) == {r.idempotency_key for r in found.values()}
    assert answered_before - in_flight == {k for k in answered_before if received[k] == 1}


def test_sync_without_a_portal_url_says_so(app, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_URL", "")
    result = app.test_cli_runner().invoke(args=["portal", "sync"])
    assert result.exit_code == 1 and "TRACE_PORTAL_URL is not set" in result.output


@pytest.mark.committed  # the worker runs as a process of its own, on its own connection
def test_watch_sends_changes_as_they_come_and_stops_on_sigterm(app, session, build, portal,
                                                               client, token):  # fmt: skip
    org = build.organization()
    env = worker_env(app, portal, TRACE_PORTAL_POLL_SECONDS="0.1")
    worker = subprocess.Popen([FLASK, "--app", "wsgi", "portal", "sync", "--watch"], cwd=ROOT,
                              env=env, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(portal.keys(200)) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        change = {"kind": "cooperative", "name": "HTX Cà phê Ea Tu", "tax_code": "6600000001",
                  "province_code": "66", "address": "xã Ea Tu, tỉnh Đắk Lắk"}  # fmt: skip
        response = client.post("/api/v1/organizations", headers=token("admin"), json=change)
        assert response.status_code == 201, response.json  # a change while it watches
        while len(portal.keys(200)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        _out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert "2 records sent (2 accepted)" in err
    assert portal.keys(200)[0] == f"trace-organization-{org.id}-v1"
    assert {r.status for r in records(session).values()} == {PortalStatus.ACCEPTED}
