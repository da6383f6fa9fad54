"""Tests for what the mutation run over gs1/ found untested (issue 10 item 10): GLN validation's
messages, the EPC URN schemes demo data does not use (GSRN, GSRNP, SGCN, GIAI and the ID
patterns), and a Digital Link path given with its query. Expected keys come from GS1's EPC Tag
Data Standard examples, their check digits recomputed here with the plain mod-10 rule."""

from __future__ import annotations

import pytest

from trace.gs1 import GS1KeyError, epc_urn_to_digital_link, parse_digital_link_path, validate_gln
from trace.gs1.digital_link import DigitalLinkError


def mod10(body: str) -> str:
    """GS1 check digit, independently of trace.gs1: weights 3, 1, 3… from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str(-total % 10)


def test_gln() -> None:
    assert validate_gln("8936010500013") == "8936010500013"
    assert mod10("893601050001") == "3"
    with pytest.raises(GS1KeyError, match=r"^GLN check digit is wrong: expected 3$"):
        validate_gln("8936010500014")
    with pytest.raises(GS1KeyError, match=r"^GLN must have 13 digits$"):
        validate_gln("893601050001")
    with pytest.raises(GS1KeyError, match=r"^GLN must have 13 digits$"):
        validate_gln("89360105000133")
    for bad in ("893601050001X", "", 8936010500013):
        with pytest.raises(GS1KeyError, match=r"^GLN must contain digits only$"):
            validate_gln(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("urn", "ai", "key"),
    [
        ("urn:epc:id:gsrn:0614141.1234567890", "8018", "06141411234567890"),
        ("urn:epc:id:gsrnp:0614141.1234567890", "8017", "06141411234567890"),
        ("urn:epc:id:gsrn:061414.12345678901", "8018", "06141412345678901"),
    ],
)
def test_gsrn_and_gsrnp(urn: str, ai: str, key: str) -> None:
    assert epc_urn_to_digital_link(urn) == f"https://id.gs1.org/{ai}/{key}{mod10(key)}"


@pytest.mark.parametrize(
    "urn",
    [
        "urn:epc:id:gsrn:0614141.123456789",  # one digit short
        "urn:epc:id:gsrn:0614141.12345678901",  # one digit too many
        "urn:epc:id:gsrn:0614141.12345678A0",
        "urn:epc:id:gsrn:0614141",
        "urn:epc:id:gsrnp:0614141.1234567890.1",
        "urn:epc:id:sgcn:4012345.67890",
        "urn:epc:id:sgcn:4012345.67890.1234567890123",  # serial past 12 digits
        "urn:epc:id:sgcn:4012345.67890.A1",
        "urn:epc:id:sgcn:4012345.6789.04711",  # company prefix and reference: 11 digits
        "urn:epc:id:giai:0614141",
        "urn:epc:id:giai:0614141." + "1" * 24,  # 31 characters in AI 8004
        "urn:epc:idpat:sgtin:0614141.*.*",
        "urn:epc:idpat:sgtin:0614141.107346.2017",
        "urn:epc:idpat:sgtin:0614141.107346",
        "urn:epc:idpat:sgtin:0614141.107346.*.*",
        "urn:epc:idpat:sgcn:4012345.*.*",
    ],
)
def test_urns_that_do_not_convert(urn: str) -> None:
    assert epc_urn_to_digital_link(urn) is None


def test_sgcn() -> None:
    key = "401234567890"
    assert epc_urn_to_digital_link("urn:epc:id:sgcn:4012345.67890.04711") == (
        f"https://id.gs1.org/255/{key}{mod10(key)}04711"
    )
    assert epc_urn_to_digital_link("urn:epc:id:sgcn:4012345.67890.123456789012") == (
        f"https://id.gs1.org/255/{key}{mod10(key)}123456789012"
    )


def test_giai() -> None:
    assert (
        epc_urn_to_digital_link("urn:epc:id:giai:0614141.12345400")
        == "https://id.gs1.org/8004/061414112345400"
    )
    assert (
        epc_urn_to_digital_link("urn:epc:id:giai:0614141.ABC%2F1")
        == "https://id.gs1.org/8004/0614141ABC%2F1"
    )
    longest = "1" * 23  # 7 + 23 = 30 characters, AI 8004's maximum
    assert epc_urn_to_digital_link(f"urn:epc:id:giai:0614141.{longest}") == (
        f"https://id.gs1.org/8004/0614141{longest}"
    )


@pytest.mark.parametrize(
    ("urn", "path"),
    [
        ("urn:epc:idpat:sgtin:0614141.107346.*", "01/10614141073464"),
        ("urn:epc:idpat:upui:1234567.089456.*", "01/01234567894560"),
        ("urn:epc:idpat:grai:0614141.12345.*", "8003/0" + "061414112345" + mod10("061414112345")),
        ("urn:epc:idpat:gdti:0614141.12345.*", "253/061414112345" + mod10("061414112345")),
        ("urn:epc:idpat:sgcn:4012345.67890.*", "255/401234567890" + mod10("401234567890")),
        ("urn:epc:idpat:cpi:0614141.5PQ7%2FZ43.*", "8010/06141415PQ7%2FZ43"),
        ("urn:epc:idpat:itip:4012345.012345.01.02.*", "8006/04012345123456" + "0102"),
    ],
)
def test_id_patterns(urn: str, path: str) -> None:
    assert epc_urn_to_digital_link(urn) == f"https://id.gs1.org/{path}"


def test_a_path_with_its_query_reads_as_path_and_query() -> None:
    gtin = "09506000134352"
    joined = parse_digital_link_path(f"/01/{gtin}/10/AB1?17=261231&linkType=all")
    apart = parse_digital_link_path(f"/01/{gtin}/10/AB1", "17=261231&linkType=all")
    assert joined == apart
    assert joined.primary_value == gtin and joined.qualifiers == (("10", "AB1"),)
    assert joined.attributes == {"17": "261231", "linkType": "all"}
    # a query given apart wins; the path is then read whole
    with pytest.raises(DigitalLinkError):
        parse_digital_link_path(f"/01/{gtin}?17=261231", "linkType=all")
    for bad in (f"/01/{gtin}/10/A B", f"/01/{gtin}/10/Ä"):
        with pytest.raises(DigitalLinkError, match="must be escaped"):
            parse_digital_link_path(bad)
    with pytest.raises(DigitalLinkError, match="must be escaped"):
        parse_digital_link_path(f"/01/{gtin}", "linkType=a b")


def test_digital_link_path_defaults_are_strict() -> None:
    gtin = "09506000134352"
    link = parse_digital_link_path(f"/01/{gtin}?linkType=a?b")  # the first "?" starts the query
    assert (link.primary_ai, link.primary_value) == ("01", gtin)
    assert link.attributes == {"linkType": "a?b"}
    with pytest.raises(DigitalLinkError, match="no GS1 primary key"):
        parse_digital_link_path(f"/gtin/{gtin}")
    assert (
        parse_digital_link_path(f"/gtin/{gtin}", permit_convenience_alphas=True).primary_ai == "01"
    )
    with pytest.raises(DigitalLinkError, match="too short"):
        parse_digital_link_path("/01/9506000134352")
    zero_suppressed = parse_digital_link_path("/01/9506000134352", permit_zero_suppressed_gtin=True)
    assert zero_suppressed.primary_value == gtin
