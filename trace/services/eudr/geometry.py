"""A plot's geolocation, checked the way EUDR (Regulation (EU) 2023/1115, Art. 2(28), Art. 9)
asks: WGS84 longitude/latitude with six decimal places, a single point only for a plot of up to
4 ha, otherwise a polygon whose rings are closed and do not cross themselves; its area is
computed on the WGS84 ellipsoid (pyproj's geodesic), not on a flat projection.

Precision: JSON numbers drop trailing zeros, so one coordinate written ``108.05`` may be a
surveyed ``108.050000``; a geometry is refused as too coarse only when none of its coordinates
has six decimal places. More than six are rounded to six (about 11 cm).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

from trace.services.errors import FieldError, InvalidInput

DECIMALS = 6
#: EUDR Art. 2(28): a plot of more than four hectares needs a polygon.
POINT_MAX_HA = Decimal(4)
_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class Geolocation:
    """A checked geometry: GeoJSON (six decimals, exterior ring counter-clockwise as RFC 7946
    asks), its kind and its area in hectares (None for a point)."""

    geometry: dict[str, Any]
    kind: str
    computed_area_ha: Decimal | None


def _decimals(value: float) -> int:
    exponent = Decimal(repr(value)).as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _position(value: Any, pointer: str, errors: list[FieldError]) -> tuple[float, float] | None:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        errors.append(FieldError(pointer, "a position is [longitude, latitude], two numbers"))
        return None
    lon, lat = float(value[0]), float(value[1])
    if not -180 <= lon <= 180:
        errors.append(FieldError(pointer + "/0", f"longitude {lon} is not within -180..180"))
    if not -90 <= lat <= 90:
        errors.append(FieldError(pointer + "/1", f"latitude {lat} is not within -90..90"))
    return lon, lat


def _rounded(position: tuple[float, float]) -> list[float]:
    return [round(position[0], DECIMALS), round(position[1], DECIMALS)]


def _ring(value: Any, pointer: str, errors: list[FieldError]) -> list[tuple[float, float]] | None:
    if not isinstance(value, list) or len(value) < 4:
        errors.append(FieldError(pointer, "a ring is at least 4 positions, the last the first"))
        return None
    positions = [_position(p, f"{pointer}/{i}", errors) for i, p in enumerate(value)]
    if any(p is None for p in positions):
        return None
    ring = [p for p in positions if p is not None]
    if _rounded(ring[0]) != _rounded(ring[-1]):
        errors.append(
            FieldError(
                f"{pointer}/{len(ring) - 1}",
                "the ring is not closed: its last position must repeat the first",
            )
        )
        return None
    return ring


def _invalid(errors: list[FieldError]) -> InvalidInput:
    return InvalidInput("The plot's geolocation is not valid: " + errors[0].message, errors=errors)


def polygon_area_ha(polygon: Polygon) -> Decimal:
    """The polygon's area on the WGS84 ellipsoid, in hectares (4 decimals)."""
    area, _ = _GEOD.geometry_area_perimeter(polygon)
    return (Decimal(abs(area)) / 10_000).quantize(Decimal("0.0001"))


def check_geometry(
    geometry: Any, declared_area_ha: Decimal | None, pointer: str = "/geometry"
) -> Geolocation:
    """The geolocation checked and normalised, or :class:`InvalidInput` naming every problem."""
    errors: list[FieldError] = []
    if not isinstance(geometry, dict) or geometry.get("type") not in {"Point", "Polygon"}:
        raise _invalid([FieldError(pointer + "/type", "a plot is a GeoJSON Point or Polygon")])
    coordinates = geometry.get("coordinates")
    if geometry["type"] == "Point":
        position = _position(coordinates, pointer + "/coordinates", errors)
        if errors or position is None:
            raise _invalid(errors)
        if declared_area_ha is None or declared_area_ha > POINT_MAX_HA:
            size = "" if declared_area_ha is None else f" of {declared_area_ha} ha"
            raise _invalid(
                [
                    FieldError(
                        pointer + "/type",
                        f"a single point is allowed only for a plot of up to {POINT_MAX_HA} ha "
                        f"with its declared area (EUDR Art. 2(28)): this plot{size} needs a "
                        "polygon",
                    )
                ]
            )
        _precise([position], pointer)
        return Geolocation({"type": "Point", "coordinates": _rounded(position)}, "Point", None)
    if not isinstance(coordinates, list) or not coordinates:
        raise _invalid([FieldError(pointer + "/coordinates", "a polygon is a list of rings")])
    rings = [_ring(r, f"{pointer}/coordinates/{i}", errors) for i, r in enumerate(coordinates)]
    if errors:
        raise _invalid(errors)
    checked = [r for r in rings if r is not None]
    _precise([p for ring in checked for p in ring], pointer)
    rounded = [[_rounded(p) for p in ring] for ring in checked]
    polygon = Polygon(rounded[0], rounded[1:])
    if not polygon.is_valid:
        reason = shapely.is_valid_reason(polygon)
        raise _invalid(
            [
                FieldError(
                    pointer + "/coordinates",
                    f"the polygon is not valid ({reason}): its rings must not cross themselves "
                    "or each other",
                )
            ]
        )
    if polygon.area == 0:
        raise _invalid([FieldError(pointer + "/coordinates", "the polygon has no area")])
    polygon = orient(polygon, sign=1.0)
    normalised = {
        "type": "Polygon",
        "coordinates": [
            [_rounded(p) for p in polygon.exterior.coords],
            *([_rounded(p) for p in interior.coords] for interior in polygon.interiors),
        ],
    }
    return Geolocation(normalised, "Polygon", polygon_area_ha(polygon))


def _precise(positions: Sequence[tuple[float, float]], pointer: str) -> None:
    if not any(_decimals(v) >= DECIMALS for position in positions for v in position):
        raise _invalid(
            [
                FieldError(
                    pointer + "/coordinates",
                    f"coordinates need {DECIMALS} decimal places (EUDR Art. 2(28)); these have "
                    "fewer",
                )
            ]
        )


def area_warning(
    declared_area_ha: Decimal | None, computed_area_ha: Decimal | None, tolerance: float
) -> str | None:
    """A message when the declared area is more than ``tolerance`` off the computed one."""
    if declared_area_ha is None or computed_area_ha is None or computed_area_ha == 0:
        return None
    off = abs(declared_area_ha - computed_area_ha) / computed_area_ha
    if off <= Decimal(str(tolerance)):
        return None
    return (
        f"the declared area ({declared_area_ha} ha) is {off:.0%} off the area computed from the "
        f"polygon ({computed_area_ha} ha)"
    )


def problems(located: Sequence[tuple[Any, Decimal | None]]) -> list[str | None]:
    """:func:`valid_or_reason` for many stored geolocations at once. The common case, a polygon
    of one ring, is checked for a whole group of rings of one length in a few vectorised calls
    (closed, in range, valid, not flat); anything else goes through the full check, which names
    the problem."""
    groups: dict[int, list[int]] = defaultdict(list)
    for index, (geometry, _) in enumerate(located):
        rings = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if geometry.get("type") == "Polygon" and isinstance(rings, list) and len(rings) == 1:
            ring = rings[0]
            if isinstance(ring, list) and len(ring) >= 4:
                first = ring[0]
                if (
                    isinstance(first, list)
                    and len(first) == 2
                    and all(type(v) in (int, float) for v in first)
                    and (_decimals(first[0]) >= DECIMALS or _decimals(first[1]) >= DECIMALS)
                ):
                    groups[len(ring)].append(index)
    fast: set[int] = set()
    for where in groups.values():
        try:
            raw = np.array([located[i][0]["coordinates"][0] for i in where])
        except (TypeError, ValueError):
            continue  # a ragged ring: the full check says which
        if raw.dtype.kind not in "if":
            continue  # a string, a boolean or a list where a number belongs
        rings = raw.astype(np.float64)
        if rings.ndim != 3 or rings.shape[2] != 2:
            continue
        good = (rings[:, 0] == rings[:, -1]).all(axis=1)
        good &= (np.abs(rings[:, :, 0]) <= 180).all(axis=1)
        good &= (np.abs(rings[:, :, 1]) <= 90).all(axis=1)
        shapes = shapely.polygons(rings)
        good &= shapely.is_valid(shapes) & (shapely.area(shapes) > 0)
        fast.update(i for i, ok in zip(where, good, strict=True) if ok)
    return [
        None if index in fast else valid_or_reason(geometry, declared)
        for index, (geometry, declared) in enumerate(located)
    ]


def valid_or_reason(geometry: Any, declared_area_ha: Decimal | None) -> str | None:
    """None when the stored geolocation still passes every check, else what is wrong."""
    try:
        check_geometry(geometry, declared_area_ha)
    except (InvalidInput, InvalidOperation, TypeError, ValueError) as error:
        return str(error)
    return None
