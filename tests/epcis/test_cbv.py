"""CBV 2.0 vocabularies: canonical forms, unknown values, extensions and display names."""

from __future__ import annotations

import pytest

from trace.epcis import cbv
from trace.epcis.cbv import (
    DISPOSITION_NAMES,
    STAGE_NAMES,
    VocabularyError,
    canonical_bizstep,
    canonical_biztransaction_type,
    canonical_disposition,
    canonical_error_reason,
    canonical_measurement_type,
    canonical_source_dest_type,
    cbv_uri,
    disposition_name,
    stage_name,
)


@pytest.mark.parametrize(
    "value",
    [
        "shipping",
        "urn:epcglobal:cbv:bizstep:shipping",
        "https://ref.gs1.org/cbv/BizStep-shipping",
        "http://ref.gs1.org/cbv/BizStep-shipping",
        "cbv:BizStep-shipping",
        "https://gs1.org/voc/BizStep-shipping",
        "  shipping ",
    ],
)
def test_bizstep_forms_share_one_canonical_form(value: str) -> None:
    assert canonical_bizstep(value) == "shipping"


def test_disposition_and_other_kinds() -> None:
    assert canonical_disposition("urn:epcglobal:cbv:disp:in_transit") == "in_transit"
    assert canonical_disposition("https://ref.gs1.org/cbv/Disp-recalled") == "recalled"
    assert canonical_biztransaction_type("urn:epcglobal:cbv:btt:desadv") == "desadv"
    assert canonical_source_dest_type("https://ref.gs1.org/cbv/SDT-owning_party") == (
        "owning_party"
    )
    assert canonical_error_reason("incorrect_data") == "incorrect_data"
    assert canonical_measurement_type("gs1:Temperature") == "Temperature"
    assert canonical_measurement_type("https://gs1.org/voc/RelativeHumidity") == (
        "RelativeHumidity"
    )


@pytest.mark.parametrize(
    "value",
    [
        "transforming",
        "urn:epcglobal:cbv:bizstep:transforming",
        "https://ref.gs1.org/cbv/BizStep-transforming",
        "urn:epcglobal:cbv:disp:shipping",  # a disposition URN is no bizStep
        "https://ref.gs1.org/cbv/Disp-in_transit",
        "",
    ],
)
def test_unknown_cbv_looking_bizstep_is_rejected_naming_the_value(value: str) -> None:
    with pytest.raises(VocabularyError) as info:
        canonical_bizstep(value)
    assert repr(value) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_unknown_disposition_is_rejected() -> None:
    with pytest.raises(VocabularyError, match="in_transport"):
        canonical_disposition("in_transport")


@pytest.mark.parametrize(
    "value",
    ["https://example.com/mystep", "urn:example:step:harvest", "example:mystep"],
)
def test_uris_of_other_namespaces_are_extensions(value: str) -> None:
    assert canonical_bizstep(value) == value
    assert cbv_uri("bizStep", value) == value


def test_cbv_uri_gives_the_web_vocabulary_form() -> None:
    assert cbv_uri("bizStep", "urn:epcglobal:cbv:bizstep:receiving") == (
        "https://ref.gs1.org/cbv/BizStep-receiving"
    )
    assert cbv_uri("measurementType", "Temperature") == "https://gs1.org/voc/Temperature"


def test_vocabularies_have_the_cbv_2_sizes() -> None:
    assert len(cbv.BIZ_STEPS) == 41
    assert len(cbv.DISPOSITIONS) == 33
    assert len(cbv.BIZ_TRANSACTION_TYPES) == 13
    assert {"owning_party", "possessing_party", "location"} == cbv.SOURCE_DEST_TYPES


def test_every_bizstep_and_disposition_has_both_display_names() -> None:
    assert set(STAGE_NAMES) == cbv.BIZ_STEPS
    assert set(DISPOSITION_NAMES) == cbv.DISPOSITIONS
    for names in [*STAGE_NAMES.values(), *DISPOSITION_NAMES.values()]:
        assert set(names) == {"vi", "en"}
        assert names["vi"].strip() and names["en"].strip()
    # Vietnamese names are distinct enough to tell stages apart on a lookup page
    assert len({n["vi"] for n in STAGE_NAMES.values()}) == len(STAGE_NAMES)


def test_display_names() -> None:
    assert stage_name("shipping") == "Vận chuyển"
    assert stage_name("urn:epcglobal:cbv:bizstep:receiving", "en") == "Receiving"
    assert stage_name("commissioning") == "Khởi tạo mã"
    assert stage_name("storing") == "Lưu kho"
    assert stage_name(cbv.EXTENSION_NS + "harvesting") == "Thu hoạch"
    assert stage_name("https://example.com/voc/BizStep-smoking", "en") == "smoking"
    assert disposition_name("in_transit") == "Đang vận chuyển"
    assert disposition_name("recalled", "en") == "Recalled"
