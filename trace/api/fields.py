"""marshmallow fields for the field's identifiers: GTIN, GLN, lot codes, provinces, units."""

from __future__ import annotations

import datetime as dt
import decimal
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


YEAR_MIN, YEAR_MAX = 1900, 2999
"""Dates and times outside these years are refused: date arithmetic (expiry from shelf life,
offsets to UTC) stays far from the limits of Python's calendar."""


def check_year(value: dt.date) -> None:
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        raise ValidationError(f"must lie between the years {YEAR_MIN} and {YEAR_MAX}")


class DecimalDigits(validate.Validator):
    """What a ``Numeric(precision, scale)`` column holds exactly: at most ``scale`` decimal
    places and ``precision - scale`` integer digits. PostgreSQL would round or overflow where
    SQLite stores anything, so both refuse alike."""

    def __init__(self, precision: int, scale: int) -> None:
        self.precision, self.scale = precision, scale

    def __call__(self, value: decimal.Decimal) -> decimal.Decimal:
        if not value.is_finite():
            raise ValidationError("must be a finite number")
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > self.scale:
            raise ValidationError(f"at most {self.scale} decimal places")
        if abs(value) >= decimal.Decimal(10) ** (self.precision - self.scale):
            raise ValidationError(
                f"must be less than 10^{self.precision - self.scale} in absolute value"
            )
        return value


def decimal_string(
    precision: int, scale: int, *validators: validate.Validator, **kwargs: Any
) -> fields.Decimal:
    """A decimal kept exact, answered as a string (documented so); a JSON number is accepted."""
    checks = [*validators, DecimalDigits(precision, scale)]
    return fields.Decimal(as_string=True, places=None, validate=checks, **kwargs)
