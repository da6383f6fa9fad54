"""marshmallow fields for the field's identifiers: GTIN, GLN, lot codes, provinces, units."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import ValidationError, fields, validate

from trace.gs1.keys import GS1KeyError, normalize_gtin, validate_gln, validate_lot
from trace.provinces import PROVINCES
from trace.units import UNITS


class _GS1Key(fields.String):
    checker: Callable[[str], str]

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return type(self).checker(text.strip())
        except GS1KeyError as error:
            raise ValidationError(str(error)) from None


class Gtin(_GS1Key):
    """8, 12, 13 or 14 digits with a correct check digit; loaded as GTIN-14."""

    checker = staticmethod(normalize_gtin)


class Gln(_GS1Key):
    checker = staticmethod(validate_gln)


class LotCode(_GS1Key):
    """GS1 AI 10: 1 to 20 characters of the GS1 character set 82."""

    checker = staticmethod(validate_lot)


def province_code(**kwargs: Any) -> fields.String:
    metadata = {"description": "2-digit province code (2025)", "enum": sorted(PROVINCES)}
    metadata.update(kwargs.pop("metadata", {}))
    return fields.String(
        validate=validate.OneOf(
            PROVINCES, error="{input!r} is not one of the 34 province codes in force since 2025"
        ),
        metadata=metadata,
        **kwargs,
    )


def unit_code(**kwargs: Any) -> fields.String:
    metadata = {"description": "UN/ECE Recommendation 20 unit code", "enum": sorted(UNITS)}
    metadata.update(kwargs.pop("metadata", {}))
    return fields.String(
        validate=validate.OneOf(UNITS, error="{input!r} is not a supported UN/ECE Rec. 20 unit"),
        metadata=metadata,
        **kwargs,
    )


def text(max_length: int, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)
