"""EPCIS 2.0 SimpleEventQuery over the stored events, keyset-paginated by ledger sequence."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session, aliased

from trace.epcis import cbv
from trace.models import MAX_ID, Event, EventEpc
from trace.services.actors import Actor
from trace.services.errors import invalid
from trace.services.events import visibility
from trace.services.events.identifiers import canonical_uri

INSTANCE_ROLES = ("epc", "parent", "child", "input", "output")
CLASS_ROLES = ("epc_class", "child_class", "input_class", "output_class")


def encode_token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def decode_token(token: str) -> int:
    try:
        kind, _, value = (
            base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().partition(":")
        )
        if kind != "seq" or not 0 <= int(value) <= MAX_ID:
            raise ValueError(kind)
        return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid("/nextPageToken", "nextPageToken is not one this service returned") from None


def _epc_filter(stmt: Select[Any], uris: Sequence[str], roles: Sequence[str]) -> Select[Any]:
    index = aliased(EventEpc)
    canonical = [canonical_uri(u) for u in uris]
    return stmt.where(
        exists().where(index.event_pk == Event.id, index.uri.in_(canonical), index.role.in_(roles))
    )


def _vocab(kind: str, values: Sequence[str]) -> list[str]:
    try:
        return [cbv.canonical_term(kind, v) for v in values]
    except cbv.VocabularyError as error:
        raise invalid(f"/EQ_{kind}", str(error)) from None


def query_events(
    session: Session, actor: Actor, params: Mapping[str, Any], per_page: int, token: str | None
) -> tuple[Sequence[Event], str | None]:
    """Events matching EPCIS query parameters (already parsed) that the actor may read, one
    page, in ledger order."""
    stmt = visibility.restrict_events(session, actor, select(Event))
    if params.get("eventType"):
        stmt = stmt.where(Event.event_type.in_(params["eventType"]))
    for name, column, op in (
        ("GE_eventTime", Event.event_time, "ge"),
        ("LT_eventTime", Event.event_time, "lt"),
        ("GE_recordTime", Event.record_time, "ge"),
        ("LT_recordTime", Event.record_time, "lt"),
    ):
        if params.get(name) is not None:
            stmt = stmt.where(column >= params[name] if op == "ge" else column < params[name])
    if params.get("EQ_action"):
        stmt = stmt.where(Event.action.in_(params["EQ_action"]))
    if params.get("EQ_bizStep"):
        stmt = stmt.where(Event.biz_step.in_(_vocab("bizStep", params["EQ_bizStep"])))
    if params.get("EQ_disposition"):
        stmt = stmt.where(Event.disposition.in_(_vocab("disposition", params["EQ_disposition"])))
    for name, uri_column in (
        ("EQ_readPoint", Event.read_point),
        ("EQ_bizLocation", Event.biz_location),
    ):
        if params.get(name):
            stmt = stmt.where(uri_column.in_([canonical_uri(u) for u in params[name]]))
    if params.get("EQ_eventID"):
        stmt = stmt.where(Event.event_id.in_(params["EQ_eventID"]))
    if params.get("MATCH_epc"):
        stmt = _epc_filter(stmt, params["MATCH_epc"], INSTANCE_ROLES)
    if params.get("MATCH_epcClass"):
        stmt = _epc_filter(stmt, params["MATCH_epcClass"], CLASS_ROLES)
    if params.get("MATCH_anyEPC"):
        stmt = _epc_filter(stmt, params["MATCH_anyEPC"], INSTANCE_ROLES + CLASS_ROLES)
    if params.get("EXISTS_errorDeclaration"):
        stmt = stmt.where(Event.declares_error)
    if token:
        stmt = stmt.where(Event.seq > decode_token(token))
    rows = session.scalars(stmt.order_by(Event.seq).limit(per_page + 1)).all()
    if len(rows) > per_page:
        rows = rows[:per_page]
        return rows, encode_token(rows[-1].seq)
    return rows, None


def as_epcis(event: Event) -> dict[str, Any]:
    """The stored event as an EPCIS 2.0 JSON event, with its eventID and recordTime."""
    doc = dict(event.document)
    doc["eventID"] = event.event_id
    doc["recordTime"] = event.record_time.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return doc


def namespaces_of(events: Sequence[Event]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for event in events:
        merged.update(event.namespaces or {})
    return merged
