"""GS1 standards: check digits and keys, Application Identifiers, Digital Link, EPC URNs."""

from trace.gs1.ai import (
    AIEntry,
    lookup_ai,
    parse_barcode_string,
    parse_element_string,
    to_barcode_string,
    to_element_string,
    validate_ai_value,
)
from trace.gs1.digital_link import (
    CANONICAL_BASE,
    DigitalLink,
    DigitalLinkError,
    build_digital_link,
    digital_link_from_ais,
    parse_digital_link,
    parse_digital_link_path,
)
from trace.gs1.epc import canonical_epc, epc_urn_to_digital_link, normalise_to_digital_link
from trace.gs1.keys import (
    CSET82,
    GS1KeyError,
    check_digit,
    has_valid_check_digit,
    normalize_gtin,
    validate_gln,
    validate_lot,
    validate_serial,
)

__all__ = [
    "CANONICAL_BASE",
    "CSET82",
    "AIEntry",
    "DigitalLink",
    "DigitalLinkError",
    "GS1KeyError",
    "build_digital_link",
    "canonical_epc",
    "check_digit",
    "digital_link_from_ais",
    "epc_urn_to_digital_link",
    "has_valid_check_digit",
    "lookup_ai",
    "normalise_to_digital_link",
    "normalize_gtin",
    "parse_barcode_string",
    "parse_digital_link",
    "parse_digital_link_path",
    "parse_element_string",
    "to_barcode_string",
    "to_element_string",
    "validate_ai_value",
    "validate_gln",
    "validate_lot",
    "validate_serial",
]
