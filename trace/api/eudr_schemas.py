"""Schemas of the EUDR routes: a plot's geolocation and an export lot's due diligence package."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from trace.api.fields import decimal_string, text
from trace.api.schemas import StrictSchema

COUNTRY = validate.Regexp(r"^[A-Z]{2}$", error="an ISO 3166-1 alpha-2 country code, e.g. VN")


class LandDocument(StrictSchema):
    type = fields.String(
        required=True,
        validate=validate.OneOf(
            ["land_use_right_certificate", "lease", "cooperative_contract", "other"]
        ),
        metadata={"description": "land_use_right_certificate: Giấy chứng nhận quyền sử dụng đất"},
    )
    number = text(100, required=True)
    url = fields.URL(
        schemes={"https"}, validate=validate.Length(max=300), allow_none=True,
        metadata={"description": "where the scanned document is kept"},
    )  # fmt: skip


class PlotSchema(StrictSchema):
    facility_id = fields.Integer(dump_only=True)
    geometry = fields.Dict(
        required=True,
        metadata={
            "description": "GeoJSON Point or Polygon, WGS84 [longitude, latitude] with six "
            "decimal places; a point only for a plot of up to 4 ha (declared_area_ha)"
        },
    )
    declared_area_ha = decimal_string(
        12, 4, validate.Range(min=0, min_inclusive=False), allow_none=True,
        metadata={"description": "the area the farmer or the land documents give, hectares"},
    )  # fmt: skip
    area_ha = fields.Decimal(
        as_string=True, dump_only=True,
        metadata={"description": "computed geodesically from the polygon (a point: declared)"},
    )  # fmt: skip
    producer_name = text(200, required=True, metadata={"description": "the farmer or owner"})
    producer_country = fields.String(load_default="VN", validate=COUNTRY)
    land_documents = fields.List(
        fields.Nested(LandDocument), load_default=list, validate=validate.Length(max=20)
    )
    warnings = fields.List(fields.String(), dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class PlotShareSchema(Schema):
    facility_id = fields.Integer()
    production_place = fields.String(attribute="name")
    province_code = fields.String()
    area_ha = fields.Decimal(as_string=True, allow_none=True)
    harvested_quantity = fields.Decimal(as_string=True, attribute="harvested")
    harvest_unit = fields.String(allow_none=True)
    share = fields.Float(metadata={"description": "fraction of the export lot (mass balance)"})
    allocated_quantity = fields.Decimal(
        as_string=True, attribute="allocated",
        metadata={"description": "the part of the export lot from this plot, in allocated_unit"},
    )  # fmt: skip
    first_harvest = fields.DateTime(allow_none=True)
    last_harvest = fields.DateTime(allow_none=True)
    harvest_events = fields.List(fields.String())
    problem = fields.String(allow_none=True)
    warning = fields.String(allow_none=True)


class DdsSchema(Schema):
    event_id = fields.String()
    event_time = fields.DateTime()
    reference_number = fields.String(allow_none=True)
    verification_number = fields.String(allow_none=True)


class EudrSummarySchema(Schema):
    format = fields.String()
    lot_code = fields.Function(lambda p: p.batch.lot_code)
    quantity = fields.Function(lambda p: str(p.batch.quantity))
    unit = fields.Function(lambda p: p.batch.unit)
    allocated_unit = fields.String()
    upstream_batches = fields.Integer()
    plot_count = fields.Function(lambda p: len(p.plots))
    total_area_ha = fields.Function(
        lambda p: str(sum((x.area_ha for x in p.plots if x.area_ha is not None), start=0))
    )
    countries = fields.Function(
        lambda p: sorted({x.producer_country for x in p.plots if x.producer_country})
    )
    provinces = fields.Function(lambda p: sorted({x.province_code for x in p.plots}))
    harvest_from = fields.DateTime(allow_none=True)
    harvest_to = fields.DateTime(allow_none=True)
    plots = fields.List(fields.Nested(PlotShareSchema))
    dds = fields.List(fields.Nested(DdsSchema))
    warnings = fields.List(fields.String())


class EudrPackageSchema(Schema):
    batch_id = fields.Function(lambda p: p.batch.id)
    geojson = fields.Dict(
        metadata={
            "description": "FeatureCollection in the EU Information System's format "
            "(schemas/eudr-geojson.schema.json): properties ProducerName, ProducerCountry, "
            "ProductionPlace, Area (ha)"
        }
    )
    summary = fields.Function(lambda p: EudrSummarySchema().dump(p))
