"""Free-text certifications ("VietGAP VG-24-0153", "OCOP 4 sao") read as certificate records.

Migration ``0010_passport`` turns every batch's old free-text ``certifications`` into records
with :func:`parse_certification`, and the batch API still takes such texts: a change here must
keep reading the old texts the same way. Text naming no known scheme becomes kind ``other``, its
words kept as the scope; the original text is always kept (``source_text``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_END = r"(?=$|[\s:#,;–—-])"
#: (kind, pattern of the text's beginning), the first match wins
_SCHEMES: list[tuple[str, re.Pattern[str]]] = [
    (kind, re.compile(r"^\s*(?:" + pattern + ")" + _END, re.IGNORECASE))
    for kind, pattern in [
        ("vietgap", r"viet\s*gap"),
        ("globalgap", r"global\s*g\.?\s*a\.?\s*p\.?"),
        ("organic", r"organic|hữu\s*cơ|huu\s*co"),
        ("ocop", r"ocop"),
        (
            "geographical_indication",
            r"chỉ\s*dẫn\s*địa\s*lý|chi\s*dan\s*dia\s*ly|geographical\s+indication",
        ),
        ("haccp", r"haccp"),
        ("iso_22000", r"iso\s*22000(?::\d{4})?"),
        ("4c", r"4c"),
        ("rainforest_alliance", r"rainforest(?:\s+alliance)?"),
        ("lab_test", r"lab\s+test|kiểm\s*nghiệm|phiếu\s+kết\s+quả\s+thử\s+nghiệm"),
    ]
]
#: a certificate number: one token of letters, digits and separators holding at least one digit
_NUMBER = re.compile(r"^(?=[^\s]*\d)[A-Za-z0-9][A-Za-z0-9./_-]{2,99}$")


@dataclass(frozen=True)
class ParsedCertification:
    kind: str
    number: str
    scope: str | None
    source_text: str


def parse_certification(text: str) -> ParsedCertification:
    """The kind, number and scope a free-text certification names, as far as it names them."""
    cleaned = " ".join(text.split())
    for kind, pattern in _SCHEMES:
        match = pattern.match(cleaned)
        if match is None:
            continue
        rest = cleaned[match.end() :].strip(" :#,;–—-")
        if _NUMBER.match(rest):
            return ParsedCertification(kind, rest, None, text)
        return ParsedCertification(kind, "", rest or None, text)
    return ParsedCertification("other", "", cleaned or None, text)
