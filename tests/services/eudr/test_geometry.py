"""Plot geolocation checks on real geometry: the EUDR cases and their messages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pyproj import Geod
from shapely.geometry import shape

from trace.services.errors import InvalidInput
from trace.services.eudr.geometry import area_warning, check_geometry, valid_or_reason

# A coffee plot in Cư M'gar, Đắk Lắk: about 108.5 m x 110.6 m, 1.2 ha.
SQUARE = [
    [108.050001, 12.680001],
    [108.051001, 12.680001],
    [108.051001, 12.681001],
    [108.050001, 12.681001],
    [108.050001, 12.680001],
]


def polygon(ring):
    return {"type": "Polygon", "coordinates": [ring]}


def refused(geometry, declared=None) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        check_geometry(geometry, declared)
    return caught.value


def test_a_valid_polygon_gets_its_geodesic_area() -> None:
    located = check_geometry(polygon(SQUARE), Decimal("1.2"))
    assert located.kind == "Polygon"
    # Checked against pyproj's geodesic on its own and a spherical estimate.
    area, _ = Geod(ellps="WGS84").polygon_area_perimeter(
        [p[0] for p in SQUARE], [p[1] for p in SQUARE]
    )
    assert located.computed_area_ha == Decimal(abs(area) / 10_000).quantize(Decimal("0.0001"))
    assert Decimal("1.19") < located.computed_area_ha < Decimal("1.21")
    assert shape(located.geometry).is_valid


def test_a_clockwise_ring_is_stored_counter_clockwise() -> None:
    located = check_geometry(polygon(list(reversed(SQUARE))), None)
    assert shape(located.geometry).exterior.is_ccw
    assert located.computed_area_ha == check_geometry(polygon(SQUARE), None).computed_area_ha


def test_a_bow_tie_is_refused_as_self_intersecting() -> None:
    bow_tie = [SQUARE[0], SQUARE[2], SQUARE[1], SQUARE[3], SQUARE[0]]
    error = refused(polygon(bow_tie))
    assert "Self-intersection" in error.errors[0].message
    assert error.errors[0].pointer == "/geometry/coordinates"


def test_an_unclosed_ring_is_refused_where_it_ends() -> None:
    error = refused(polygon([*SQUARE[:-1], [108.050001, 12.680501]]))
    assert error.errors[0].pointer == "/geometry/coordinates/0/4"
    assert "not closed" in error.errors[0].message


def test_five_decimal_coordinates_are_too_coarse() -> None:
    coarse = [[108.05001, 12.68001], [108.05101, 12.68001], [108.05101, 12.68101],
              [108.05001, 12.68101], [108.05001, 12.68001]]  # fmt: skip
    error = refused(polygon(coarse))
    assert "6 decimal places" in error.errors[0].message
    point = refused({"type": "Point", "coordinates": [108.05001, 12.68001]}, Decimal(2))
    assert "6 decimal places" in point.errors[0].message


def test_more_decimals_are_rounded_to_six() -> None:
    fine = [[x + 0.0000004, y] for x, y in SQUARE[:-1]]
    fine.append(fine[0])
    located = check_geometry(polygon(fine), None)
    assert located.geometry["coordinates"][0][0] in ([108.050001, 12.680001],)


def test_a_point_only_for_a_plot_of_up_to_4_ha() -> None:
    point = {"type": "Point", "coordinates": [108.050123, 12.680456]}
    error = refused(point, Decimal(6))
    assert "needs a polygon" in error.errors[0].message
    assert "6 ha" in error.errors[0].message
    assert "needs a polygon" in refused(point, None).errors[0].message
    located = check_geometry(point, Decimal(4))
    assert located.geometry == point and located.computed_area_ha is None


@pytest.mark.parametrize(
    "geometry, pointer",
    [
        ({"type": "LineString", "coordinates": SQUARE}, "/geometry/type"),
        ({"type": "Polygon", "coordinates": [SQUARE[:3]]}, "/geometry/coordinates/0"),
        ({"type": "Polygon", "coordinates": []}, "/geometry/coordinates"),
        (polygon([[200.000001, 12.680001], *SQUARE[1:4], [200.000001, 12.680001]]),
         "/geometry/coordinates/0/0/0"),
        (polygon([[108.050001, "12.68"], *SQUARE[1:]]), "/geometry/coordinates/0/0"),
        ({"type": "Point", "coordinates": [108.050001]}, "/geometry/coordinates"),
    ],
)  # fmt: skip
def test_malformed_geometry_is_named(geometry, pointer) -> None:
    assert refused(geometry, Decimal(1)).errors[0].pointer == pointer


def test_a_declared_area_more_than_the_tolerance_off_is_a_warning() -> None:
    computed = check_geometry(polygon(SQUARE), None).computed_area_ha
    assert area_warning(Decimal("1.25"), computed, 0.10) is None
    warning = area_warning(Decimal("2.0"), computed, 0.10)
    assert warning is not None and "66%" in warning
    assert area_warning(Decimal("2.0"), computed, 0.70) is None


def test_stored_geometry_is_checked_again() -> None:
    assert valid_or_reason(polygon(SQUARE), None) is None
    reason = valid_or_reason({"type": "Point", "coordinates": [1.123456, 2.123456]}, None)
    assert reason is not None and "needs a polygon" in reason
