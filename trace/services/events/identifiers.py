"""How the registry's things are named in EPCIS events, and how those names resolve back.

- A batch is a lot-level EPC class: ``<PUBLIC_URL>/01/<gtin14>/10/<lot>`` (GS1 Digital Link) when
  its product has a GTIN, otherwise ``<PUBLIC_URL>/lot/<product id>/<lot>`` on our own host.
- A unit code is an instance: ``…/01/<gtin14>/21/<code>`` or ``<PUBLIC_URL>/q/<code>``.
- A facility is ``…/414/<gln>`` when it has a GLN, otherwise ``<PUBLIC_URL>/facility/<id>``; an
  organisation ``…/417/<gln>`` or ``<PUBLIC_URL>/org/<id>``.

Every identifier is compared in its canonical form (:func:`canonical_uri`): GS1 keys as the
canonical Digital Link on ``https://id.gs1.org`` (what the event hash uses too), our own URIs on
the path after the host, so a change of ``TRACE_PUBLIC_URL`` keeps old events resolvable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.db import chunked, one_of, pair_of
from trace.gs1.digital_link import build_digital_link
from trace.gs1.epc import canonical_epc
from trace.models import MAX_ID, Batch, Code, Facility, Organization, Product

GS1_BASE = "https://id.gs1.org"
"""Ids are 32-bit on PostgreSQL: a larger id in a URI names nothing (and is not sent to SQL)."""
_OWN_PATH = re.compile(r"^/(lot/\d+/[^/]+|q/[0-9A-Za-z*~$=-]+|facility/\d+|org/\d+)$")


def canonical_uri(uri: str) -> str:
    """One spelling per identifier: canonical Digital Link for GS1 keys (EPC URNs included),
    ``trace:<path>`` for our own non-GS1 URIs, anything else unchanged."""
    canonical = canonical_epc(uri)
    if canonical.startswith(GS1_BASE + "/"):
        return canonical
    parts = urlsplit(uri)
    if parts.scheme in {"http", "https"} and _OWN_PATH.match(parts.path):
        path = parts.path
        if path.startswith("/q/"):
            path = path.upper().replace("/Q/", "/q/")
        return "trace:" + path
    return canonical


def batch_uri(public_url: str, batch: Batch) -> str:
    product = batch.product
    if product.gtin:
        return build_digital_link(public_url, ("01", product.gtin), [("10", batch.lot_code)])
    return f"{public_url}/lot/{product.id}/{quote(batch.lot_code, safe='')}"


def facility_uri(public_url: str, facility: Facility) -> str:
    if facility.gln:
        return f"{public_url}/414/{facility.gln}"
    return f"{public_url}/facility/{facility.id}"


def organization_uri(public_url: str, org: Organization) -> str:
    if org.gln:
        return f"{public_url}/417/{org.gln}"
    return f"{public_url}/org/{org.id}"


@dataclass(frozen=True)
class Resolved:
    """What a canonical URI names in the registry (any of these may be None)."""

    batch_id: int | None = None
    facility_id: int | None = None
    organization_id: int | None = None


def _gs1_parts(canonical: str) -> list[str]:
    return canonical[len(GS1_BASE) + 1 :].split("/")


def resolve(session: Session, canonical_uris: Iterable[str]) -> dict[str, Resolved]:
    """Resolve many canonical URIs at once (a few queries, whatever their number)."""
    lots: dict[tuple[str | None, str], str] = {}
    own_lots: dict[tuple[int, str], str] = {}
    codes: dict[str, str] = {}
    glns_414: dict[str, str] = {}
    glns_417: dict[str, str] = {}
    facility_ids: dict[int, str] = {}
    org_ids: dict[int, str] = {}
    for uri in set(canonical_uris):
        if uri.startswith(GS1_BASE + "/"):
            parts = _gs1_parts(uri)
            if parts[0] == "01" and len(parts) == 4 and parts[2] == "10":
                lots[(parts[1], unquote(parts[3]))] = uri
            elif parts[0] == "01" and len(parts) == 4 and parts[2] == "21":
                codes[unquote(parts[3]).upper()] = uri
            elif parts[0] == "414" and len(parts) == 2:
                glns_414[parts[1]] = uri
            elif parts[0] == "417" and len(parts) == 2:
                glns_417[parts[1]] = uri
        elif uri.startswith("trace:/"):
            kind, *rest = uri[len("trace:/") :].split("/")
            if kind in {"lot", "facility", "org"} and int(rest[0]) > MAX_ID:
                continue
            if kind == "lot":
                own_lots[(int(rest[0]), unquote(rest[1]))] = uri
            elif kind == "q":
                codes[rest[0].upper()] = uri
            elif kind == "facility":
                facility_ids[int(rest[0])] = uri
            elif kind == "org":
                org_ids[int(rest[0])] = uri

    found: dict[str, Resolved] = {}
    for chunk in chunked(session, lots):
        lot_rows = session.execute(
            select(Product.gtin, Batch.lot_code, Batch.id)
            .join(Batch, Batch.product_id == Product.id)
            .where(pair_of(session, (Product.gtin, Batch.lot_code), chunk))
        )
        for gtin, lot, batch_id in lot_rows:
            found[lots[(gtin, lot)]] = Resolved(batch_id=batch_id)
    for own_chunk in chunked(session, own_lots):
        own_rows = session.execute(
            select(Batch.product_id, Batch.lot_code, Batch.id).where(
                pair_of(session, (Batch.product_id, Batch.lot_code), own_chunk)
            )
        )
        for product_id, lot, batch_id in own_rows:
            found[own_lots[(product_id, lot)]] = Resolved(batch_id=batch_id)
    for code_chunk in chunked(session, codes):
        for code, batch_id in session.execute(
            select(Code.code, Code.batch_id).where(one_of(session, Code.code, code_chunk))
        ):
            found[codes[code]] = Resolved(batch_id=batch_id)
    if glns_414 or facility_ids:
        facility_rows = session.execute(
            select(Facility.id, Facility.gln, Facility.organization_id).where(
                Facility.gln.in_(list(glns_414)) | Facility.id.in_(list(facility_ids))
            )
        )
        for facility_id, gln, org_id in facility_rows:
            match = glns_414.get(gln or "") or facility_ids.get(facility_id)
            if match:
                found[match] = Resolved(facility_id=facility_id, organization_id=org_id)
    if glns_417 or org_ids:
        org_rows = session.execute(
            select(Organization.id, Organization.gln).where(
                Organization.gln.in_(list(glns_417)) | Organization.id.in_(list(org_ids))
            )
        )
        for org_id, gln in org_rows:
            match = glns_417.get(gln or "") or org_ids.get(org_id)
            if match:
                found[match] = Resolved(organization_id=org_id)
    return found
