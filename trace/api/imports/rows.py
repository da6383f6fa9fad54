"""One spreadsheet row of each kind through the API's own schemas and services.

Each handler takes the row's values (API field names, converted by ``columns.convert``), finds
the row's entity by its natural key, and creates it, updates it (what the API's PATCH would) or
leaves it unchanged; it returns which. References by natural key (tax code or GLN, GTIN, lot,
facility name) become the ids the schemas take. A natural key that matches several rows is an
error naming the row's column, never a guess.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from trace.api import schemas as s
from trace.api.event_schemas import StageForm
from trace.db import chunked, one_of
from trace.gs1.keys import GS1KeyError, normalize_gtin
from trace.models import Batch, Facility, Organization, Product
from trace.services.actors import Actor
from trace.services.events import stages
from trace.services.registry import catalogue

AMBIGUOUS = "ambiguous: give the GLN, GTIN or id"


class RowProblem(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column, self.message = column, message


@dataclass
class Context:
    """What the rows of one import share: who acts, what earlier rows were, lookups made."""

    session: Session
    actor: Actor
    public_url: str
    seen: dict[Any, int] = field(default_factory=dict)
    orgs: dict[str, int] = field(default_factory=dict)
    # Rows found, held here: the session's identity map keeps only what is referenced.
    batches: dict[tuple[Any, ...], Batch] = field(default_factory=dict)
    facilities: dict[tuple[Any, ...], Facility] = field(default_factory=dict)
    held: list[Any] = field(default_factory=list)
    # Natural key -> the stored rows with it, for the sorts of key ``prefetch`` loaded in full.
    found: dict[tuple[Any, ...], list[Any]] = field(default_factory=dict)
    complete: set[str] = field(default_factory=set)
    events: list[dict[str, Any]] = field(default_factory=list)
    event_rows: list[int] = field(default_factory=list)

    def lookup(self, key: tuple[Any, ...], stmt: Callable[[], Any]) -> list[Any]:
        """The stored rows with this natural key: prefetched, or queried (``stmt`` makes the
        query, only when one is needed)."""
        if key[0] in self.complete:
            return self.found.get(key, [])
        return list(self.session.scalars(stmt().limit(2)))

    def first(self, key: Any, row: int, column: str) -> None:
        """Refuse a second row with the natural key of an earlier one."""
        earlier = self.seen.setdefault(key, row)
        if earlier != row:
            raise RowProblem(column, f"duplicate of row {earlier}")


_SCHEMAS = {
    "organizations": s.OrganizationSchema(),
    "facilities": s.FacilitySchema(),
    "products": s.ProductSchema(),
    "batches": s.BatchSchema(),
}
_STAGE_FORMS: dict[frozenset[str], StageForm] = {}
_STAGE_FIELDS = frozenset(StageForm().load_fields)
_STAGE_REQUIRED = frozenset(n for n, f in StageForm().load_fields.items() if f.required)


def stage_form(keys: Iterable[str]) -> StageForm:
    """The API's stage form limited to the fields a row gives and the required ones: the same
    fields, validators and messages (a key it does not know is still refused), without
    marshmallow visiting the dozen fields the file has no column for. One per set of columns."""
    known = frozenset(keys) & _STAGE_FIELDS
    form = _STAGE_FORMS.get(known)
    if form is None:
        form = _STAGE_FORMS[known] = StageForm(only=sorted(known | _STAGE_REQUIRED))
    return form


def _one(session: Session, stmt: Any, column: str, what: str) -> Any:
    rows = session.scalars(stmt.limit(2)).all()
    if len(rows) > 1:
        raise RowProblem(column, AMBIGUOUS)
    if not rows:
        raise RowProblem(column, f"no {what}")
    return rows[0]


def organization_ref(ctx: Context, value: str, column: str) -> int:
    """An organisation named by tax code or GLN (registered before or in an earlier row)."""
    if value not in ctx.orgs:
        found = ctx.lookup(("org_ref", value), lambda: select(Organization).where(
            or_(Organization.tax_code == value, Organization.gln == value)))  # fmt: skip
        if len(found) > 1:
            raise RowProblem(column, AMBIGUOUS)
        if not found:
            raise RowProblem(column, f"no organisation with tax code or GLN {value!r}")
        ctx.held.append(found[0])
        ctx.orgs[value] = found[0].id
    return ctx.orgs[value]


def _ref(ctx: Context, values: dict[str, Any], column: str, id_field: str) -> None:
    if column in values:
        values[id_field] = organization_ref(ctx, values.pop(column), column)


def _changes(entity: Any, data: dict[str, Any], given: set[str], fixed: set[str]) -> dict[str, Any]:
    changes = {}
    for key, value in data.items():
        if key in given and getattr(entity, key) != value:
            if key in fixed:
                raise RowProblem(key, f"differs from the registered {key} (it cannot change)")
            changes[key] = value
    return changes


def _save(ctx: Context, existing: Any, data: dict[str, Any], given: set[str], fixed: set[str],
          create: Callable[..., Any], update: Callable[..., Any]) -> str:  # fmt: skip
    if existing is None:
        create(ctx.session, ctx.actor, data)
        return "created"
    changes = _changes(existing, data, given, fixed)
    if not changes:
        return "unchanged"
    update(ctx.session, ctx.actor, existing.id, changes)
    return "updated"


def organization(ctx: Context, row: int, values: dict[str, Any]) -> str:
    given = set(values)
    data = _SCHEMAS["organizations"].load(values)
    key_column = "gln" if data.get("gln") else "tax_code"
    ctx.first(("org", data[key_column]), row, key_column)
    found = ctx.lookup(
        (key_column, data[key_column]),
        lambda: select(Organization).where(getattr(Organization, key_column) == data[key_column]),
    )
    existing = found[0] if found else None
    return _save(ctx, existing, data, given, set(), catalogue.create_organization,
                 catalogue.update_organization)  # fmt: skip


def facility(ctx: Context, row: int, values: dict[str, Any]) -> str:
    _ref(ctx, values, "organization", "organization_id")
    given = set(values)
    data = _SCHEMAS["facilities"].load(values)
    if data.get("gln"):
        ctx.first(("facility", data["gln"]), row, "gln")
        stmt = select(Facility).where(Facility.gln == data["gln"])
    else:
        ctx.first(("facility", data["organization_id"], data["name"]), row, "name")
        stmt = select(Facility).where(
            Facility.organization_id == data["organization_id"], Facility.name == data["name"]
        )
    with ctx.session.no_autoflush:  # new facilities wait for one batched INSERT
        found = ctx.session.scalars(stmt.limit(2)).all()
    if len(found) > 1:
        raise RowProblem("name", AMBIGUOUS)
    return _save(ctx, found[0] if found else None, data, given, {"organization_id"},
                 catalogue.create_facility, catalogue.update_facility)  # fmt: skip


def product(ctx: Context, row: int, values: dict[str, Any]) -> str:
    _ref(ctx, values, "organization", "organization_id")
    given = set(values)
    data = _SCHEMAS["products"].load(values)
    if data.get("gtin"):
        ctx.first(("product", data["gtin"]), row, "gtin")
        key: tuple[Any, ...] = ("gtin", data["gtin"])
        stmt = lambda: select(Product).where(Product.gtin == data["gtin"])  # noqa: E731
    else:
        ctx.first(("product", data["organization_id"], data["name_vi"]), row, "name_vi")
        key = ("product_name", data["organization_id"], data["name_vi"])
        stmt = lambda: select(Product).where(  # noqa: E731
            Product.organization_id == data["organization_id"],
            Product.name_vi == data["name_vi"],
        )
    found = ctx.lookup(key, stmt)
    if len(found) > 1:
        raise RowProblem("name_vi", AMBIGUOUS)
    return _save(ctx, found[0] if found else None, data, given, {"organization_id"},
                 catalogue.create_product, catalogue.update_product)  # fmt: skip


def _product_id(ctx: Context, values: dict[str, Any], owner: int | None) -> None:
    """``gtin`` or ``product`` (a name of the producer's products) -> ``product_id``."""
    gtin, name = values.pop("gtin", None), values.pop("product", None)
    if "product_id" in values:
        return
    if gtin is not None:
        try:
            key = normalize_gtin(str(gtin))
        except GS1KeyError as error:
            raise RowProblem("gtin", str(error)) from None
        products = ctx.lookup(("gtin", key), lambda: select(Product).where(Product.gtin == key))
        if not products:
            raise RowProblem("gtin", f"no product with GTIN {gtin}")
        values["product_id"] = products[0].id
    elif name is not None:
        stmt = select(Product.id).where(Product.name_vi == name)
        if owner is not None:
            stmt = stmt.where(Product.organization_id == owner)
        values["product_id"] = _one(ctx.session, stmt, "product", f"product named {name!r}")


def batch(ctx: Context, row: int, values: dict[str, Any]) -> str:
    _ref(ctx, values, "producer", "producer_id")
    owner = values.get("producer_id", ctx.actor.organization_id)
    _product_id(ctx, values, owner)
    if "origin_facility" in values:
        place = values.pop("origin_facility")
        producer = values.get("producer_id", ctx.actor.organization_id)
        values["origin_facility_id"] = _facility_id(ctx, place, "origin_facility", producer)
    given = set(values)
    data = _SCHEMAS["batches"].load(values)
    ctx.first(("batch", data["product_id"], data["lot_code"]), row, "lot_code")
    found = ctx.lookup(
        ("product_lot", data["product_id"], data["lot_code"]),
        lambda: select(Batch).where(
            Batch.product_id == data["product_id"], Batch.lot_code == data["lot_code"]
        ),
    )
    existing = found[0] if found else None
    return _save(ctx, existing, data, given, {"product_id", "producer_id", "lot_code"},
                 catalogue.create_batch, catalogue.update_batch)  # fmt: skip


def _facility_id(ctx: Context, value: str, column: str, *owners: int | None) -> int:
    """A facility by GLN, or by name among the owners' facilities."""
    key = (value, *owners)
    if key not in ctx.facilities:
        if value.isdigit() and len(value) == 13:
            stmt = select(Facility).where(Facility.gln == value)
        else:
            stmt = select(Facility).where(
                Facility.name == value, Facility.organization_id.in_([o for o in owners if o])
            )
        ctx.facilities[key] = _one(ctx.session, stmt, column, f"facility {value!r}")
    return int(ctx.facilities[key].id)


def _batch(ctx: Context, values: dict[str, Any]) -> Batch:
    if "batch_id" in values:
        found = ctx.session.get(Batch, values.pop("batch_id"))
        if found is None:
            raise RowProblem("batch_id", "no such batch")
        return found
    lot = values.pop("lot_code", None)
    key = (lot, values.get("gtin"), values.get("product_id"))
    if key in ctx.batches:
        values.pop("gtin", None), values.pop("product_id", None)
        return ctx.batches[key]
    if lot is None:
        raise RowProblem("lot_code", "a lot code (or batch id) is required")
    if "gtin" in values or "product_id" in values:
        _product_id(ctx, values, None)
        product_id = values.pop("product_id")
        stmt = lambda: select(Batch).where(  # noqa: E731
            Batch.lot_code == lot, Batch.product_id == product_id
        )
        candidates = [b for b in ctx.lookup(("lot", lot), stmt) if b.product_id == product_id]
    else:
        candidates = ctx.lookup(("lot", lot), lambda: select(Batch).where(Batch.lot_code == lot))
    if len(candidates) > 1:
        raise RowProblem("lot_code", AMBIGUOUS)
    if not candidates:
        raise RowProblem("lot_code", f"no batch with lot code {lot!r}")
    batch_found: Batch = candidates[0]
    ctx.batches[key] = batch_found
    ctx.held.append(batch_found.product)
    return batch_found


def _input(ctx: Context, text: str) -> dict[str, Any]:
    gtin, _, lot = text.rpartition("/")
    found = _batch(ctx, {"lot_code": lot, **({"gtin": gtin} if gtin else {})})
    return {"batch_id": found.id}


def event(ctx: Context, row: int, values: dict[str, Any]) -> str:
    """A stage of a batch: the producers' stage form, loaded by ``StageForm`` and turned into
    an EPCIS event by the stage form's own service; captured with the others at the end."""
    found = _batch(ctx, values)
    if "facility" in values:
        values["facility_id"] = _facility_id(
            ctx, values.pop("facility"), "facility", found.producer_id, ctx.actor.organization_id
        )
    _ref(ctx, values, "to_organization", "to_organization_id")
    if "inputs" in values:
        try:
            values["inputs"] = [_input(ctx, text) for text in values["inputs"]]
        except RowProblem as problem:
            raise RowProblem("inputs", problem.message) from None
    form = stage_form(values).load(values)
    ctx.first(("event", found.id, json.dumps(form, sort_keys=True, default=str)), row, "")
    ctx.events.append(stages.stage_event(ctx.session, ctx.actor, found, form, ctx.public_url))
    ctx.event_rows.append(row)
    return "pending"


HANDLERS: dict[str, Callable[[Context, int, dict[str, Any]], str]] = {
    "organizations": organization,
    "facilities": facility,
    "products": product,
    "batches": batch,
    "events": event,
}


def _chunks(session: Session, values: set[Any]) -> list[list[Any]]:
    return chunked(session, sorted(values, key=str))


def _gtins(texts: set[Any]) -> set[str]:
    found = set()
    for text in texts:
        try:
            found.add(normalize_gtin(str(text)))
        except GS1KeyError:
            continue
    return found


def prefetch(ctx: Context, kind: str, rows: list[dict[str, Any]]) -> None:
    """Load at once the stored rows the file's natural keys can name, so that rows are matched
    without a query each; each sort of key loaded is then answered from memory."""
    session = ctx.session
    refs = {v[c] for v in rows for c in ("organization", "producer", "to_organization") if c in v}
    for chunk in _chunks(session, refs):
        for org in session.scalars(select(Organization).where(
                or_(one_of(session, Organization.tax_code, chunk),
                    one_of(session, Organization.gln, chunk)))):  # fmt: skip
            for value in {org.tax_code, org.gln} & set(chunk):
                ctx.found.setdefault(("org_ref", value), []).append(org)
    ctx.complete.add("org_ref")
    if kind in ("organizations", "facilities", "products"):  # creations check uniqueness
        model: Any = {"organizations": Organization, "facilities": Facility,
                      "products": Product}[kind]  # fmt: skip
        for column in catalogue.unique_columns(model):
            if column == "gtin":
                values = _gtins({v["gtin"] for v in rows if "gtin" in v})
            else:
                values = {str(v[column]) for v in rows if column in v}
            catalogue.load_unique(session, model, column, values)
    if kind == "organizations":
        for column in ("tax_code", "gln"):
            for chunk in _chunks(session, {v[column] for v in rows if column in v}):
                for org in session.scalars(
                    select(Organization).where(
                        one_of(session, getattr(Organization, column), chunk)
                    )
                ):
                    ctx.found.setdefault((column, getattr(org, column)), []).append(org)
            ctx.complete.add(column)
    inputs = [text.rpartition("/") for v in rows for text in v.get("inputs") or ()
              if isinstance(text, str)]  # fmt: skip
    if kind in ("products", "batches", "events"):
        gtins = {v["gtin"] for v in rows if "gtin" in v} | {g for g, _, _ in inputs if g}
        for chunk in _chunks(session, _gtins(gtins)):
            for product in session.scalars(
                select(Product).where(one_of(session, Product.gtin, chunk))
            ):
                ctx.found.setdefault(("gtin", product.gtin), []).append(product)
        ctx.complete.add("gtin")
    if kind == "products":
        owners = {
            ctx.found[("org_ref", v["organization"])][0].id
            for v in rows
            if len(ctx.found.get(("org_ref", v.get("organization")), [])) == 1
        }
        owners |= {v["organization_id"] for v in rows if isinstance(v.get("organization_id"), int)}
        for chunk in _chunks(session, owners):
            for product in session.scalars(
                select(Product).where(one_of(session, Product.organization_id, chunk))
            ):
                key = ("product_name", product.organization_id, product.name_vi)
                ctx.found.setdefault(key, []).append(product)
        ctx.complete.add("product_name")
    if kind == "events":
        lots = {v["lot_code"] for v in rows if "lot_code" in v} | {lot for _, _, lot in inputs}
        for chunk in _chunks(session, lots):
            for found in session.scalars(
                select(Batch).where(one_of(session, Batch.lot_code, chunk))
            ):
                ctx.found.setdefault(("lot", found.lot_code), []).append(found)
        ctx.complete.add("lot")
        products = {b.product_id for key, bs in ctx.found.items() if key[0] == "lot" for b in bs}
        for chunk in _chunks(session, products):
            ctx.held.extend(
                session.scalars(select(Product).where(one_of(session, Product.id, chunk)))
            )
