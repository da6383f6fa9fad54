import json
from pathlib import Path

import pytest

from trace.gs1 import (
    CSET82,
    GS1KeyError,
    check_digit,
    has_valid_check_digit,
    normalize_gtin,
    validate_gln,
    validate_lot,
    validate_serial,
)

DATA = Path(__file__).parent / "data"
CASES = json.loads((DATA / "check_digit_vectors.json").read_text())["cases"]
GOOD = [c for c in CASES if "full" in c]
BAD = [c for c in CASES if "invalid" in c]


@pytest.mark.parametrize("case", GOOD, ids=[c["full"] for c in GOOD])
def test_check_digit_vectors(case):
    assert check_digit(case["without_check_digit"]) == str(case["check_digit"])
    assert has_valid_check_digit(case["full"])


@pytest.mark.parametrize("case", BAD, ids=[c["invalid"] for c in BAD])
def test_invalid_check_digit_vectors(case):
    assert not has_valid_check_digit(case["invalid"])
    with pytest.raises(GS1KeyError, match=f"expected {case['correct_check_digit']}$"):
        normalize_gtin(case["invalid"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("02345680", "00000002345680"),
        ("416000336108", "00416000336108"),
        ("8904000210037", "08904000210037"),
        ("09521234543213", "09521234543213"),
    ],
)
def test_normalize_gtin_pads_to_14(value, expected):
    assert normalize_gtin(value) == expected


@pytest.mark.parametrize("value", ["", "123", "1234567890", "123456789012345", "0952123454321X"])
def test_normalize_gtin_rejects_bad_shapes(value):
    with pytest.raises(GS1KeyError, match="GTIN must"):
        normalize_gtin(value)


def test_normalize_gtin_message_for_length_and_check_digit():
    with pytest.raises(GS1KeyError, match=r"^GTIN must have 8, 12, 13 or 14 digits$"):
        normalize_gtin("1234567890")
    with pytest.raises(GS1KeyError, match=r"^GTIN check digit is wrong: expected 3$"):
        normalize_gtin("09521234543210")


def test_non_ascii_digits_are_not_digits():
    assert not has_valid_check_digit("٠٩٥٢١٢٣٤٥٤٣٢١٣")
    with pytest.raises(GS1KeyError):
        check_digit("١٢")


def test_validate_gln():
    assert validate_gln("0614141073467") == "0614141073467"
    with pytest.raises(GS1KeyError, match="expected 7"):
        validate_gln("0614141073460")
    with pytest.raises(GS1KeyError, match="13 digits"):
        validate_gln("061414107346")


def test_cset82_has_82_characters():
    assert len(CSET82) == 82
    assert {" ", "#", "$", "@", "[", "\\", "^", "`", "{", "|", "}", "~"}.isdisjoint(CSET82)


@pytest.mark.parametrize("validate", [validate_lot, validate_serial])
def test_lot_and_serial_accept_cset82(validate):
    assert validate("A") == "A"
    assert validate("x" * 20) == "x" * 20
    assert validate("!\"%&'()*+,-./:;<=>?_") == "!\"%&'()*+,-./:;<=>?_"


@pytest.mark.parametrize("validate", [validate_lot, validate_serial])
def test_lot_and_serial_reject_length(validate):
    with pytest.raises(GS1KeyError, match="1 to 20 characters, not 21"):
        validate("x" * 21)
    with pytest.raises(GS1KeyError, match="not 0"):
        validate("")


@pytest.mark.parametrize("bad", [" ", "#", "~", "é", "Lô"])
def test_lot_rejects_characters_outside_cset82(bad):
    with pytest.raises(GS1KeyError, match=repr(bad[-1])):
        validate_lot("AB" + bad)
