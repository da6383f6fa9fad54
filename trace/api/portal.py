"""The national portal sync as centres and inspectors follow it: status per record, re-send."""

from __future__ import annotations

from flask import Blueprint, Response
from marshmallow import Schema, fields, validate

from trace.api.auth import current_actor
from trace.api.docs import documented
from trace.api.io import dump, list_page
from trace.api.schemas import PageQuery, page_of
from trace.db import db
from trace.models import PortalKind, PortalStatus
from trace.services.portal import status

TAG = "National portal"


class PortalRecordQuery(PageQuery):
    status = fields.Enum(PortalStatus, by_value=True)
    kind = fields.Enum(PortalKind, by_value=True)
    entity = fields.Integer(metadata={"description": "the organisation, product or batch id"})
    organization = fields.Integer(metadata={"description": "the owning organisation"})
    reason = fields.String(validate=validate.Length(min=1, max=40))


class PortalRecordSchema(Schema):
    class Meta:
        ordered = True

    id = fields.Integer()
    kind = fields.String(metadata={"enum": [k.value for k in PortalKind]})
    entity_id = fields.Integer()
    organization_id = fields.Integer()
    version = fields.Integer(metadata={"description": "bumped by every change and re-send"})
    status = fields.String(metadata={"enum": [s.value for s in PortalStatus]})
    reason = fields.String(
        allow_none=True,
        metadata={
            "description": "why it was refused or is retried: organization_not_approved, "
            "image_not_fetchable, bad_gtin, invalid_record, credentials, timeout, "
            "unavailable, rate_limited, …"
        },
    )
    message = fields.String(allow_none=True, metadata={"description": "what an officer can do"})
    portal_message = fields.String(allow_none=True, metadata={"description": "the portal's words"})
    attempts = fields.Integer(metadata={"description": "attempts at the current version"})
    next_attempt_at = fields.DateTime()
    idempotency_key = fields.String(allow_none=True)
    sent_version = fields.Integer(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    portal_id = fields.String(allow_none=True, metadata={"description": "the portal's id"})
    national_code = fields.String(
        allow_none=True, metadata={"description": "the national trace code the portal gave"}
    )
    accepted_version = fields.Integer(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)
    repeats = fields.Integer(
        metadata={"description": "sends repeated because a worker stopped mid-send"}
    )
    last_repeat_at = fields.DateTime(allow_none=True)
    changed_at = fields.DateTime()
    body = fields.Dict(allow_none=True, metadata={"description": "the body last sent"})


PortalRecordPage = page_of(PortalRecordSchema)
_record = PortalRecordSchema()
_page = PortalRecordPage()


@documented(summary="Sync status of the records sent to the national portal", tag=TAG,
            query=PortalRecordQuery, response=PortalRecordPage, errors=(401, 422))  # fmt: skip
def list_records() -> Response:
    actor = current_actor()
    return list_page(PortalRecordQuery(), _page,
                     lambda args, limit, cursor: status.list_records(
                         db.session, actor, args, limit, cursor))  # fmt: skip


@documented(summary="One record's sync status and the body last sent", tag=TAG,
            response=PortalRecordSchema, errors=(401, 404))  # fmt: skip
def get_record(record_id: int) -> Response:
    return dump(_record, status.get_record(db.session, current_actor(), record_id))


@documented(summary="Send a record to the national portal again (as a new version)", tag=TAG,
            response=PortalRecordSchema, errors=(401, 403, 404))  # fmt: skip
def resend(record_id: int) -> Response:
    return dump(_record, status.resend(db.session, current_actor(), record_id))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/portal/records", "list_portal_records", list_records, methods=["GET"])
    bp.add_url_rule("/portal/records/<int:record_id>", "get_portal_record", get_record,
                    methods=["GET"])  # fmt: skip
    bp.add_url_rule("/portal/records/<int:record_id>/resend", "resend_portal_record", resend,
                    methods=["POST"])  # fmt: skip
