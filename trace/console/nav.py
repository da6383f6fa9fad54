"""The console's navigation: what each role may use. Pages added later append an item here
(an endpoint, its label, and the roles it is shown to); the header shows the user's items."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from flask_babel import LazyString, lazy_gettext

from trace.models import Role

EVERYONE = frozenset(Role)
DESK = frozenset({Role.INSPECTOR, Role.CENTRE, Role.ADMIN})


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: LazyString
    roles: frozenset[Role] = EVERYONE


NAV: list[NavItem] = [
    NavItem("console.home", lazy_gettext("Home")),
    NavItem("console.batches", lazy_gettext("Batches")),
    NavItem("console.products", lazy_gettext("Products")),
    NavItem("console.facilities", lazy_gettext("Facilities")),
    NavItem("console.people", lazy_gettext("People"), frozenset({Role.ADMIN, Role.CENTRE})),
    NavItem("console.account", lazy_gettext("My account")),
    NavItem("console.scans", lazy_gettext("Scans")),
    # the inspector's desk (inspectors, centres within their province, admin)
    NavItem("console.find", lazy_gettext("Find"), DESK),
    NavItem("console.recalls", lazy_gettext("Recalls"), DESK),
    NavItem("console.exports", lazy_gettext("Exports"), DESK),
    NavItem("console.ledger", lazy_gettext("Ledger"), DESK),
]


def items_for(role: Role) -> list[NavItem]:
    return [item for item in NAV if role in item.roles]


def is_current(item: NavItem) -> bool:
    return request.endpoint == item.endpoint
