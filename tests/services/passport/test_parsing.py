"""Free-text certifications read into records: the texts the demo and pilots hold today."""

from __future__ import annotations

import pytest

from trace.services.registry.certificate_text import parse_certification


@pytest.mark.parametrize(
    ("text", "kind", "number", "scope"),
    [
        ("VietGAP VG-24-0153", "vietgap", "VG-24-0153", None),
        ("vietgap: VG-14-0078", "vietgap", "VG-14-0078", None),
        ("GlobalG.A.P.", "globalgap", "", None),
        ("OCOP 4 sao", "ocop", "", "4 sao"),
        ("HACCP HC-91-0042", "haccp", "HC-91-0042", None),
        ("4C C4-0912", "4c", "C4-0912", None),
        ("ISO 22000:2018 QC-1234", "iso_22000", "QC-1234", None),
        ("Chỉ dẫn địa lý Phú Quốc – quyền sử dụng", "geographical_indication", "",
         "Phú Quốc – quyền sử dụng"),
        ("Hữu cơ TCVN 11041", "organic", "", "TCVN 11041"),
        ("Phiếu kết quả thử nghiệm KN-2603-1187", "lab_test", "KN-2603-1187", None),
    ],
)  # fmt: skip
def test_known_schemes(text: str, kind: str, number: str, scope: str | None) -> None:
    parsed = parse_certification(text)
    assert (parsed.kind, parsed.number, parsed.scope) == (kind, number, scope)
    assert parsed.source_text == text


@pytest.mark.parametrize(
    "text",
    ["Giấy chứng nhận cơ sở đủ điều kiện ATTP", "VietGAPX 12", "OCOPS", "Đạt chuẩn", "12345"],
)
def test_unparseable_text_is_other_with_the_text_as_scope(text: str) -> None:
    parsed = parse_certification(text)
    assert parsed.kind == "other" and parsed.number == ""
    assert parsed.scope == text and parsed.source_text == text
