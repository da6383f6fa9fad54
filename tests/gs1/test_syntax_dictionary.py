"""The GS1 Barcode Syntax Dictionary as parsed: entries checked against the dictionary's own
lines (quoted), and the parser on lines and components of every shape the format allows.

``ai_table()`` is cached; these tests parse afresh (``ai_table.__wrapped__``) so that a change
to the parser is seen even when the table was loaded before.
"""

from __future__ import annotations

import pytest

from trace.gs1 import ai
from trace.gs1.ai import AIEntry, Component


def fresh() -> dict[str, AIEntry]:
    return ai.ai_table.__wrapped__()


def N(n: int, *linters: str, optional: bool = False) -> Component:
    return Component("N", n, n, optional, linters)


def X(upto: int, *linters: str, optional: bool = False) -> Component:
    return Component("X", 1, upto, optional, linters)


EXPECTED = {
    # 01  *?  N14,csum,gcppos2  ex=255,37 dlpkey=22,10,21|235  # GTIN
    "01": AIEntry("01", "GTIN", True, True, (N(14, "csum", "gcppos2"),), (), ("255", "37"),
                  (("22", "10", "21"), ("235",))),
    # 10  ?  X..20  req=01,02,03,8006,8026  # BATCH/LOT
    "10": AIEntry("10", "BATCH/LOT", False, True, (X(20),), ("01,02,03,8006,8026",), (), None),
    # 21  X..20  req=01,03,8006 ex=235  # SERIAL
    "21": AIEntry("21", "SERIAL", False, False, (X(20),), ("01,03,8006",), ("235",), None),
    # 253  ?  N13,csum,gcppos1 [X..17]  dlpkey  # GDTI
    "253": AIEntry("253", "GDTI", False, True, (N(13, "csum", "gcppos1"), X(17, optional=True)),
                   (), (), ((),)),
    # 3100-3105  *?  N6  req=01,02 ex=310n  # NET WEIGHT (kg)
    "3103": AIEntry("3103", "NET WEIGHT (kg)", True, True, (N(6),), ("01,02",), ("310n",), None),
    # 7007  ?  N6,yymmdd [N6],yymmdd  req=01,02  # HARVEST DATE
    "7007": AIEntry("7007", "HARVEST DATE", False, True,
                    (N(6, "yymmdd"), N(6, "yymmdd", optional=True)), ("01,02",), (), None),
    # 8003  ?  N1,zero N13,csum,gcppos1 [X..16]  dlpkey  # GRAI
    "8003": AIEntry("8003", "GRAI", False, True,
                    (N(1, "zero"), N(13, "csum", "gcppos1"), X(16, optional=True)), (), (), ((),)),
    # 8006  ?  N14,csum,gcppos2 N4,pieceoftotal  ex=01,37 dlpkey=22,10,21  # ITIP
    "8006": AIEntry("8006", "ITIP", False, True, (N(14, "csum", "gcppos2"), N(4, "pieceoftotal")),
                    (), ("01", "37"), (("22", "10", "21"),)),
}  # fmt: skip


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_entries_match_their_dictionary_lines(code: str) -> None:
    assert fresh()[code] == EXPECTED[code]


def test_fresh_parse_equals_the_cached_table() -> None:
    table = fresh()
    assert table == ai.ai_table()
    assert len(table) == 541
    assert [a for a in table if a.startswith("310")] == [f"310{n}" for n in range(6)]
    assert "3106" not in table and "89" not in table
    assert table["3100"].max_length == 6 and table["8003"].max_length == 30


def test_line_with_every_kind_of_token() -> None:
    line = "7230-7232  !?  X2 [N..28],pcenc  req=01 req=8006 ex=7231,7232 dlpkey dlpkey=22|10,21 " \
           "x=ignored  # CERT # n"  # fmt: skip
    entries = ai._parse_line(line)
    assert [e.ai for e in entries] == ["7230", "7231", "7232"]
    entry = entries[1]
    assert entry.title == "CERT # n"
    assert (entry.fixed_length, entry.dl_attribute) == (False, True)
    assert entry.components == (Component("X", 2, 2, False, ()),
                                Component("N", 1, 28, True, ("pcenc",)))  # fmt: skip
    assert entry.requires == ("01", "8006") and entry.excludes == ("7231", "7232")
    assert entry.dl_qualifiers == ((), ("22",), ("10", "21"))


def test_line_without_flags_or_title() -> None:
    (entry,) = ai._parse_line("99  X..90")
    assert entry == AIEntry("99", "", False, False, (X(90),), (), (), None)
    (fixed,) = ai._parse_line("98 * N2")
    assert fixed.fixed_length and not fixed.dl_attribute
    assert fixed.components == (N(2),)
    assert ai._expand("0098-0100") == ["0098", "0099", "0100"]
    assert ai._expand("2") == ["2"]


@pytest.mark.parametrize(
    "token", ["N", "N2..3", "N2..3..4", "[N2", "N2]", "Q4", "N6.", "N..x", "[N2],"]
)
def test_bad_components_are_refused(token: str) -> None:
    with pytest.raises(ValueError, match="bad component in syntax dictionary"):
        ai._parse_component(token)


def test_components() -> None:
    assert ai._parse_component("Y..4") == Component("Y", 1, 4, False, ())
    assert ai._parse_component("[Z7],a,b") == Component("Z", 7, 7, True, ("a", "b"))
