import json
from pathlib import Path

import pytest

from trace.gs1 import canonical_epc, epc_urn_to_digital_link, normalise_to_digital_link

DATA = Path(__file__).parent / "data"
CASES = json.loads((DATA / "dl_normaliser_vectors.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["input"] for c in CASES])
def test_normaliser_vectors(case):
    assert normalise_to_digital_link(case["input"]) == case["expected_canonical_dl"]


@pytest.mark.parametrize("case", CASES, ids=[c["input"] for c in CASES])
def test_canonical_epc_vectors(case):
    expected = case["expected_canonical_dl"] or case["input"]
    assert canonical_epc(case["input"]) == expected


def test_urn_only_function_ignores_digital_links():
    assert epc_urn_to_digital_link("https://id.gs1.org/01/09780345418913") is None
    assert (
        epc_urn_to_digital_link("urn:epc:id:sgtin:0614141.107346.2017")
        == "https://id.gs1.org/01/10614141073464/21/2017"
    )


def test_canonical_form_is_a_fixed_point():
    for case in CASES:
        if case["expected_canonical_dl"]:
            canonical = case["expected_canonical_dl"]
            assert canonical_epc(canonical) == canonical


@pytest.mark.parametrize(
    "urn",
    [
        "urn:epc:id:sgtin:0614141.10734.2017",  # company prefix + item reference != 13 digits
        "urn:epc:id:sgtin:0614141.107346.",  # empty serial
        "urn:epc:id:sgtin:0614141.107346." + "x" * 21,  # serial too long
        "urn:epc:id:sgtin:0614141.107346.a%C3%A1",  # non-ASCII serial
        "urn:epc:id:sgtin:12345.1234567.1",  # company prefix too short
        "urn:epc:id:sscc:4012345.311111111",  # one digit short
        "urn:epc:idpat:sgtin:4012345.*.*",  # pattern over the whole company prefix
        "urn:epc:id:bic:CSQU3054383",  # not a GS1 key
        "urn:epc:id:sgln:4012345.00005",  # missing extension
    ],
)
def test_unconvertible_urns(urn):
    assert epc_urn_to_digital_link(urn) is None
    assert canonical_epc(urn) == urn


def test_lot_class_and_percent_escapes():
    assert (
        canonical_epc("urn:epc:class:lgtin:4012345.012345.A%2Fb")
        == "https://id.gs1.org/01/04012345123456/10/A%2Fb"
    )
    # An escaped value in a Digital Link and in a URN give one canonical form.
    expected = "https://id.gs1.org/01/04012345111118/21/98%22"
    assert canonical_epc("urn:epc:id:sgtin:4012345.011111.98%22") == expected
    assert canonical_epc("https://example.vn/01/04012345111118/21/98%22") == expected


def test_digital_link_keeps_only_finest_qualifier_and_no_query():
    dl = "https://trace.example.vn/01/08934567890120/22/V1/10/LOT1/21/S1?17=261231&linkType=x"
    assert canonical_epc(dl) == "https://id.gs1.org/01/08934567890120/21/S1"
    assert (
        canonical_epc("https://trace.example.vn/01/08934567890120/10/LOT1")
        == "https://id.gs1.org/01/08934567890120/10/LOT1"
    )


@pytest.mark.parametrize("value", ["", "urn:epc:id:", "ftp://id.gs1.org/01/09780345418913", "x"])
def test_other_values_unchanged(value):
    assert canonical_epc(value) == value
