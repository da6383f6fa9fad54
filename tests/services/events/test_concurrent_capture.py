"""Concurrent captures queue on the ledger head: the chain never forks or skips a number."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from trace.epcis.export import epcis_document
from trace.models import Event
from trace.services.events.ledger import verify

WRITERS, EVENTS_EACH = 6, 15

# Writers on connections of their own see only committed data.
pytestmark = pytest.mark.committed


def document(writer: int) -> dict:
    events = [
        {
            "type": "ObjectEvent",
            "eventID": f"urn:uuid:w{writer}-{i}",
            "eventTime": "2026-06-12T06:30:00+07:00",
            "eventTimeZoneOffset": "+07:00",
            "epcList": [f"https://id.gs1.org/01/08934567890120/21/W{writer}N{i}"],
            "action": "OBSERVE",
            "bizStep": "shipping",
        }
        for i in range(EVENTS_EACH)
    ]
    return epcis_document(events)


def test_concurrent_captures_keep_one_chain(app, token, session) -> None:
    headers = token("admin")

    def post(writer: int) -> int:
        client = app.test_client()
        statuses = []
        for round_ in range(2):
            body = document(writer * 10 + round_)
            statuses.append(client.post("/api/v1/capture", json=body, headers=headers).status_code)
        return max(statuses)

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        statuses = list(pool.map(post, range(WRITERS)))
    assert statuses == [201] * WRITERS
    session.rollback()
    seqs = session.scalars(select(Event.seq).order_by(Event.seq)).all()
    assert seqs == list(range(1, WRITERS * 2 * EVENTS_EACH + 1))
    result = verify(session)
    assert result.ok, result.finding
    assert result.head_seq == WRITERS * 2 * EVENTS_EACH
