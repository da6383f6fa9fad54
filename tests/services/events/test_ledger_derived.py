"""Verification covers what the pages and queries read: every derived column of an event row and
its event_epc / batch_link rows must be what the event's document says (issue 10, item 2).

Each tampering is made behind the service's back (Core statements on the engine) and must be
named by ``flask verify``, by ``GET /api/v1/ledger/verify`` and, where the page shows the event,
must take the "History verified" mark off the public page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.orm import Session

from tests.database import connection as shared_connection
from trace.epcis.export import epcis_document
from trace.models import Batch, BatchLink, Code, CodeKind, Event, EventEpc
from trace.services.events import ledger
from trace.services.events.identifiers import batch_uri, canonical_uri

EN = {"Accept-Language": "en-US,en;q=0.9"}
READ_POINT = "https://id.gs1.org/414/8936010500112"
BIZ_LOCATION = "https://id.gs1.org/414/8936010500334"


@dataclass
class World:
    lychee: Batch
    juice: Batch
    other: Batch
    lychee_uri: str
    juice_uri: str
    lychee_code: str
    juice_code: str
    events: dict[str, int]  # name -> event id (== seq)


def _batch_code(session: Session, batch_id: int) -> str:
    return session.scalars(
        select(Code.code).where(Code.batch_id == batch_id, Code.kind == CodeKind.BATCH)
    ).one()


@pytest.fixture
def world(app: Flask, client: FlaskClient, build: Any, token: Callable, session: Session) -> World:
    coop = build.organization(gln="8936010500013")
    build.facility(coop, gln="8936010500112", name="Vườn vải")
    build.facility(coop, gln="8936010500334", name="Kho lạnh", kind="cold_store")
    lychee_product = build.product(coop, gtin="8936010510012")
    juice_product = build.product(coop, name_vi="Nước vải", unit="LTR")
    lychee = build.batch(lychee_product, lot_code="LN2606-A01")
    juice = build.batch(juice_product, lot_code="NV-01")
    other = build.batch(lychee_product, lot_code="LN2606-B02")
    public = app.config["PUBLIC_URL"]
    lychee_uri, juice_uri = batch_uri(public, lychee), batch_uri(public, juice)
    place = {"readPoint": {"id": READ_POINT}, "bizLocation": {"id": BIZ_LOCATION}}
    events = [
        {"type": "ObjectEvent", "eventID": "urn:uuid:harvest", "action": "ADD",
         "eventTime": "2026-06-08T05:30:00+07:00", "eventTimeZoneOffset": "+07:00",
         "bizStep": "https://id.trace.vn/voc/BizStep-harvesting", "disposition": "active",
         **place, "quantityList": [{"epcClass": lychee_uri, "quantity": 1850, "uom": "KGM"}]},
        {"type": "ObjectEvent", "eventID": "urn:uuid:store", "action": "OBSERVE",
         "eventTime": "2026-06-08T11:30:00+07:00", "eventTimeZoneOffset": "+07:00",
         "bizStep": "storing", "disposition": "in_progress", **place,
         "quantityList": [{"epcClass": lychee_uri, "quantity": 1795, "uom": "KGM"}]},
        {"type": "TransformationEvent", "eventID": "urn:uuid:press",
         "eventTime": "2026-06-10T08:00:00+07:00", "eventTimeZoneOffset": "+07:00",
         "bizStep": "commissioning", **place,
         "inputQuantityList": [{"epcClass": lychee_uri, "quantity": 900, "uom": "KGM"}],
         "outputQuantityList": [{"epcClass": juice_uri, "quantity": 500, "uom": "LTR"}]},
        {"type": "ObjectEvent", "eventID": "urn:uuid:store", "action": "OBSERVE",
         "eventTime": "2026-06-08T11:30:00+07:00", "eventTimeZoneOffset": "+07:00",
         "bizStep": "storing", "disposition": "in_progress", **place,
         "quantityList": [{"epcClass": lychee_uri, "quantity": 1795, "uom": "KGM"}],
         "errorDeclaration": {"declarationTime": "2026-06-09T00:00:00+07:00",
                              "reason": "incorrect_data"}},
    ]  # fmt: skip
    response = client.post("/api/v1/capture", json=epcis_document(events), headers=token("admin"))
    assert response.status_code == 201, response.json
    ids = dict(session.execute(select(Event.event_id, Event.id).where(~Event.declares_error)).all())
    declaration = session.scalars(select(Event.id).where(Event.declares_error)).one()
    session.rollback()
    return World(
        lychee, juice, other, canonical_uri(lychee_uri), canonical_uri(juice_uri),
        _batch_code(session, lychee.id), _batch_code(session, juice.id),
        {"harvest": ids["urn:uuid:harvest"], "store": ids["urn:uuid:store"],
         "press": ids["urn:uuid:press"], "declaration": declaration},
    )  # fmt: skip


def tamper(app: Flask, change: Callable[[Connection], Any]) -> None:
    with shared_connection(app) as conn:
        change(conn)


def api_verify(client: FlaskClient, token: Callable) -> dict[str, Any]:
    response = client.get("/api/v1/ledger/verify", headers=token("inspector"))
    assert response.status_code == 200
    return response.json


def cli_verify(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["verify"])
    return result.exit_code, result.output


def page_text(app: Flask, client: FlaskClient, code: str) -> str:
    app.config["PUBLIC_CACHE_SECONDS"] = 0
    try:
        response = client.get(f"/q/{code}", headers=EN)
    finally:
        app.config["PUBLIC_CACHE_SECONDS"] = 60
    assert response.status_code == 200
    body = re.sub(r"<style.*?</style>", " ", response.data.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def assert_named(app: Flask, client: FlaskClient, token: Callable, event_pk: int, kind: str,
                 column: str) -> None:  # fmt: skip
    """Both full checks fail and name this event, the kind and the column (or table)."""
    result = api_verify(client, token)
    assert result["ok"] is False
    finding = result["finding"]
    assert (finding["seq"], finding["kind"], finding["column"]) == (event_pk, kind, column), result
    assert finding["event_id"] and f"(event {finding['event_id']})" in finding["message"]
    assert result["mismatched_entries"] >= 1
    code, output = cli_verify(app)
    assert code == 1
    assert f"Ledger broken at entry {event_pk} ({kind}, {column})" in output, output


def assert_page_not_verified(app: Flask, client: FlaskClient, code: str) -> None:
    page = page_text(app, client, code)
    assert "History verified" not in page and "have not been changed" not in page
    assert "History could not be verified" in page


def test_untouched_world_verifies_everywhere(
    app: Flask, client: FlaskClient, token: Callable, world: World
) -> None:
    result = api_verify(client, token)
    assert result["ok"] is True and result["entries"] == 4, result
    assert result["findings"] == [] and result["mismatched_entries"] == 0
    assert cli_verify(app) == (0, f"Ledger intact: 4 entries, head 4 {result['head_chain_hash']}\n")
    for code in (world.lychee_code, world.juice_code):
        assert "History verified" in page_text(app, client, code)


UTC = dt.UTC
#: (event, column, new value): each one a column the page or the queries read.
COLUMN_EDITS = [
    ("harvest", "biz_step", "shipping"),
    ("harvest", "event_time", dt.datetime(2026, 6, 1, 0, 0, tzinfo=UTC)),
    ("store", "disposition", "recalled"),
    ("harvest", "read_point", "https://id.gs1.org/414/8936010500999"),
    ("store", "biz_location", "https://id.gs1.org/414/8936010500999"),
    ("store", "action", "DELETE"),
    ("harvest", "event_type", "AggregationEvent"),
    ("harvest", "event_time_zone_offset", "+09:00"),
    ("harvest", "event_id", "urn:uuid:forged"),
    ("store", "declares_error", True),  # hides the original as if it were a correction
    ("declaration", "event_id", "urn:uuid:harvest"),  # moves the correction to another event
    ("press", "biz_step", "receiving"),
]


@pytest.mark.parametrize(("event", "column", "value"), COLUMN_EDITS,
                         ids=[f"{e}-{c}" for e, c, _ in COLUMN_EDITS])  # fmt: skip
def test_each_derived_column_is_checked(
    app: Flask, client: FlaskClient, token: Callable, world: World, event: str, column: str,
    value: Any,
) -> None:  # fmt: skip
    pk = world.events[event]
    tamper(app, lambda c: c.execute(update(Event).where(Event.id == pk).values({column: value})))
    assert_named(app, client, token, pk, "derived", column)
    finding = api_verify(client, token)["finding"]
    assert f"column {column} is" in finding["message"]
    assert_page_not_verified(app, client, world.lychee_code)


def test_the_reported_reproducer_biz_step_and_event_time(
    app: Flask, client: FlaskClient, token: Callable, world: World
) -> None:
    """Issue 10 item 2 as reported: the harvest shown as "Shipping", then its time moved."""
    pk = world.events["harvest"]
    tamper(
        app, lambda c: c.execute(update(Event).where(Event.id == pk).values(biz_step="shipping"))
    )
    page = page_text(app, client, world.lychee_code)
    assert "Shipping" in page and "History verified" not in page
    result = api_verify(client, token)
    assert [(f["seq"], f["kind"], f["column"]) for f in result["findings"]] == [
        (pk, "derived", "biz_step")
    ]
    later = dt.datetime(2026, 6, 9, tzinfo=UTC)
    tamper(app, lambda c: c.execute(update(Event).where(Event.id == pk).values(event_time=later)))
    columns = [(f["column"]) for f in api_verify(client, token)["findings"]]
    assert columns == ["event_time", "biz_step"]  # its index row keeps the recorded time


def _epc(event_pk: int) -> Any:
    return EventEpc.event_pk == event_pk


def test_deleted_event_epc_row_hiding_an_event_from_a_batch(
    app: Flask, client: FlaskClient, token: Callable, world: World
) -> None:
    pk = world.events["store"]
    assert "Storing" in page_text(app, client, world.lychee_code)
    tamper(app, lambda c: c.execute(delete(EventEpc).where(_epc(pk))))
    assert_named(app, client, token, pk, "index", "event_epc")
    assert "missing" in api_verify(client, token)["finding"]["message"]
    # The batch's page no longer shows the event; what it shows is intact (the page checks the
    # events it shows); the full check above is what sees the hidden one.
    assert "Storing" not in page_text(app, client, world.lychee_code)


def test_deleted_event_epc_row_of_a_transformation_is_seen_on_the_other_page(
    app: Flask, client: FlaskClient, token: Callable, world: World
) -> None:
    pk = world.events["press"]
    tamper(app, lambda c: c.execute(
        delete(EventEpc).where(_epc(pk), EventEpc.batch_id == world.lychee.id)))  # fmt: skip
    assert_named(app, client, token, pk, "index", "event_epc")
    assert_page_not_verified(app, client, world.juice_code)


def test_added_event_epc_row_puts_a_foreign_event_on_a_page(
    app: Flask, client: FlaskClient, token: Callable, world: World
) -> None:
    pk = world.events["press"]
    row = {"event_pk": pk, "role": "epc_class", "uri": "trace:/lot/999/X", "batch_id":
           world.other.id, "event_time": dt.datetime(2026, 6, 10, 1, tzinfo=UTC)}  # fmt: skip
    tamper(app, lambda c: c.execute(insert(EventEpc).values(row)))
    assert_named(app, client, token, pk, "index", "event_epc")
    assert "is not what its document says" in api_verify(client, token)["finding"]["message"]
    assert_page_not_verified(app, client, _batch_code_of(app, world.other.id))


def test_duplicated_event_epc_row_is_named(
    app: Flask, client: FlaskClient, token: Callable, world: World
) -> None:
    pk = world.events["harvest"]

    def duplicate(conn: Connection) -> None:
        role, uri, batch_id, moment = conn.execute(
            select(EventEpc.role, EventEpc.uri, EventEpc.batch_id, EventEpc.event_time).where(
                _epc(pk)
            )
        ).one()
        conn.execute(insert(EventEpc).values(event_pk=pk, role=role, uri=uri, batch_id=batch_id,
                                             event_time=moment))  # fmt: skip

    tamper(app, duplicate)
    assert_named(app, client, token, pk, "index", "event_epc")


@pytest.mark.parametrize(
    "change",
    [
        {"batch_id": "other"},
        {"batch_id": None},
        {"role": "epc"},
        {"uri": "trace:/lot/1/forged"},
        {"event_time": dt.datetime(2026, 1, 1, tzinfo=UTC)},
    ],
    ids=["batch-other", "batch-none", "role", "uri", "event_time"],
)
def test_changed_event_epc_row_is_named(
    app: Flask, client: FlaskClient, token: Callable, world: World, change: dict[str, Any]
) -> None:
    pk = world.events["harvest"]
    values = {k: (world.other.id if v == "other" else v) for k, v in change.items()}
    tamper(app, lambda c: c.execute(update(EventEpc).where(_epc(pk)).values(values)))
    assert_named(app, client, token, pk, "index", "event_epc")
    if change != {"batch_id": None} and "batch_id" not in change:
        assert_page_not_verified(app, client, world.lychee_code)
    if change == {"batch_id": "other"}:  # the harvest now shows on another lot's page
        assert_page_not_verified(app, client, _batch_code_of(app, world.other.id))


def test_deleted_batch_link_is_named(
    app: Flask, client: FlaskClient, token: Callable, world: World
) -> None:
    pk = world.events["press"]
    tamper(app, lambda c: c.execute(delete(BatchLink).where(BatchLink.event_pk == pk)))
    assert_named(app, client, token, pk, "index", "batch_link")
    assert "makes is missing" in api_verify(client, token)["finding"]["message"]
    assert_page_not_verified(app, client, world.juice_code)


def test_added_batch_link_forging_an_origin_is_named(
    app: Flask, client: FlaskClient, token: Callable, world: World
) -> None:
    pk = world.events["press"]
    tamper(app, lambda c: c.execute(insert(BatchLink).values(
        input_batch_id=world.other.id, output_batch_id=world.juice.id, event_pk=pk)))  # fmt: skip
    assert_named(app, client, token, pk, "index", "batch_link")
    assert_page_not_verified(app, client, world.juice_code)


def test_all_findings_are_listed_in_ledger_order(
    app: Flask, client: FlaskClient, token: Callable, world: World
) -> None:
    harvest, press = world.events["harvest"], world.events["press"]
    tamper(app, lambda c: c.execute(update(Event).where(Event.id == press).values(action="ADD")))
    tamper(app, lambda c: c.execute(
        update(Event).where(Event.id == harvest).values(disposition="x")))  # fmt: skip
    result = api_verify(client, token)
    assert [(f["seq"], f["column"]) for f in result["findings"]] == [
        (harvest, "disposition"),
        (press, "action"),
    ]
    assert result["mismatched_entries"] == 2
    code, output = cli_verify(app)
    assert code == 1 and f"entry {press} (derived, action)" in output


def test_batch_audit_names_the_mismatch(
    app: Flask, client: FlaskClient, token: Callable, world: World
) -> None:
    pk = world.events["store"]
    tamper(app, lambda c: c.execute(update(Event).where(Event.id == pk).values(biz_step="x")))
    audit = client.get(f"/api/v1/batches/{world.lychee.id}/audit", headers=token("inspector"))
    assert audit.status_code == 200 and audit.json["ledger_ok"] is False
    checks = {e["seq"]: e["ledger"] for e in audit.json["events"]}
    assert checks[pk]["ok"] is False and checks[pk]["hash_ok"] and checks[pk]["link_ok"]
    assert [(m["kind"], m["column"]) for m in checks[pk]["mismatches"]] == [("derived", "biz_step")]
    assert all(c["ok"] for seq, c in checks.items() if seq != pk)
    assert_page_not_verified(app, client, world.lychee_code)  # and no 500 for a bizStep "x"


def _batch_code_of(app: Flask, batch_id: int) -> str:
    with shared_connection(app) as conn:
        return conn.execute(
            select(Code.code).where(Code.batch_id == batch_id, Code.kind == CodeKind.BATCH)
        ).scalar_one()


# The resolution rule: what an identifier named when the event was recorded ---------------------


def test_a_batch_registered_after_the_event_keeps_the_event_unlinked_and_verified(
    app: Flask, client: FlaskClient, token: Callable, build: Any, world: World
) -> None:
    """An event names a lot nobody registered yet: its row has no batch. When the lot is
    registered later, the identifier resolves, but the row still says what capture knew:
    verification accepts that (the batch was registered after the event was recorded)."""
    product = world.lychee.product
    late_uri = f"{app.config['PUBLIC_URL']}/01/0{product.gtin}/10/LATER-1"
    event = {"type": "ObjectEvent", "eventID": "urn:uuid:early", "action": "OBSERVE",
             "eventTime": "2026-06-11T08:00:00+07:00", "eventTimeZoneOffset": "+07:00",
             "quantityList": [{"epcClass": late_uri, "quantity": 1, "uom": "KGM"}]}  # fmt: skip
    response = client.post("/api/v1/capture", json=epcis_document([event]), headers=token("admin"))
    assert response.status_code == 201, response.json
    build.batch(product, lot_code="LATER-1")
    assert api_verify(client, token)["ok"] is True
    assert cli_verify(app)[0] == 0
    # But a row emptied of a batch that existed when the event was recorded is named.
    pk = world.events["store"]
    tamper(app, lambda c: c.execute(update(EventEpc).where(_epc(pk)).values(batch_id=None)))
    assert_named(app, client, token, pk, "index", "event_epc")


def test_a_changed_gtin_keeps_old_events_verified(
    app: Flask, client: FlaskClient, token: Callable, world: World
) -> None:
    """A product's GTIN changed after its events: their Digital Link lot URIs resolve to
    nothing now, while their rows keep the batch with that lot code; that is accepted."""
    response = client.patch(
        f"/api/v1/products/{world.lychee.product_id}", json={"gtin": "8936010510029"},
        headers=token("admin"),
    )  # fmt: skip
    assert response.status_code == 200, response.json
    assert api_verify(client, token)["ok"] is True
    # A row moved to a batch with another lot code is still named.
    pk = world.events["harvest"]
    tamper(app, lambda c: c.execute(
        update(EventEpc).where(_epc(pk)).values(batch_id=world.other.id)))  # fmt: skip
    assert_named(app, client, token, pk, "index", "event_epc")


# The chain itself, replayed independently ------------------------------------------------------


def test_chain_replayed_with_plain_hashlib_covers_the_error_declaration(
    app: Flask, world: World, session: Session
) -> None:
    """The chain as documented: chain[n] = SHA-256(chain[n-1] ‖ digest[n]); the digest is the
    hash ID, plus ``#`` and the SHA-256 of the canonical JSON of the errorDeclaration when the
    event declares one. Computed here without the service's code, so a ledger that left the
    declaration out (at capture and at verification alike) is caught."""
    rows = session.execute(
        select(Event.seq, Event.hash_id, Event.document, Event.chain_hash).order_by(Event.seq)
    ).all()
    assert any("errorDeclaration" in doc for _, _, doc, _ in rows)
    previous = "0" * 64
    for seq, hash_id, doc, chain_hash in rows:
        digest = hash_id
        if "errorDeclaration" in doc:
            text = json.dumps(doc["errorDeclaration"], sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False)  # fmt: skip
            digest += "#" + hashlib.sha256(text.encode()).hexdigest()
        previous = hashlib.sha256((previous + digest).encode()).hexdigest()
        assert previous == chain_hash, f"entry {seq}"
    head = ledger.verify(session)
    assert head.ok and head.head_chain_hash == previous


def test_two_declarations_differing_only_in_reason_have_different_chain_hashes(
    client: FlaskClient, token: Callable, world: World, session: Session
) -> None:
    """The CBV hash leaves the declaration out: only the ledger digest tells them apart."""
    lychee = "https://trace.example.vn/01/08936010510012/10/LN2606-A01"
    second = {"type": "ObjectEvent", "eventID": "urn:uuid:store", "action": "OBSERVE",
              "eventTime": "2026-06-08T11:30:00+07:00", "eventTimeZoneOffset": "+07:00",
              "bizStep": "storing", "disposition": "in_progress",
              "readPoint": {"id": READ_POINT}, "bizLocation": {"id": BIZ_LOCATION},
              "quantityList": [{"epcClass": lychee, "quantity": 1795, "uom": "KGM"}],
              "errorDeclaration": {"declarationTime": "2026-06-09T00:00:00+07:00",
                                   "reason": "did_not_occur"}}  # fmt: skip
    response = client.post("/api/v1/capture", json=epcis_document([second]),
                           headers=token("admin"))  # fmt: skip
    assert response.status_code == 201, response.json
    rows = session.execute(
        select(Event.hash_id, Event.document).where(Event.declares_error).order_by(Event.seq)
    ).all()
    assert len(rows) == 2 and rows[0][0] == rows[1][0]  # the same CBV hash
    digests = {ledger.entry_digest(h, d) for h, d in rows}
    assert len(digests) == 2


def test_ledger_verify_with_and_without_a_checkpoint_names_the_column(
    app: Flask, world: World, tmp_path: Any
) -> None:
    runner = app.test_cli_runner()
    held = tmp_path / "checkpoint.json"
    assert runner.invoke(args=["ledger", "checkpoint", "--output", str(held)]).exit_code == 0
    assert runner.invoke(args=["ledger", "verify", "--checkpoint", str(held)]).exit_code == 0
    pk = world.events["store"]
    tamper(app, lambda c: c.execute(update(Event).where(Event.id == pk).values(disposition="x")))
    plain = runner.invoke(args=["ledger", "verify"])
    assert plain.exit_code == 1 and f"entry {pk} (derived, disposition)" in plain.output
    against = runner.invoke(args=["ledger", "verify", "--checkpoint", str(held)])
    assert against.exit_code == 1
    assert f"entry {pk} (derived), before checkpoint 4" in against.output, against.output
