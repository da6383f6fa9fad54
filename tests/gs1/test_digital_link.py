import json
from pathlib import Path

import pytest

from trace.gs1 import (
    CANONICAL_BASE,
    DigitalLink,
    DigitalLinkError,
    GS1KeyError,
    build_digital_link,
    digital_link_from_ais,
    lookup_ai,
    parse_barcode_string,
    parse_digital_link,
    parse_digital_link_path,
    parse_element_string,
    to_barcode_string,
    to_element_string,
    validate_ai_value,
)
from trace.gs1.ai import valid_key_qualifier_sequences
from trace.gs1.digital_link import uri_escape, uri_unescape

DATA = Path(__file__).parent / "data"
VECTORS = json.loads((DATA / "dl_and_ai_test_vectors.json").read_text())
GTIN = "08934567890120"
BASE = "https://trace.example.vn"


def _unknown_ais_permitted(case):
    # gs1-syntax-engine's PermitUnknownAIs option (AIs missing from the dictionary) is not
    # offered; cases that fail even with it must fail here too.
    return case.get("ctx", {}).get("PermitUnknownAIs") == "true" and case["should_succeed"]


PARSE = [c for c in VECTORS["dl_parseDLuri"] if not _unknown_ais_permitted(c)]
GENERATE = [c for c in VECTORS["dl_generateDLuri"] if not _unknown_ais_permitted(c)]


def test_only_unknown_ai_cases_are_skipped():
    skipped = len(VECTORS["dl_parseDLuri"]) - len(PARSE) + len(VECTORS["dl_generateDLuri"])
    assert skipped - len(GENERATE) == 2


@pytest.mark.parametrize("case", PARSE, ids=[f"{c['line']}:{c['dl_uri']}" for c in PARSE])
def test_parse_vectors(case):
    ctx = case.get("ctx", {})
    options = {
        "permit_convenience_alphas": ctx.get("permitConvenienceAlphas") == "true",
        "permit_zero_suppressed_gtin": ctx.get("PermitZeroSuppressedGTINinDLuris") == "true",
    }
    if case["should_succeed"]:
        link = parse_digital_link(case["dl_uri"], **options)
        assert link.barcode_string == case["expected_ai_element_string"]
    else:
        with pytest.raises(DigitalLinkError):
            parse_digital_link(case["dl_uri"], **options)


@pytest.mark.parametrize("case", GENERATE, ids=[str(c["line"]) for c in GENERATE])
def test_generate_vectors(case):
    base = case["stem"] or CANONICAL_BASE
    if case["should_succeed"]:
        ais = parse_element_string(case["bracketed_ai_data"])
        assert digital_link_from_ais(ais, base) == case["expected_dl_uri"]
    else:
        with pytest.raises((DigitalLinkError, GS1KeyError)):
            digital_link_from_ais(parse_element_string(case["bracketed_ai_data"]), base)


@pytest.mark.parametrize("case", VECTORS["dl_URIescape"], ids=lambda c: repr(c["input"]))
def test_escape_vectors(case):
    assert uri_escape(case["input"]) == case["expected_path_escaped"]
    assert uri_escape(case["input"], query=True) == case["expected_query_escaped"]


@pytest.mark.parametrize("case", VECTORS["dl_URIunescape"], ids=lambda c: repr(c["input"]))
def test_unescape_vectors(case):
    assert uri_unescape(case["input"]) == case["expected_path_unescaped"]
    assert uri_unescape(case["input"], query=True) == case["expected_query_unescaped"]


@pytest.mark.parametrize("case", VECTORS["ai_parseAIdata"], ids=lambda c: c["bracketed_ai_data"])
def test_element_string_vectors(case):
    if case["should_succeed"]:
        ais = parse_element_string(case["bracketed_ai_data"])
        assert to_barcode_string(ais) == case["expected_unbracketed"]
        assert parse_element_string(to_element_string(ais)) == ais
    else:
        with pytest.raises(GS1KeyError):
            parse_element_string(case["bracketed_ai_data"])


PROCESS = VECTORS["ai_processAIdata"]


@pytest.mark.parametrize("case", PROCESS, ids=lambda c: c["unbracketed_ai_data"] or "empty")
def test_barcode_string_vectors(case):
    if case["should_succeed"]:
        ais = parse_barcode_string(case["unbracketed_ai_data"])
        assert ais
        # Round trip; a redundant FNC1 after a predefined-length AI is not written back.
        assert parse_barcode_string(to_barcode_string(ais)) == ais
        assert "".join(ai + v for ai, v in ais) == case["unbracketed_ai_data"].replace("^", "")
    else:
        with pytest.raises(GS1KeyError):
            parse_barcode_string(case["unbracketed_ai_data"])


def test_key_qualifier_sequences_cover_vectors():
    expected = {tuple(s) for s in VECTORS["dl_valid_path_AI_sequences"]}
    ours = valid_key_qualifier_sequences()
    assert expected <= ours
    # The vendored dictionary is newer than the vectors: it adds (415) with qualifier (8020).
    assert ours - expected == {("415",), ("415", "8020")}


def test_ai_table_details():
    gtin = lookup_ai("01")
    assert gtin.fixed_length and gtin.is_primary_key
    assert gtin.dl_qualifiers == (("22", "10", "21"), ("235",))
    assert lookup_ai("10").components[0].max_length == 20
    assert lookup_ai("3103").fixed_length
    assert lookup_ai("21").requires == ("01,03,8006",)
    assert lookup_ai("89") is None


def test_validate_ai_value_messages():
    validate_ai_value("17", "261231")
    with pytest.raises(GS1KeyError, match="invalid month"):
        validate_ai_value("17", "261331")
    with pytest.raises(GS1KeyError, match="too long"):
        validate_ai_value("10", "x" * 21)
    with pytest.raises(GS1KeyError, match="expected 0"):
        validate_ai_value("01", "08934567890128")
    with pytest.raises(GS1KeyError, match="not a known"):
        validate_ai_value("89", "1")
    with pytest.raises(GS1KeyError, match="check characters are wrong"):
        validate_ai_value("8013", "1987654Ad4X4bL5ttr2310c2A")
    validate_ai_value("8013", "1987654Ad4X4bL5ttr2310c2K")


def test_build_example():
    uri = build_digital_link(BASE, ("01", GTIN), [("10", "LOT-1/A"), ("21", "X")])
    assert uri == f"{BASE}/01/{GTIN}/10/LOT-1%2FA/21/X"


def test_build_with_attributes_and_short_gtin():
    uri = build_digital_link(
        BASE + "/", ("01", "8934567890120"), [], {"linkType": "gs1:pip", "3103": "000195"}
    )
    assert uri == f"{BASE}/01/{GTIN}?3103=000195&linkType=gs1%3Apip"


def test_build_location_key():
    uri = build_digital_link(BASE, ("414", "0614141073467"), [("254", "K1")])
    assert uri == f"{BASE}/414/0614141073467/254/K1"


@pytest.mark.parametrize(
    ("primary", "qualifiers", "message"),
    [
        (("01", GTIN), [("21", "X"), ("10", "A")], "in that order"),
        (("01", GTIN), [("10", "A"), ("235", "T")], "in that order"),
        (("414", "0614141073467"), [("10", "A")], "in that order"),
        (("8006", GTIN + "0102"), [("254", "A")], "in that order"),
        (("01", "08934567890128"), [], "expected 0"),
        (("01", GTIN), [("10", "LOT 1/A")], "not allowed at position 4"),
        (("01", GTIN), [("10", "x" * 21)], "too long"),
        (("10", "ABC"), [], "not a GS1 Digital Link primary key"),
    ],
)
def test_build_rejects(primary, qualifiers, message):
    with pytest.raises(DigitalLinkError, match=message):
        build_digital_link(BASE, primary, qualifiers)


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"10": "A"}, "belongs in the path"),
        ({"21": "A"}, "not allowed as a Digital Link data attribute"),
        ({"89": "A"}, "not a known"),
        ({"17": "261331"}, "invalid month"),
    ],
)
def test_build_rejects_attributes(attributes, message):
    with pytest.raises(DigitalLinkError, match=message):
        build_digital_link(BASE, ("01", GTIN), [], attributes)


def test_build_rejects_bad_base():
    with pytest.raises(DigitalLinkError, match="base URL"):
        build_digital_link("trace.example.vn", ("01", GTIN))


def test_parse_fields_and_round_trip():
    uri = f"{BASE}/prefix/01/{GTIN}/10/LOT-1%2FA/21/X?17=261231&linkType=gs1%3Apip&flag"
    link = parse_digital_link(uri)
    assert link == DigitalLink(
        base=f"{BASE}/prefix",
        primary_ai="01",
        primary_value=GTIN,
        qualifiers=(("10", "LOT-1/A"), ("21", "X")),
        attributes={"17": "261231", "linkType": "gs1:pip", "flag": ""},
    )
    assert link.ais == {"01": GTIN, "10": "LOT-1/A", "21": "X", "17": "261231"}
    assert link.element_string == f"(01){GTIN}(10)LOT-1/A(21)X(17)261231"
    assert (
        link.to_uri()
        == f"{BASE}/prefix/01/{GTIN}/10/LOT-1%2FA/21/X?17=261231&linkType=gs1%3Apip&flag="
    )
    assert link.to_uri(CANONICAL_BASE, with_attributes=False) == (
        f"{CANONICAL_BASE}/01/{GTIN}/10/LOT-1%2FA/21/X"
    )


def test_parse_path_for_resolver():
    link = parse_digital_link_path(f"/01/{GTIN}/10/LOT-1%2FA", "linkType=all")
    assert (link.base, link.primary_value, link.qualifiers) == ("", GTIN, (("10", "LOT-1/A"),))
    assert link.attributes == {"linkType": "all"}
    assert parse_digital_link_path(f"/01/{GTIN}?3103=000195").attributes == {"3103": "000195"}


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (f"{BASE}/01/{GTIN}/21/X/10/A", "in that order"),
        (f"{BASE}/01/{GTIN}/10/L%C3%A1", "non-ASCII"),
        (f"{BASE}/01/{GTIN}/10/L%20A", "not allowed at position 2"),
        (f"{BASE}/01/{GTIN}/10/" + "x" * 21, "too long"),
        (f"{BASE}/01/08934567890128", "expected 0"),
        (f"{BASE}/01/{GTIN}/10/Lô", "must be escaped"),
        (f"{BASE}/q/ABC123", "no GS1 primary key"),
        (f"{BASE}/01/{GTIN}?10=A", "belongs in the path"),
        (f"{BASE}/01/{GTIN}/10/A?10=A", "more than once"),
        (f"{BASE}/01/{GTIN}?21=A", "not allowed as a Digital Link data attribute"),
        (f"{BASE}/01/{GTIN}?999=A", "not a known GS1 AI"),
        (f"ftp://trace.example.vn/01/{GTIN}", "http"),
    ],
)
def test_parse_rejects(uri, message):
    with pytest.raises(DigitalLinkError, match=message):
        parse_digital_link(uri)


def test_parse_error_is_a_value_error():
    assert issubclass(DigitalLinkError, ValueError)
    assert issubclass(GS1KeyError, ValueError)


def test_short_names_only_on_request():
    uri = f"{BASE}/gtin/{GTIN}/lot/ABC"
    with pytest.raises(DigitalLinkError):
        parse_digital_link(uri)
    assert parse_digital_link(uri, permit_convenience_alphas=True).ais == {"01": GTIN, "10": "ABC"}
