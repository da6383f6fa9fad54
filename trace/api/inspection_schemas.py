"""Schemas of the inspectors' API: audits, recalls, exports, consumer signals, checkpoints."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, fields, validate

from trace.api.fields import text
from trace.api.refs import (
    CorrectionRefSchema,
    Itself,
    NamedRefSchema,
    OrgRefSchema,
    PlaceSchema,
    ProductRefSchema,
    RecallRefSchema,
    RecordedBySchema,
)
from trace.api.schemas import PageQuery, StrictSchema, page_of

FORMATS = ["json", "html"]


class PlainList(fields.List):
    """Documented like the list it is, dumped as given: the service already shapes these rows
    as plain JSON data, and a recall may cover 100,000 batches."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class HtmlQuery(StrictSchema):
    format = fields.String(
        validate=validate.OneOf(FORMATS),
        metadata={"description": "html for the printable report (or Accept: text/html)"},
    )


# Audit ------------------------------------------------------------------------------------


class LedgerCheckSchema(Schema):
    ok = fields.Boolean()
    hash_ok = fields.Boolean(metadata={"description": "the stored event still hashes to its ID"})
    link_ok = fields.Boolean(
        metadata={"description": "its chain hash follows from the entry before it"}
    )
    predecessor_seq = fields.Integer(allow_none=True)


class CorrectionSchema(CorrectionRefSchema):
    seq = fields.Function(lambda e: e.seq)
    recordTime = fields.Function(lambda e: e.record_time.isoformat())


class AuditedEventSchema(Schema):
    seq = fields.Function(lambda a: a.event.seq)
    eventID = fields.Function(lambda a: a.event.event_id)
    hashID = fields.Function(lambda a: a.event.hash_id)
    type = fields.Function(lambda a: a.event.event_type)
    bizStep = fields.Function(lambda a: a.event.biz_step)
    stage = fields.Dict()
    declaresError = fields.Function(lambda a: a.event.declares_error)
    eventTime = fields.Function(lambda a: a.event.document.get("eventTime"))
    recordTime = fields.Function(lambda a: a.event.record_time.isoformat())
    late = fields.Boolean()
    delay_hours = fields.Float()
    recorded_by = Itself(RecordedBySchema)
    corrected = fields.Function(lambda a: bool(a.corrections))
    corrections = fields.List(fields.Nested(CorrectionSchema))
    ledger = fields.Function(
        lambda a: {
            "ok": a.check.ok,
            "hash_ok": a.check.hash_ok,
            "link_ok": a.check.link_ok,
            "predecessor_seq": a.check.predecessor_seq,
            "mismatches": [
                {"kind": m.kind, "column": m.what, "message": m.message} for m in a.check.mismatches
            ],
        }
    )


class BatchAuditSchema(Schema):
    batch_id = fields.Function(lambda a: a.batch.id)
    lot_code = fields.Function(lambda a: a.batch.lot_code)
    status = fields.Function(lambda a: a.batch.status.value)
    product = fields.Nested(ProductRefSchema, attribute="batch.product")
    producer = fields.Nested(NamedRefSchema, attribute="batch.producer")
    late_after_hours = fields.Float()
    late_count = fields.Integer()
    ledger_ok = fields.Boolean()
    recalls = fields.List(fields.Nested(RecallRefSchema))
    events = fields.List(fields.Nested(AuditedEventSchema))
    generated_at = fields.DateTime()


class AuditLogQuery(PageQuery):
    organization = fields.Integer()
    actor = fields.String(validate=validate.Length(min=1, max=100))
    token = fields.Integer()
    entity_type = fields.String(validate=validate.Length(min=1, max=40))
    entity_id = fields.String(validate=validate.Length(min=1, max=64))
    action = fields.String(validate=validate.Length(min=1, max=40))
    from_ = fields.AwareDateTime(data_key="from", attribute="from", default_timezone=dt.UTC)
    to = fields.AwareDateTime(default_timezone=dt.UTC)


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    token_id = fields.Integer(allow_none=True)
    actor = fields.String()
    actor_organization_id = fields.Integer(allow_none=True)
    action = fields.String()
    entity_type = fields.String()
    entity_id = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)


AuditEntryPage = page_of(AuditEntrySchema)


# Recalls ----------------------------------------------------------------------------------


class RecallCreateSchema(StrictSchema):
    batches = fields.List(
        fields.Integer(strict=True), required=True, validate=validate.Length(min=1, max=1000)
    )
    reason = text(2000, required=True)
    instruction_vi = text(
        1000, metadata={"description": "what consumers must do, shown on the public page (vi)"}
    )
    instruction_en = text(
        1000, metadata={"description": "what consumers must do, shown on the public page (en)"}
    )
    include_downstream = fields.Boolean(
        load_default=False,
        metadata={"description": "also recall every batch made from these, at any depth"},
    )


class RecallCreateQuery(StrictSchema):
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "answer the recall's impact (200) and write nothing"},
    )


class RecallCloseSchema(StrictSchema):
    note = text(2000, required=True)


class RecallQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(["open", "closed"]))
    batch = fields.Integer()


class RecallBatchSchema(Schema):
    batch_id = fields.Integer()
    direct = fields.Boolean()
    lot_code = fields.String()
    status = fields.String()
    production_date = fields.String()
    expiry_date = fields.String(allow_none=True)
    product = fields.Dict()
    producer = fields.Dict()
    codes = fields.Dict(metadata={"description": "codes of the batch by status (impact only)"})


class RecallSchema(Schema):
    id = fields.Function(lambda v: v.recall.id)
    status = fields.String()
    reason = fields.Function(lambda v: v.recall.reason)
    instruction_vi = fields.Function(lambda v: v.recall.instruction_vi)
    instruction_en = fields.Function(lambda v: v.recall.instruction_en)
    include_downstream = fields.Function(lambda v: v.recall.include_downstream)
    created_at = fields.Function(lambda v: v.recall.created_at.isoformat())
    issued_by = fields.Dict(allow_none=True)
    closed_at = fields.Function(
        lambda v: v.recall.closed_at.isoformat() if v.recall.closed_at else None
    )
    close_note = fields.Function(lambda v: v.recall.close_note)
    closed_by = fields.Dict(allow_none=True)
    direct = fields.Integer(metadata={"description": "batches named in the recall"})
    downstream = fields.Integer(metadata={"description": "batches reached downstream"})
    batches = PlainList(
        fields.Nested(RecallBatchSchema),
        allow_none=True,
        metadata={"description": "the first 1000 batches by id; the impact report pages all"},
    )


RecallPage = page_of(RecallSchema)


class RecallSummarySchema(RecallSchema):
    class Meta:
        exclude = ("batches",)


class ReceiverSchema(PlaceSchema):
    kind = fields.String()
    gln = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    batches = fields.Integer()
    via = fields.List(fields.String())
    first_at = fields.String()
    last_at = fields.String()


class ImpactQuery(HtmlQuery):
    limit = fields.Integer(
        load_default=1000,
        validate=validate.Range(min=1, max=10000),
        metadata={"description": "batches per page of the batch list"},
    )
    cursor = fields.String(metadata={"description": "batches_next_cursor of the previous page"})


class ProducerCountSchema(OrgRefSchema):
    batches = fields.Integer()


class ImpactSchema(Schema):
    recall = fields.Nested(RecallSummarySchema)
    batches = PlainList(
        fields.Nested(RecallBatchSchema),
        metadata={"description": "one page of the covered batches, by id"},
    )
    batches_total = fields.Integer()
    batches_next_cursor = fields.String(allow_none=True)
    producers = fields.List(
        fields.Nested(ProducerCountSchema),
        metadata={"description": "covered batches per producer: whom to notify"},
    )
    organizations = fields.List(fields.Nested(ReceiverSchema))
    facilities = fields.List(fields.Nested(ReceiverSchema))
    unresolved_destinations = fields.List(fields.String())
    codes = fields.Dict()
    scans = fields.Dict()
    generated_at = fields.DateTime()


class RecallDraftSchema(RecallSchema):
    """The recall a dry run would issue: no id, no status, nothing of closing."""

    class Meta:
        exclude = ("id", "status", "issued_by", "closed_at", "close_note", "closed_by", "batches")


class RecallPreviewSchema(ImpactSchema):
    """A dry run's answer: the impact the recall would have; nothing was written."""

    dry_run = fields.Constant(True)
    recall = fields.Nested(RecallDraftSchema)


# Exports ----------------------------------------------------------------------------------


class KdeQuery(StrictSchema):
    product = fields.Integer()
    batch = fields.Integer(metadata={"description": "one batch (its id)"})
    organization = fields.Integer(
        metadata={"description": "the batches this organisation (its id) produced"}
    )
    lot = fields.String(validate=validate.Length(min=1, max=20))
    from_ = fields.Date(data_key="from", attribute="from")
    to = fields.Date()
    lang = fields.String(load_default="vi", validate=validate.OneOf(["vi", "en"]))


class PortalQuery(PageQuery):
    batch = fields.Integer()
    product = fields.Integer()
    from_ = fields.Date(data_key="from", attribute="from", metadata={"description": "production"})
    to = fields.Date()


class PortalItemSchema(Schema):
    batch_id = fields.Integer()
    lot_code = fields.String()
    status = fields.String()
    product_name = fields.String()
    product_name_en = fields.String(allow_none=True)
    product_image = fields.String(allow_none=True)
    producer = fields.Dict()
    stages = fields.List(fields.Dict())
    production_time = fields.String()
    trace_code = fields.String(allow_none=True)
    trace_url = fields.String()
    brand = fields.String(allow_none=True)
    gtin = fields.String(allow_none=True)
    serial = fields.String(allow_none=True)
    expiry = fields.String(allow_none=True)
    standards = fields.List(fields.String())
    ocop_stars = fields.Integer(allow_none=True)


PortalPage = page_of(PortalItemSchema)


# Consumer signals -------------------------------------------------------------------------


class ReportQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(["open", "resolved"]))
    batch = fields.Integer()
    kind = fields.String(validate=validate.Length(min=1, max=32))
    from_ = fields.AwareDateTime(data_key="from", attribute="from", default_timezone=dt.UTC)
    to = fields.AwareDateTime(default_timezone=dt.UTC)


class ReportSchema(Schema):
    id = fields.Integer()
    code_id = fields.Integer(allow_none=True)
    batch_id = fields.Integer(allow_none=True)
    at = fields.DateTime()
    kind = fields.String()
    message = fields.String()
    contact = fields.String(allow_none=True)
    status = fields.String()
    resolved_at = fields.DateTime(allow_none=True)
    resolution = fields.String(allow_none=True)
    resolved_by_token_id = fields.Integer(allow_none=True)


ReportPage = page_of(ReportSchema)


class ResolveSchema(StrictSchema):
    resolution = text(2000, required=True)


class ClearWarningSchema(StrictSchema):
    reason = text(500, required=True)


class CopyWarningSchema(Schema):
    code = fields.String()
    code_id = fields.Integer(attribute="id")
    batch_id = fields.Integer()
    cleared_at = fields.DateTime(attribute="copy_warning_cleared_at")
    reason = fields.String(attribute="copy_warning_clear_reason")


class SuspiciousQuery(StrictSchema):
    since = fields.AwareDateTime(default_timezone=dt.UTC)
    until = fields.AwareDateTime(default_timezone=dt.UTC)
    window_hours = fields.Float(validate=validate.Range(min=0.1, max=24 * 30))
    min_clients = fields.Integer(validate=validate.Range(min=2, max=10000))
    min_km = fields.Float(validate=validate.Range(min=1, max=5000))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class SuspicionSchema(Schema):
    code = fields.Function(lambda s: s.code.code)
    code_id = fields.Function(lambda s: s.code.id)
    batch_id = fields.Integer()
    scans = fields.Integer()
    clients = fields.Integer()
    first_at = fields.DateTime()
    last_at = fields.DateTime()
    provinces = fields.List(fields.Dict())
    reasons = fields.List(fields.String())
    far_apart = fields.Dict(allow_none=True)


class SuspicionListSchema(Schema):
    since = fields.DateTime()
    until = fields.DateTime()
    window_hours = fields.Float()
    min_clients = fields.Integer()
    min_km = fields.Float()
    items = fields.List(fields.Nested(SuspicionSchema))


# The public ledger ------------------------------------------------------------------------


class CheckpointSchema(Schema):
    version = fields.String()
    seq = fields.Integer()
    chain_hash = fields.String()
    at = fields.String(metadata={"description": "UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ"})
    key_id = fields.String()
    algorithm = fields.String()
    public_key = fields.String(metadata={"description": "base64 of the raw Ed25519 public key"})
    signature = fields.String(metadata={"description": "base64 Ed25519 signature"})
    signed_message = fields.String(metadata={"description": "the exact signed text"})


class ProofQuery(StrictSchema):
    from_ = fields.Integer(
        data_key="from",
        attribute="from",
        required=True,
        validate=validate.Range(min=0),
        metadata={"description": "the seq of the checkpoint you hold"},
    )


class ProofEntrySchema(Schema):
    seq = fields.Integer()
    event_id = fields.String()
    hash_id = fields.String(metadata={"description": "recomputed from the stored event"})
    digest = fields.String(metadata={"description": "what the chain hashes for this entry"})
    chain_hash = fields.String()


class ProofSchema(Schema):
    algorithm = fields.String()
    from_seq = fields.Integer()
    entries = fields.List(fields.Nested(ProofEntrySchema))
    checkpoint = fields.Nested(CheckpointSchema)
