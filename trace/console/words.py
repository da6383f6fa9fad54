"""Names of the registry's enum values in the page's language."""

from __future__ import annotations

from typing import Any

from flask_babel import LazyString, lazy_gettext

BATCH_STATUS: dict[str, LazyString] = {
    "active": lazy_gettext("Active"),
    "recalled": lazy_gettext("Recalled"),
    "closed": lazy_gettext("Closed"),
}

FACILITY_KIND: dict[str, LazyString] = {
    "farm": lazy_gettext("Farm"),
    "orchard": lazy_gettext("Orchard"),
    "growing_area": lazy_gettext("Growing area"),
    "packing_house": lazy_gettext("Packing house"),
    "factory": lazy_gettext("Factory"),
    "cold_store": lazy_gettext("Cold store"),
    "warehouse": lazy_gettext("Warehouse"),
    "shop": lazy_gettext("Shop"),
    "plot": lazy_gettext("Production plot (EUDR)"),
}

ROLE: dict[str, LazyString] = {
    "admin": lazy_gettext("Administrator"),
    "centre": lazy_gettext("Centre officer"),
    "producer": lazy_gettext("Producer"),
    "inspector": lazy_gettext("Inspector"),
}


ERROR_REASON: dict[str, LazyString] = {
    "incorrect_data": lazy_gettext("Some details were wrong"),
    "did_not_occur": lazy_gettext("This did not happen"),
}


DOCUMENT_TYPE: dict[str, LazyString] = {
    "bol": lazy_gettext("Bill of lading"),
    "cert": lazy_gettext("Certificate"),
    "desadv": lazy_gettext("Delivery note"),
    "inv": lazy_gettext("Invoice"),
    "pedigree": lazy_gettext("Pedigree"),
    "po": lazy_gettext("Purchase order"),
    "poc": lazy_gettext("Purchase order confirmation"),
    "prodorder": lazy_gettext("Production order"),
    "recadv": lazy_gettext("Receiving advice"),
    "rma": lazy_gettext("Return authorisation"),
    "testprd": lazy_gettext("Test procedure"),
    "testres": lazy_gettext("Test result"),
    "upevt": lazy_gettext("Upstream event"),
}


def document_type(value: str) -> str:
    return str(DOCUMENT_TYPE.get(value, value))


def error_reason(value: str) -> str:
    return str(ERROR_REASON.get(value, value))


CODE_STATUS: dict[str, LazyString] = {
    "issued": lazy_gettext("Issued"),
    "printed": lazy_gettext("Printed"),
    "voided": lazy_gettext("Voided"),
}


def code_status(value: str) -> str:
    return str(CODE_STATUS.get(value, value))


def batch_status(value: str) -> str:
    return str(BATCH_STATUS.get(value, value))


def facility_kind(value: str) -> str:
    return str(FACILITY_KIND.get(value, value))


def role_name(value: str) -> str:
    return str(ROLE.get(value, value))


def role_options(roles: list[Any]) -> list[tuple[str, str]]:
    """``(value, name)`` pairs of roles for a select."""
    return [(role.value, role_name(role.value)) for role in roles]
