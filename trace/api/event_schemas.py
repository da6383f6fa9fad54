"""Schemas of the events API: the producers' stage form, EPCIS query parameters, answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from trace.api.fields import decimal_string, unit_code
from trace.api.refs import (
    CorrectionRefSchema,
    GtinProductRefSchema,
    LocalisedName,
    NamedRefSchema,
    OrgRefSchema,
    PlaceSchema,
)
from trace.api.schemas import StrictSchema
from trace.epcis import cbv
from trace.services.events.stages import DDS_REFERENCE, DDS_VERIFICATION, STAGES

EVENT_TYPES = [
    "ObjectEvent",
    "AggregationEvent",
    "TransformationEvent",
    "TransactionEvent",
    "AssociationEvent",
]


class CommaList(fields.List):
    """A query parameter holding one value or several, comma-separated or repeated."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        return super()._deserialize(value, attr, data, **kwargs)


class Disposition(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return cbv.canonical_disposition(text)
        except cbv.VocabularyError as error:
            raise ValidationError(str(error)) from None


class InputBatch(StrictSchema):
    batch_id = fields.Integer(required=True, strict=True)
    quantity = decimal_string(18, 3, validate.Range(min=0, min_inclusive=False))


class Temperature(StrictSchema):
    time = fields.DateTime(required=True)
    celsius = fields.Float(required=True, validate=validate.Range(min=-80, max=80))


class BusinessDocument(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(sorted(cbv.BIZ_TRANSACTION_TYPES)))
    number = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9._/-]{1,60}$", error="letters, digits . _ / - only"),
    )


class DdsNumbers(StrictSchema):
    """The EU due diligence statement a shipment into the EU goes under (EUDR Art. 4)."""

    reference_number = fields.String(
        validate=validate.Regexp(r"^[A-Za-z0-9-]{1,40}$", error="letters, digits and - only"),
        metadata={"description": "the DDS reference number the EU Information System gave"},
    )
    verification_number = fields.String(
        validate=validate.Regexp(r"^[A-Za-z0-9-]{1,40}$", error="letters, digits and - only"),
        metadata={"description": "the DDS verification number"},
    )


class StageForm(StrictSchema):
    """What a producer records: one stage of one batch."""

    stage = fields.String(
        required=True,
        validate=validate.OneOf(STAGES),
        metadata={"description": "a CBV 2.0 bizStep or harvesting, cooling, processing, drying"},
    )
    time = fields.DateTime(metadata={"description": "ISO 8601; +07:00 when no offset is given"})
    facility_id = fields.Integer(strict=True)
    quantity = decimal_string(18, 3, validate.Range(min=0, min_inclusive=False))
    unit = unit_code()
    note = fields.String(validate=validate.Length(min=1, max=1000))
    disposition = Disposition()
    from_organization_id = fields.Integer(strict=True)
    to_organization_id = fields.Integer(strict=True)
    inputs = fields.List(fields.Nested(InputBatch), validate=validate.Length(max=100))
    temperatures = fields.List(fields.Nested(Temperature), validate=validate.Length(max=10000))
    documents = fields.List(fields.Nested(BusinessDocument), validate=validate.Length(max=20))
    plot_id = fields.Integer(
        strict=True,
        metadata={"description": "harvesting: the plot (a facility of kind plot) harvested"},
    )
    dds = fields.Nested(
        DdsNumbers,
        metadata={"description": "shipping: the EUDR due diligence statement's numbers"},
    )


class EventQuery(StrictSchema):
    """EPCIS 2.0 SimpleEventQuery parameters (REST binding)."""

    eventType = CommaList(fields.String(validate=validate.OneOf(EVENT_TYPES)))
    GE_eventTime = fields.AwareDateTime(default_timezone=dt.UTC)
    LT_eventTime = fields.AwareDateTime(default_timezone=dt.UTC)
    GE_recordTime = fields.AwareDateTime(default_timezone=dt.UTC)
    LT_recordTime = fields.AwareDateTime(default_timezone=dt.UTC)
    EQ_action = CommaList(fields.String(validate=validate.OneOf(["ADD", "OBSERVE", "DELETE"])))
    EQ_bizStep = CommaList(fields.String())
    EQ_disposition = CommaList(fields.String())
    EQ_readPoint = CommaList(fields.String())
    EQ_bizLocation = CommaList(fields.String())
    MATCH_epc = CommaList(fields.String())
    MATCH_epcClass = CommaList(fields.String())
    MATCH_anyEPC = CommaList(fields.String())
    EQ_eventID = CommaList(fields.String())
    EXISTS_errorDeclaration = fields.String(
        metadata={"description": "present (any value) to match only error declarations"}
    )
    perPage = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    nextPageToken = fields.String()


class TraceQuery(StrictSchema):
    direction = fields.String(
        load_default="backward", validate=validate.OneOf(["backward", "forward"])
    )
    depth = fields.Integer(load_default=10, validate=validate.Range(min=0, max=50))


class CapturedEventSchema(Schema):
    index = fields.Integer()
    eventID = fields.String(attribute="event_id")
    hashID = fields.String(attribute="hash_id")
    status = fields.String(metadata={"description": "created or existing (sent before)"})


class CaptureErrorSchema(Schema):
    pointer = fields.String()
    detail = fields.String(attribute="message")


class CaptureResultSchema(Schema):
    captured = fields.Integer(attribute="created")
    events = fields.List(fields.Nested(CapturedEventSchema))
    errors = fields.List(fields.Nested(CaptureErrorSchema))


class HistoryEntrySchema(Schema):
    eventID = fields.Function(lambda e: e.event.event_id)
    hashID = fields.Function(lambda e: e.event.hash_id)
    seq = fields.Function(lambda e: e.event.seq)
    type = fields.Function(lambda e: e.event.event_type)
    action = fields.Function(lambda e: e.event.action)
    bizStep = fields.Function(lambda e: e.event.biz_step)
    stage = fields.Nested(LocalisedName)
    disposition = fields.Function(lambda e: e.event.disposition)
    eventTime = fields.Function(lambda e: e.event.document["eventTime"])
    recordTime = fields.Function(lambda e: e.event.record_time.isoformat())
    facility = fields.Nested(PlaceSchema, allow_none=True)
    organization = fields.Nested(NamedRefSchema, allow_none=True)
    quantity = fields.Dict(allow_none=True)
    temperatures = fields.List(fields.Dict())
    note = fields.Function(lambda e: e.event.document.get("trace:note"))
    dds = fields.Function(
        lambda e: (
            {
                "reference_number": e.event.document.get(DDS_REFERENCE),
                "verification_number": e.event.document.get(DDS_VERIFICATION),
            }
            if DDS_REFERENCE in e.event.document or DDS_VERIFICATION in e.event.document
            else None
        ),
        metadata={"description": "EUDR due diligence statement numbers a shipment carries"},
    )
    corrected = fields.Boolean()
    corrections = fields.List(fields.Nested(CorrectionRefSchema), attribute="corrected_by")


class HistorySchema(Schema):
    batch_id = fields.Integer()
    events = fields.List(fields.Nested(HistoryEntrySchema))


class TraceNodeSchema(Schema):
    batch_id = fields.Function(lambda n: n.batch.id)
    lot_code = fields.Function(lambda n: n.batch.lot_code)
    status = fields.Function(lambda n: n.batch.status.value)
    depth = fields.Integer()
    product = fields.Nested(GtinProductRefSchema)
    producer = fields.Nested(OrgRefSchema)
    facility = fields.Nested(NamedRefSchema, allow_none=True)


class TraceEdgeSchema(Schema):
    input_batch_id = fields.Integer()
    output_batch_id = fields.Integer()
    eventID = fields.String(attribute="event_id")
    eventTime = fields.String(attribute="event_time")


class GenealogySchema(Schema):
    root_id = fields.Integer()
    direction = fields.String()
    depth = fields.Integer()
    nodes = fields.List(fields.Nested(TraceNodeSchema))
    edges = fields.List(fields.Nested(TraceEdgeSchema))


class FindingSchema(Schema):
    seq = fields.Integer()
    kind = fields.String(
        metadata={"description": "altered, deleted, inserted or reordered (the chain); derived "
                  "(a column of the event row) or index (its event_epc or batch_link rows) "
                  "not matching the event's document"}
    )  # fmt: skip
    message = fields.String()
    event_id = fields.String(allow_none=True)
    column = fields.String(
        allow_none=True,
        metadata={"description": "the column (derived) or table (index) that does not match"},
    )


class VerificationSchema(Schema):
    ok = fields.Boolean()
    entries = fields.Integer()
    head_seq = fields.Integer()
    head_chain_hash = fields.String()
    finding = fields.Nested(FindingSchema, allow_none=True)
    findings = fields.List(
        fields.Nested(FindingSchema),
        metadata={"description": "every finding in ledger order (at most 100 listed)"},
    )
    mismatched_entries = fields.Integer(metadata={"description": "how many entries have a finding"})


class CorrectionForm(StrictSchema):
    """Declaring an event in error: a CBV error reason and, optionally, why in words."""

    reason = fields.String(required=True, validate=validate.OneOf(sorted(cbv.ERROR_REASONS)))
    explanation = fields.String(validate=validate.Length(min=1, max=500))
