"""The console's navigation: what each role may use. Pages added later append an item here
(an endpoint, its label, and the roles it is shown to); the header shows the user's items."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from flask_babel import LazyString, lazy_gettext

from trace.models import Role

EVERYONE = frozenset(Role)
IMPORTERS = frozenset({Role.ADMIN, Role.CENTRE, Role.PRODUCER})


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: LazyString
    roles: frozenset[Role] = EVERYONE


#: the province's desk: centre officers (their province), inspectors and admins (any)
DESK = frozenset({Role.CENTRE, Role.INSPECTOR, Role.ADMIN})

NAV: list[NavItem] = [
    NavItem("console.dashboard", lazy_gettext("Dashboard"), DESK),
    NavItem("console.home", lazy_gettext("Home")),
    NavItem("console.batches", lazy_gettext("Batches")),
    NavItem("console.products", lazy_gettext("Products")),
    NavItem("console.facilities", lazy_gettext("Facilities")),
    NavItem("console.people", lazy_gettext("People"), frozenset({Role.ADMIN, Role.CENTRE})),
    NavItem("console.account", lazy_gettext("My account")),
    NavItem("console.scans", lazy_gettext("Scans")),
    # the administrator's screens and the import upload page (console part 2, admin)
    NavItem("console.imports", lazy_gettext("Imports"), IMPORTERS),
    NavItem("console.admin_users", lazy_gettext("All people"), frozenset({Role.ADMIN})),
    NavItem("console.admin_audit", lazy_gettext("Audit log"), frozenset({Role.ADMIN})),
    NavItem("console.admin_status", lazy_gettext("System status"), frozenset({Role.ADMIN})),
    NavItem("console.organisations", lazy_gettext("Organisations")),
    # centre: the province's consumer reports and flagged codes
    NavItem("console.reports", lazy_gettext("Consumer reports"), DESK),
    NavItem("console.flags", lazy_gettext("Flagged codes"), DESK),
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
