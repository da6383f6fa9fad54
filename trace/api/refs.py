"""The small reference schemas answers embed: who, where, which product, which recall.

One definition each, so an organisation named in a history, an audit or a trace looks (and is
documented) the same everywhere.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from marshmallow.utils import missing


class Itself(fields.Nested):
    """A nested schema dumped from the object itself rather than one of its attributes: for an
    answer that groups some of the object's fields under one key."""

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return obj


class LocalisedName(Schema):
    vi = fields.String()
    en = fields.String()


class NamedRefSchema(Schema):
    """An organisation or facility, in brief."""

    id = fields.Integer()
    name = fields.String()


class OrgRefSchema(NamedRefSchema):
    province_code = fields.String()


class TokenRefSchema(Schema):
    id = fields.Integer()
    prefix = fields.String()
    role = fields.String()
    name = fields.String()


class RecordedBySchema(Schema):
    organization = fields.Nested(OrgRefSchema, allow_none=True)
    token = fields.Nested(TokenRefSchema, allow_none=True)


class ProductRefSchema(Schema):
    id = fields.Integer()
    name_vi = fields.String()


class GtinProductRefSchema(ProductRefSchema):
    gtin = fields.String(allow_none=True)


class PlaceSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String()
    province_code = fields.String()
    organization_id = fields.Integer()


class CorrectionRefSchema(Schema):
    """An error declaration that corrects an event, from the declaring event's document."""

    declarationTime = fields.Function(
        lambda e: e.document["errorDeclaration"].get("declarationTime")
    )
    reason = fields.Function(lambda e: e.document["errorDeclaration"].get("reason"))
    correctiveEventIDs = fields.Function(
        lambda e: e.document["errorDeclaration"].get("correctiveEventIDs", [])
    )


class RecallRefSchema(Schema):
    id = fields.Integer()
    reason = fields.String()
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
