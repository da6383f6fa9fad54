"""Schemas of the label resources: print runs, codes, QR images."""

from __future__ import annotations

from typing import Any

from flask import url_for
from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_dump,
    post_load,
    validate,
    validates_schema,
)

from trace.api.schemas import StrictSchema, page_of, text
from trace.models import CodeKind, CodeStatus
from trace.services.labels.issuance import (
    CUSTOM_TEMPLATE,
    EC_LEVELS,
    MAX_RUN_COUNT,
    TEMPLATE_NAMES,
)


def _ec(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.OneOf(EC_LEVELS, error="error correction must be one of L, M, Q, H"),
        metadata={"description": "QR error correction level", "enum": list(EC_LEVELS)},
        **kwargs,
    )


def _mm(**kwargs: Any) -> fields.Float:
    return fields.Float(
        validate=validate.Range(min=0, max=1000, error="must be 0 to 1000 mm"), **kwargs
    )


def _positive_mm(**kwargs: Any) -> fields.Float:
    return fields.Float(
        validate=validate.Range(min=0, min_inclusive=False, max=1000, error="must be 0 to 1000 mm"),
        **kwargs,
    )


class LayoutSchema(StrictSchema):
    """A custom label sheet; lengths in mm. A margin left out centres the grid on the page."""

    rows = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100))
    cols = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100))
    label_w_mm = _positive_mm(required=True)
    label_h_mm = _positive_mm(required=True)
    margin_top_mm = _mm(allow_none=True)
    margin_left_mm = _mm(allow_none=True)
    gap_x_mm = _mm()
    gap_y_mm = _mm()
    page_w_mm = _positive_mm(metadata={"description": "default 210 (A4)"})
    page_h_mm = _positive_mm(metadata={"description": "default 297 (A4)"})


class PrintRunCreateSchema(StrictSchema):
    count = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(
            min=1, max=MAX_RUN_COUNT, error=f"count must be 1 to {MAX_RUN_COUNT}"
        ),
        metadata={"description": "labels to print"},
    )
    template = fields.String(
        required=True,
        validate=validate.OneOf(
            TEMPLATE_NAMES, error="unknown template {input!r}: use one of {choices}"
        ),
        metadata={"enum": TEMPLATE_NAMES},
    )
    layout = fields.Nested(LayoutSchema, metadata={"description": "for the custom template"})
    serialised = fields.Boolean(
        load_default=True,
        metadata={
            "description": "true: a fresh unit code per label; "
            "false: `count` copies of the batch-level code"
        },
    )
    cut_marks = fields.Boolean(load_default=False)
    ec = _ec(load_default="M")

    @validates_schema
    def _layout_with_custom(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("template") == CUSTOM_TEMPLATE and not data.get("layout"):
            raise ValidationError("a custom template needs a layout", field_name="layout")
        if data.get("layout") and data.get("template") not in (None, CUSTOM_TEMPLATE):
            raise ValidationError(
                f"a layout is only for the {CUSTOM_TEMPLATE!r} template", field_name="layout"
            )


class CodeCountsSchema(Schema):
    total = fields.Integer(metadata={"description": "distinct codes the run prints"})
    issued = fields.Integer()
    printed = fields.Integer()
    voided = fields.Integer()


class PrintRunLinksSchema(Schema):
    self = fields.String()
    labels_pdf = fields.String()
    codes = fields.String()
    batch = fields.String()


class PrintRunSchema(Schema):
    class Meta:
        ordered = True

    id = fields.Integer()
    batch_id = fields.Integer()
    template = fields.String()
    layout = fields.Dict(
        keys=fields.String(), metadata={"description": "the sheet geometry used, in mm"}
    )
    count = fields.Integer()
    serialised = fields.Boolean()
    cut_marks = fields.Boolean()
    ec = fields.String()
    batch_code = fields.String(
        allow_none=True, metadata={"description": "the code an unserialised run prints"}
    )
    created_at = fields.DateTime()
    voided_at = fields.DateTime(allow_none=True)
    codes = fields.Nested(CodeCountsSchema)
    links = fields.Nested(PrintRunLinksSchema, dump_only=True)

    @post_dump(pass_original=True)
    def _links(self, data: dict[str, Any], original: Any, **_kwargs: Any) -> dict[str, Any]:
        data["links"] = {
            "self": url_for(".get_print_run", run_id=original.id),
            "labels_pdf": url_for(".print_run_pdf", run_id=original.id),
            "codes": url_for(".list_print_run_codes", run_id=original.id),
            "batch": url_for(".get_batch", entity_id=original.batch_id),
        }
        return data


class CodeLinksSchema(Schema):
    self = fields.String()
    qr_svg = fields.String()
    qr_png = fields.String()


class CodeSchema(Schema):
    class Meta:
        ordered = True

    code = fields.String()
    kind = fields.Enum(CodeKind, by_value=True)
    status = fields.Enum(CodeStatus, by_value=True)
    uri = fields.String(metadata={"description": "what the QR code carries"})
    batch_id = fields.Integer()
    lot_code = fields.String()
    product_id = fields.Integer()
    product_name = fields.String()
    print_run_id = fields.Integer(allow_none=True)
    position = fields.Integer(allow_none=True, metadata={"description": "place in its run"})
    issued_at = fields.DateTime()
    voided_at = fields.DateTime(allow_none=True)
    void_reason = fields.String(allow_none=True)
    links = fields.Nested(CodeLinksSchema, dump_only=True)

    @post_dump(pass_original=True)
    def _links(self, data: dict[str, Any], original: Any, **_kwargs: Any) -> dict[str, Any]:
        data["links"] = {
            "self": url_for(".get_code", code=original.code),
            "qr_svg": url_for(".code_qr_svg", code=original.code),
            "qr_png": url_for(".code_qr_png", code=original.code),
        }
        return data


CodePage = page_of(CodeSchema)
PrintRunPage = page_of(PrintRunSchema)


class VoidSchema(StrictSchema):
    reason = text(300, required=True, metadata={"description": "why; stored without the spaces "
                                                "around it"})  # fmt: skip

    @post_load
    def _stripped(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        data["reason"] = data["reason"].strip()
        if not data["reason"]:
            raise ValidationError("say why the code is voided", field_name="reason")
        return data


class QrSvgQuery(StrictSchema):
    size_mm = fields.Float(
        load_default=20,
        validate=validate.Range(min=5, max=200, error="size_mm must be 5 to 200"),
        metadata={"description": "side of the printed code, quiet zone included"},
    )
    ec = _ec(load_default="M")


class QrPngQuery(QrSvgQuery):
    dpi = fields.Integer(
        load_default=300, validate=validate.Range(min=72, max=1200, error="dpi must be 72 to 1200")
    )
