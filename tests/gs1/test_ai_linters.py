"""The syntax dictionary's linters, value by value: what each accepts and the words of what it
refuses (``validate_ai_value`` prefixes them with the AI)."""

from __future__ import annotations

import pytest

from trace.gs1.ai import _LINTERS

CASES = [
    ("iban", "GB82WEST12345698765432", None),
    ("iban", "GB83WEST12345698765432", "IBAN check digits are wrong"),
    ("iban", "gb82WEST12345698765432", "is not a well-formed IBAN"),
    ("iban", "GB8AWEST12345698765432", "is not a well-formed IBAN"),
    ("iban", "GB82", "is not a well-formed IBAN"),
    ("hhmi", "0000", None),
    ("hhmi", "2359", None),
    ("hhmi", "2400", "has an invalid hour"),
    ("hhmi", "2360", "has an invalid minute"),
    ("hh", "23", None),
    ("hh", "24", "has an invalid hour"),
    ("mi", "60", "has an invalid minute"),
    ("ss", "59", None),
    ("ss", "60", "has an invalid second"),
    ("latitude", "1800000000", None),
    ("latitude", "1800000001", "has an invalid latitude"),
    ("longitude", "3600000001", "has an invalid longitude"),
    ("yyyymmdd", "20240229", None),
    ("yyyymmdd", "20230229", "has an invalid day"),
    ("yyyymmdd", "19000229", "has an invalid day"),  # 1900 was no leap year
    ("yyyymmdd", "20241301", "has an invalid month"),
    ("yyyymmdd", "20240001", "has an invalid month"),
    ("yyyymmdd", "20240100", "has an invalid day"),
    ("yyyymmdd", "20240431", "has an invalid day"),
    ("yyyymmdd", "20241231", None),
    ("yymmd0", "240200", None),  # day 00: the month as a whole
    ("yymmd0", "000229", None),  # 00 is 2000, a leap year
    ("yymmd0", "230229", "has an invalid day"),
    ("yymmd0", "241300", "has an invalid month"),
    ("yymmdd", "240200", "has an invalid day"),
    ("yymmdd", "240101", None),
    ("yymmdd", "241232", "has an invalid day"),
    ("pcenc", "a%20b%2F", None),
    ("pcenc", "plain", None),
    ("pcenc", "a%2", "has an invalid percent-encoding"),
    ("pcenc", "%zz", "has an invalid percent-encoding"),
    ("pcenc", "100%", "has an invalid percent-encoding"),
    ("posinseqslash", "1/2", None),
    ("posinseqslash", "2/2", None),
    ("posinseqslash", "3/2", "must be a position and a count such as 1/2"),
    ("posinseqslash", "0/2", "must be a position and a count such as 1/2"),
    ("posinseqslash", "12", "must be a position and a count such as 1/2"),
    ("posinseqslash", "a/2", "must be a position and a count such as 1/2"),
    ("posinseqslash", "1/b", "must be a position and a count such as 1/2"),
    ("pieceoftotal", "0102", None),
    ("pieceoftotal", "0101", None),
    ("pieceoftotal", "0201", "piece number must be between 1 and the total"),
    ("pieceoftotal", "0001", "piece number must be between 1 and the total"),
    ("pieceoftotal", "001099", None),
    ("nonzero", "000", "must not be zero"),
    ("nonzero", "001", None),
    ("zero", "0", None),
    ("zero", "1", "must be zero"),
    ("winding", "9", None),
    ("winding", "2", "winding direction must be 0, 1 or 9"),
    ("yesno", "1", None),
    ("yesno", "2", "must be 0 or 1"),
    ("iso5218", "2", None),
    ("iso5218", "3", "sex code must be 0, 1, 2 or 9"),
    ("hyphen", "-", None),
    ("hyphen", "_", "must be a hyphen"),
    ("nozeroprefix", "0", None),
    ("nozeroprefix", "10", None),
    ("nozeroprefix", "01", "must not start with 0"),
    ("hasnondigit", "1a", None),
    ("hasnondigit", "12", "must contain a non-digit"),
]


@pytest.mark.parametrize(("linter", "value", "problem"), CASES)
def test_linter(linter: str, value: str, problem: str | None) -> None:
    assert _LINTERS[linter](value) == problem
