"""The API's marshmallow schemas: one stack validates every request and shapes every answer."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from trace.api.fields import (
    Gln,
    Gtin,
    LotCode,
    check_year,
    decimal_string,
    province_code,
    text,
    unit_code,
)
from trace.models import (
    BatchStatus,
    CertificateKind,
    FacilityKind,
    OrganizationKind,
    ProductCategory,
)

TAX_CODE = validate.Regexp(
    r"^\d{10}(-\d{3})?$", error="tax code must be 10 digits, or 10 digits-3 digits for a branch"
)
INT32 = validate.Range(min=-(2**31), max=2**31 - 1)
COMMUNE_CODE = validate.Regexp(r"^\d{5}$", error="commune code must be 5 digits")
COUNTRY_CODE = validate.Regexp(
    r"^[A-Z]{2}$", error="country must be an ISO 3166-1 alpha-2 code, e.g. VN"
)


class StrictSchema(Schema):
    """Every schema that loads input. Its integers are bounded to 32 bits (PostgreSQL's
    integer; SQLite would take anything) and its dates to :data:`~trace.api.fields.YEAR_MIN`
    to ``YEAR_MAX``, so bad input is a 422 on every database instead of an error in SQL."""

    class Meta:
        unknown = RAISE
        ordered = True

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        if field_obj.dump_only:
            return
        if isinstance(field_obj, fields.List):
            field_obj = field_obj.inner
        # Field objects are shared by the schema's instances: add the check once, atomically.
        check = {fields.Integer: INT32, fields.Date: check_year, fields.DateTime: check_year}
        for kind, validator in check.items():
            if isinstance(field_obj, kind) and validator not in field_obj.validators:
                field_obj.validators = [*field_obj.validators, validator]


class Timestamps(StrictSchema):
    id = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ArchivableTimestamps(Timestamps):
    archived_at = fields.DateTime(dump_only=True, allow_none=True)


class OrganizationSchema(ArchivableTimestamps):
    kind = fields.Enum(OrganizationKind, by_value=True, required=True)
    name = text(200, required=True)
    tax_code = fields.String(required=True, validate=TAX_CODE)
    gln = Gln(allow_none=True)
    province_code = province_code(required=True)
    address = text(300, required=True)
    phone = fields.String(allow_none=True, validate=validate.Regexp(r"^\+?[0-9 .()-]{6,30}$"))
    email = fields.Email(allow_none=True, validate=validate.Length(max=200))
    website = fields.URL(
        allow_none=True, schemes={"http", "https"}, validate=validate.Length(max=300)
    )


class FacilitySchema(ArchivableTimestamps):
    organization_id = fields.Integer(required=True, strict=True)
    kind = fields.Enum(FacilityKind, by_value=True, required=True)
    name = text(200, required=True)
    gln = Gln(allow_none=True)
    address = text(300, required=True)
    province_code = province_code(required=True)
    commune_code = fields.String(allow_none=True, validate=COMMUNE_CODE)
    latitude = decimal_string(9, 6, validate.Range(min=-90, max=90), allow_none=True)
    longitude = decimal_string(9, 6, validate.Range(min=-180, max=180), allow_none=True)


class FacilityUpdateSchema(FacilitySchema):
    class Meta:
        exclude = ("organization_id",)


class ProductSchema(ArchivableTimestamps):
    organization_id = fields.Integer(
        required=True, strict=True, metadata={"description": "the brand owner"}
    )
    name_vi = text(200, required=True)
    name_en = text(200, allow_none=True)
    category = fields.Enum(ProductCategory, by_value=True, required=True)
    gtin = Gtin(allow_none=True, metadata={"description": "GTIN-8/12/13/14, stored as GTIN-14"})
    ocop_stars = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=5))
    geographical_indication = text(300, allow_none=True)
    standards = fields.List(text(100), load_default=list)
    image = text(300, allow_none=True)
    unit = unit_code(required=True)
    shelf_life_days = fields.Integer(
        allow_none=True, strict=True, validate=validate.Range(min=1, max=36500)
    )
    description_vi = text(2000, allow_none=True)
    description_en = text(2000, allow_none=True)
    origin_country = fields.String(
        validate=COUNTRY_CODE,
        metadata={"description": "ISO 3166-1 alpha-2 country of origin (default VN)"},
    )
    origin_province_code = province_code(
        allow_none=True,
        metadata={"description": "province of origin; defaults to the brand owner's province"},
    )
    safety_warning_vi = text(1000, allow_none=True)
    safety_warning_en = text(1000, allow_none=True)


class ProductUpdateSchema(ProductSchema):
    class Meta:
        exclude = ("organization_id",)


class BatchLinksSchema(Schema):
    public = fields.String(
        allow_none=True,
        metadata={
            "description": "the public page consumers open, as the batch label's QR code "
            "carries it: GS1 Digital Link for a GTIN product, <public URL>/q/<code> otherwise"
        },
    )


class BatchSchema(Timestamps):
    product_id = fields.Integer(required=True, strict=True)
    producer_id = fields.Integer(
        strict=True, metadata={"description": "defaults to the token's organisation"}
    )
    lot_code = LotCode(required=True)
    quantity = decimal_string(
        18,
        3,
        validate.Range(min=0, min_inclusive=False, error="quantity must be positive"),
        required=True,
    )
    unit = unit_code(metadata={"description": "defaults to the product's unit"})
    production_date = fields.Date(required=True)
    expiry_date = fields.Date(allow_none=True)
    origin_facility_id = fields.Integer(allow_none=True, strict=True)
    certifications = fields.List(
        text(200),
        load_only=True,
        metadata={
            "description": "free-text certifications, each added as a certificate of the batch "
            "(kind and number read from the text, kind other when it names no known scheme); "
            "manage them under /certificates"
        },
    )
    status = fields.Enum(BatchStatus, by_value=True, dump_only=True)
    code = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "the batch-level code (its label without a serial number)"},
    )
    links = fields.Nested(BatchLinksSchema, dump_only=True)


class BatchUpdateSchema(BatchSchema):
    """Lot code, product and producer are printed on labels: they never change."""

    status = fields.Enum(
        BatchStatus,
        by_value=True,
        validate=validate.OneOf([BatchStatus.ACTIVE, BatchStatus.CLOSED]),
    )

    class Meta:
        exclude = ("product_id", "producer_id", "lot_code")


class CertificateSchema(ArchivableTimestamps):
    organization_id = fields.Integer(allow_none=True, strict=True)
    product_id = fields.Integer(allow_none=True, strict=True)
    batch_id = fields.Integer(
        allow_none=True,
        strict=True,
        metadata={"description": "exactly one of organization_id, product_id, batch_id"},
    )
    kind = fields.Enum(CertificateKind, by_value=True, required=True)
    number = fields.String(
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": "empty when the record names none (read from free text)"},
    )
    issuer = text(200, allow_none=True)
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True, metadata={"description": "the last day it is valid"})
    scope = text(500, allow_none=True)
    document_url = fields.URL(
        allow_none=True, schemes={"http", "https"}, validate=validate.Length(max=500)
    )
    source_text = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "the free text this record was read from, if any"},
    )


class CertificateUpdateSchema(CertificateSchema):
    """The holder never changes: withdraw the certificate and record a new one instead."""

    class Meta:
        exclude = ("organization_id", "product_id", "batch_id")


class MissingFieldSchema(Schema):
    field = fields.String(metadata={"description": "JSON pointer into the passport document"})
    message = fields.String()


class CompletenessSchema(Schema):
    complete = fields.Boolean()
    missing = fields.List(fields.Nested(MissingFieldSchema))


class ProductCompletenessSchema(CompletenessSchema):
    product_id = fields.Integer()
    name_vi = fields.String()
    gtin = fields.String(allow_none=True)


class BatchCompletenessSchema(CompletenessSchema):
    batch_id = fields.Integer()
    product_id = fields.Integer()
    lot = fields.String()


class ProducerReadinessSchema(Schema):
    organization_id = fields.Integer()
    name = fields.String()
    province_code = fields.String()
    ready = fields.Boolean(
        metadata={"description": "it has products, and every one's passport is complete"}
    )
    products = fields.List(fields.Nested(ProductCompletenessSchema))


# Query strings ------------------------------------------------------------------------------


class PageQuery(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String()


class OrganizationQuery(PageQuery):
    province = province_code()
    kind = fields.Enum(OrganizationKind, by_value=True)
    q = fields.String(validate=validate.Length(min=1, max=100))
    include_archived = fields.Boolean(load_default=False)


class FacilityQuery(PageQuery):
    organization = fields.Integer()
    province = province_code()
    kind = fields.Enum(FacilityKind, by_value=True)
    q = fields.String(validate=validate.Length(min=1, max=100))
    include_archived = fields.Boolean(load_default=False)


class ProductQuery(PageQuery):
    organization = fields.Integer()
    province = province_code()
    category = fields.Enum(ProductCategory, by_value=True)
    gtin = Gtin()
    q = fields.String(validate=validate.Length(min=1, max=100))
    include_archived = fields.Boolean(load_default=False)


class BatchQuery(PageQuery):
    product = fields.Integer()
    producer = fields.Integer()
    province = province_code()
    status = fields.Enum(BatchStatus, by_value=True)
    lot = fields.String()
    q = fields.String(validate=validate.Length(min=1, max=100))


class CertificateQuery(PageQuery):
    organization = fields.Integer()
    product = fields.Integer()
    batch = fields.Integer()
    kind = fields.Enum(CertificateKind, by_value=True)
    include_archived = fields.Boolean(load_default=False)


class ReadinessQuery(PageQuery):
    province = province_code(
        metadata={"description": "a centre's token reads its own province only (the default)"}
    )
    organization = fields.Integer()


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The envelope of a list answer: items and the cursor of the next page."""
    return type(
        f"{item_schema.__name__.removesuffix('Schema')}Page",
        (Schema,),
        {
            "items": fields.List(fields.Nested(item_schema)),
            "next_cursor": fields.String(allow_none=True),
        },
    )
