"""The EUDR due diligence package of an export lot: every plot upstream of it in the genealogy,
as the GeoJSON file the EU Information System takes for a due diligence statement, with a
summary: how much of the lot comes from each plot (mass balance through every blend), the
harvest period, the DDS numbers its shipments carry, and what blocks the statement.

The walk upstream is one recursive query (:func:`trace.services.events.genealogy.upstream`);
harvest events and blends are read in a few set queries; the mass balance runs over the edges in
Python (tens of thousands of numbers, not rows of a graph library).

Mass balance: the export lot is 1. A lot made from inputs passes its share to each input in
proportion to the input quantity its transformation events list (kilograms when the units are
masses); when one input of a lot has no quantity, its inputs take equal parts. A lot
harvested from several plots splits its share by the quantities harvested on each.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, String, and_, cast, exists, func, literal, select
from sqlalchemy.orm import Session, aliased

from trace.models import (
    Batch,
    BatchLink,
    Event,
    EventEpc,
    Facility,
    FacilityKind,
    Plot,
)
from trace.services.actors import Actor
from trace.services.errors import Conflict, FieldError
from trace.services.eudr.geometry import area_warning, problems
from trace.services.events import genealogy, visibility
from trace.services.events.identifiers import GS1_BASE, canonical_uri, resolve
from trace.services.events.stages import DDS_REFERENCE, DDS_VERIFICATION, bizstep_of

#: The EU Information System's GeoJSON file description whose property names are followed.
FORMAT = "EUDR Information System GeoJSON file description, version 1.4 (property names)"
HARVEST_STEP = bizstep_of("harvesting")
SHIPPING_STEPS = ("shipping", "departing")
_KG = {"KGM": Decimal(1), "GRM": Decimal("0.001"), "TNE": Decimal(1000)}


@dataclass
class PlotShare:
    """One plot upstream of the lot and its part of the lot."""

    facility_id: int
    name: str
    province_code: str
    producer_name: str | None = None
    producer_country: str | None = None
    area_ha: Decimal | None = None
    geometry: dict[str, Any] | None = None
    harvested: Decimal = Decimal(0)
    harvest_unit: str | None = None
    #: The part of the export lot from this plot, in the lot's unit (kilograms for a mass).
    share: float = 0.0
    allocated: Decimal = Decimal(0)
    first_harvest: dt.datetime | None = None
    last_harvest: dt.datetime | None = None
    harvest_events: list[str] = field(default_factory=list)
    problem: str | None = None
    warning: str | None = None


@dataclass(frozen=True)
class DdsNumbers:
    event_id: str
    event_time: dt.datetime
    reference_number: str | None
    verification_number: str | None


@dataclass
class Package:
    batch: Batch
    plots: list[PlotShare]
    upstream_batches: int
    harvest_from: dt.datetime | None
    harvest_to: dt.datetime | None
    dds: list[DdsNumbers]
    untraced_batches: list[int]
    allocated_unit: str | None = None
    geojson: dict[str, Any] = field(default_factory=dict)

    @property
    def problems(self) -> list[FieldError]:
        found = [
            FieldError(f"/plots/{p.facility_id}", f"plot {p.facility_id} ({p.name}): {p.problem}")
            for p in self.plots
            if p.problem
        ]
        found += [
            FieldError(
                f"/batches/{b}",
                f"batch {b} has no inputs and no harvest from a registered plot: where it was "
                "grown is unknown",
            )
            for b in self.untraced_batches
        ]
        if not self.plots:
            found.append(FieldError("/plots", "no plot upstream of this lot"))
        return found

    @property
    def warnings(self) -> list[str]:
        return [f"plot {p.facility_id} ({p.name}): {p.warning}" for p in self.plots if p.warning]


def mass_unit(unit: str | None) -> str | None:
    """The unit quantities are summed in: kilograms for any mass unit."""
    return "KGM" if unit in _KG else unit


def _kilograms(quantity: Decimal, unit: str | None) -> Decimal:
    return quantity * _KG.get(unit or "", Decimal(1))


def _path_index(known: Iterable[str]) -> dict[str, str]:
    """The path of each canonical URI (ours ``trace:/lot/…``, GS1's ``https://id.gs1.org/01/…``)
    -> the URI: a class written with any host and that same path is that URI."""
    paths = {}
    for uri in known:
        if uri.startswith("trace:/"):
            paths[uri[len("trace:") :]] = uri
        elif uri.startswith(GS1_BASE + "/"):
            paths[uri[len(GS1_BASE) :]] = uri
    return paths


def _canonical(raw: str, paths: Mapping[str, str]) -> str:
    """:func:`canonical_uri`, skipped when the URI's path is already a known canonical path
    (tens of thousands of inputs are matched this way at a dictionary lookup each)."""
    slash = raw.find("/", raw.find("//") + 2) if "//" in raw else -1
    if slash > 0 and "?" not in raw and "#" not in raw:
        known = paths.get(raw[slash:])
        if known is not None:
            return known
    return canonical_uri(raw)


def _quantities(
    items: Iterable[Mapping[str, Any]], paths: Mapping[str, str] | None = None
) -> dict[str, tuple[Decimal, str | None]]:
    """Canonical class URI -> quantity and unit (kilograms for a mass unit), summed."""
    found: dict[str, tuple[Decimal, str | None]] = {}
    for item in items:
        if not isinstance(item, Mapping) or "epcClass" not in item or "quantity" not in item:
            continue
        try:
            quantity = _kilograms(Decimal(str(item["quantity"])), item.get("uom"))
        except ArithmeticError:
            continue
        uri = _canonical(str(item["epcClass"]), paths or {})
        before = found.get(uri, (Decimal(0), None))[0]
        found[uri] = (before + quantity, mass_unit(item.get("uom")))
    return found


def _harvested(listed: Any, uri: str) -> tuple[Decimal, str | None]:
    """What a harvest event's quantity list says of the lot ``uri`` names (a form's harvest
    lists one lot: taken as it is, without canonicalising its class)."""
    items = listed if isinstance(listed, list) else []
    if len(items) == 1 and isinstance(items[0], dict) and "quantity" in items[0]:
        try:
            quantity = Decimal(str(items[0]["quantity"]))
        except ArithmeticError:
            return Decimal(0), None
        return _kilograms(quantity, items[0].get("uom")), mass_unit(items[0].get("uom"))
    return _quantities(items).get(uri, (Decimal(0), None))


def _declared() -> Any:
    """A condition on :class:`Event`: an error declaration corrects it."""
    declaration = aliased(Event)
    return exists().where(
        declaration.event_id == Event.event_id, declaration.declares_error.is_(True)
    )


def _shares(
    root: int, edges: list[tuple[int, int, Decimal | None]], batches: set[int]
) -> dict[int, float]:
    """Each upstream batch's fraction of the root lot (mass balance; see the module docstring)."""
    inputs: dict[int, list[tuple[int, Decimal | None]]] = defaultdict(list)
    outputs: dict[int, set[int]] = defaultdict(set)
    for source, target, quantity in edges:
        inputs[target].append((source, quantity))
        outputs[source].add(target)
    share: dict[int, float] = defaultdict(float)
    share[root] = 1.0
    waiting = {b: len(outputs[b]) for b in batches}
    ready = deque([root])
    while ready:
        target = ready.popleft()
        listed = inputs.get(target, [])
        weighed = all(q is not None and q > 0 for _, q in listed)
        total = float(sum((q or Decimal(0) for _, q in listed), Decimal(0)))
        for source, quantity in listed:
            part = float(quantity or 0) / total if weighed else 1.0 / len(listed)
            share[source] += share[target] * part
        for source in {s for s, _ in listed}:
            waiting[source] -= sum(1 for t in outputs[source] if t == target)
            if waiting[source] <= 0:
                ready.append(source)
    return dict(share)


def build(session: Session, actor: Actor, batch_id: int, area_tolerance: float) -> Package:
    """The package of an export lot, for its owner, its province's centre or an inspector
    (``area_tolerance``: the fraction a declared area may be off the computed one unwarned)."""
    batch = visibility.require_due_diligence_reader(session, actor, batch_id)
    reach = genealogy.upstream(batch_id)
    batch_ids = set(session.scalars(select(reach.c.batch_id)))

    edges = _blend_edges(session, reach)
    shares = _shares(batch_id, edges, batch_ids)
    plots, harvested_batches, sourced = _harvests(session, reach, shares)
    lot_quantity = _kilograms(batch.quantity, batch.unit)
    for plot in plots.values():
        plot.allocated = (lot_quantity * Decimal(str(round(plot.share, 9)))).quantize(
            Decimal("0.001")
        )
    _describe_plots(session, plots, area_tolerance, _plot_ids(reach, sourced))

    made = {target for _, target, _ in edges}
    untraced = sorted(b for b in batch_ids if b not in made and b not in harvested_batches)
    firsts = [p.first_harvest for p in plots.values() if p.first_harvest]
    lasts = [p.last_harvest for p in plots.values() if p.last_harvest]
    package = Package(
        batch=batch,
        plots=sorted(plots.values(), key=lambda p: p.facility_id),
        upstream_batches=len(batch_ids),
        harvest_from=min(firsts) if firsts else None,
        harvest_to=max(lasts) if lasts else None,
        dds=_dds(session, batch_id),
        untraced_batches=untraced,
    )
    package.allocated_unit = mass_unit(batch.unit)
    package.geojson = feature_collection(package.plots)
    return package


@dataclass(frozen=True)
class OriginPlots:
    """What the public page says of a lot's plots: how many, in which provinces."""

    plots: int
    province_codes: list[str]


def verified_origin(session: Session, batch_id: int) -> OriginPlots | None:
    """The plots upstream of a lot, for the public page, when there are some and every one has
    its geolocation (checked when it was written); None otherwise. No geometry, no names."""
    reach = genealogy.upstream(batch_id)
    plots, _, sourced = _harvests(session, reach, {})
    if not plots:
        return None
    rows = session.execute(
        select(Facility.province_code, Plot.facility_id)
        .outerjoin(Plot, Plot.facility_id == Facility.id)
        .where(_plot_ids(reach, sourced))
    ).all()
    if any(located is None for _, located in rows):
        return None
    return OriginPlots(len(rows), sorted({province for province, _ in rows}))


def require_complete(package: Package) -> Package:
    """The package, or a 409 naming every plot or lot that blocks the due diligence statement."""
    problems = package.problems
    if problems:
        raise Conflict(
            f"The EUDR package of lot {package.batch.lot_code} is blocked: {len(problems)} "
            "problem(s) upstream (a plot without geolocation or with an invalid one, or a lot "
            "whose plots are unknown). Fix them, then export again.",
            errors=problems,
        )
    return package


def _blend_edges(session: Session, reach: Any) -> list[tuple[int, int, Decimal | None]]:
    """(input batch, output batch, input quantity or None) for every edge upstream."""
    rows = session.execute(
        select(BatchLink.input_batch_id, BatchLink.output_batch_id, BatchLink.event_pk).where(
            BatchLink.output_batch_id.in_(select(reach.c.batch_id))
        )
    ).all()
    event_pks = {row[2] for row in rows}
    if not event_pks:
        return []
    uris: dict[tuple[int, int], str] = {}
    for event_pk, uri, input_id in session.execute(
        select(EventEpc.event_pk, EventEpc.uri, EventEpc.batch_id).where(
            EventEpc.event_pk.in_(event_pks), EventEpc.role == "input_class"
        )
    ):
        if input_id is not None:
            uris[(event_pk, input_id)] = uri
    paths = _path_index(uris.values())
    listed: dict[int, dict[str, tuple[Decimal, str | None]]] = {
        pk: _quantities(doc.get("inputQuantityList") or [], paths)
        for pk, doc in session.execute(
            select(Event.id, Event.document).where(Event.id.in_(event_pks), ~_declared())
        )
    }
    edges = []
    for source, target, event_pk in rows:
        if event_pk not in listed:
            continue  # a transformation corrected by an error declaration
        input_uri = uris.get((event_pk, source))
        quantity = listed[event_pk].get(input_uri) if input_uri else None
        edges.append((source, target, quantity[0] if quantity else None))
    return edges


def _harvest_rows(reach: Any) -> Select[Any]:
    """Harvest events naming the upstream lots, each with the plot its business location names
    when that plot belongs to the lot's producer (joined in SQL on the canonical URI, so 10,000
    plots cost no list of ids): a plot counts for the lots of its own organisation only, naming
    another's plot does not make its harvest one's own."""
    by_id, by_gln = aliased(Facility), aliased(Facility)
    own_uri = literal("trace:/facility/", String) + cast(by_id.id, String)
    gln_uri = literal(GS1_BASE + "/414/", String) + by_gln.gln
    return (
        select(
            Event.event_id,
            Event.event_time,
            Event.document["sourceList"],
            Event.document["quantityList"],
            EventEpc.batch_id,
            EventEpc.uri,
            EventEpc.role,
            Batch.producer_id,
            func.coalesce(by_id.id, by_gln.id).label("plot_id"),
        )
        .join(EventEpc, EventEpc.event_pk == Event.id)
        .join(reach, reach.c.batch_id == EventEpc.batch_id)
        .join(Batch, Batch.id == EventEpc.batch_id)
        .outerjoin(by_id, and_(
            Event.biz_location == own_uri, by_id.kind == FacilityKind.PLOT,
            by_id.organization_id == Batch.producer_id,
        ))
        .outerjoin(by_gln, and_(
            Event.biz_location == gln_uri, by_gln.kind == FacilityKind.PLOT,
            by_gln.organization_id == Batch.producer_id,
        ))
        .where(
            Event.biz_step == HARVEST_STEP,
            Event.declares_error.is_(False),
            ~_declared(),
        )
    )  # fmt: skip


def _source_plots(session: Session, rows: Sequence[Any]) -> dict[int, list[int]]:
    """Row index -> the producer's plots a harvest names as a source of type location (the
    stage form does, beside another business location): resolved in Python, rows are few."""
    sources: dict[int, list[str]] = {}
    for index, row in enumerate(rows):
        named = [
            canonical_uri(str(item["source"]))
            for item in row[2] or []
            if isinstance(item, dict) and item.get("type") == "location" and item.get("source")
        ]
        if named:
            sources[index] = named
    if not sources:
        return {}
    resolved = resolve(session, {uri for uris in sources.values() for uri in uris})
    ids = {r.facility_id for r in resolved.values() if r.facility_id is not None}
    owner = {
        facility_id: org_id
        for facility_id, org_id in session.execute(
            select(Facility.id, Facility.organization_id).where(
                Facility.id.in_(ids), Facility.kind == FacilityKind.PLOT
            )
        )
    }
    found: dict[int, list[int]] = {}
    for index, uris in sources.items():
        for uri in uris:
            facility_id = resolved[uri].facility_id if uri in resolved else None
            if facility_id is not None and owner.get(facility_id) == rows[index][7]:
                found.setdefault(index, []).append(facility_id)
    return found


def _harvests(
    session: Session, reach: Any, shares: Mapping[int, float]
) -> tuple[dict[int, PlotShare], set[int], set[int]]:
    """Plots harvested into the upstream batches, with what each gave and its part of the lot;
    the lots harvested from a plot; the plots only a source names (few)."""
    rows = session.execute(_harvest_rows(reach)).all()
    from_sources = _source_plots(session, rows)
    by_batch: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    plots: dict[int, PlotShare] = {}
    harvested: set[int] = set()
    counted: set[tuple[str, int]] = set()
    # An event naming a lot twice (its class and unit codes of it) counts once, by its class.
    order = sorted(range(len(rows)), key=lambda i: rows[i][6] != "epc_class")
    for index in order:
        event_id, event_time, _, listed, batch_id, uri, _, _, plot_id = rows[index]
        if (event_id, batch_id) in counted:
            continue
        counted.add((event_id, batch_id))
        here = sorted({*([plot_id] if plot_id is not None else []), *from_sources.get(index, [])})
        if not here:
            continue
        harvested.add(batch_id)
        quantity, unit = _harvested(listed, uri)
        for facility_id in here:
            plot = plots.setdefault(facility_id, PlotShare(facility_id, "", ""))
            part = quantity / len(here)
            plot.harvested += part
            by_batch[batch_id][facility_id] += part
            plot.harvest_events.append(event_id)
            plot.harvest_unit = plot.harvest_unit or unit
            plot.first_harvest = min(filter(None, [plot.first_harvest, event_time]))
            plot.last_harvest = max(filter(None, [plot.last_harvest, event_time]))
    for batch_id, per_plot in by_batch.items():
        total = sum(per_plot.values(), Decimal(0))
        for facility_id, quantity in per_plot.items():
            fraction = float(quantity / total) if total > 0 else 1.0 / len(per_plot)
            plots[facility_id].share += shares.get(batch_id, 0.0) * fraction
    return plots, harvested, {f for ids in from_sources.values() for f in ids}


def _plot_ids(reach: Any, sourced: set[int]) -> Any:
    """A condition on Facility.id: the plots of the upstream harvests (by SQL, however many,
    plus the few that only a source names)."""
    harvest_plots = _harvest_rows(reach).subquery("harvest_plots")
    joined = select(harvest_plots.c.plot_id).where(harvest_plots.c.plot_id.is_not(None))
    return Facility.id.in_(joined) | Facility.id.in_(sorted(sourced))


def _describe_plots(
    session: Session, plots: dict[int, PlotShare], tolerance: float, where: Any
) -> None:
    """Names, owners and geolocations of the plots, each geolocation checked again."""
    for share in plots.values():
        share.problem = "no geolocation: the plot has no point or polygon recorded"
    rows = session.execute(
        select(
            Facility.id, Facility.name, Facility.province_code, Plot.facility_id,
            Plot.producer_name, Plot.producer_country, Plot.area_ha, Plot.declared_area_ha,
            Plot.geometry,
        )
        .outerjoin(Plot, Plot.facility_id == Facility.id)
        .where(where)
    ).all()  # fmt: skip
    rows = [row for row in rows if row[0] in plots]
    located = [row for row in rows if row[3] is not None]
    reasons = problems([(row[8], row[7]) for row in located])
    for facility_id, name, province, *_ in rows:
        share = plots[facility_id]
        share.name, share.province_code = name, province
    for row, reason in zip(located, reasons, strict=True):
        share = plots[row[0]]
        share.producer_name, share.producer_country, share.area_ha = row[4], row[5], row[6]
        share.geometry = row[8]
        share.problem = f"invalid geolocation: {reason}" if reason else None
        if not reason and row[8].get("type") == "Polygon":
            share.warning = area_warning(row[7], row[6], tolerance)


def _dds(session: Session, batch_id: int) -> list[DdsNumbers]:
    rows = session.execute(
        select(Event.event_id, Event.event_time, Event.document)
        .join(EventEpc, EventEpc.event_pk == Event.id)
        .where(
            EventEpc.batch_id == batch_id,
            Event.biz_step.in_(SHIPPING_STEPS),
            Event.declares_error.is_(False),
        )
        .order_by(Event.event_time)
    ).all()
    return [
        DdsNumbers(e, t, d.get(DDS_REFERENCE), d.get(DDS_VERIFICATION))
        for e, t, d in rows
        if d.get(DDS_REFERENCE) or d.get(DDS_VERIFICATION)
    ]


def feature_collection(plots: Iterable[PlotShare]) -> dict[str, Any]:
    """The plots as the EU Information System's GeoJSON (RFC 7946, WGS84, lon/lat)."""
    features = []
    for plot in plots:
        if plot.geometry is None:
            continue
        properties: dict[str, Any] = {
            "ProducerName": plot.producer_name,
            "ProducerCountry": plot.producer_country,
            "ProductionPlace": plot.name,
            "Area": float(plot.area_ha) if plot.area_ha is not None else None,
        }
        features.append(
            {
                "type": "Feature",
                "geometry": plot.geometry,
                "properties": {k: v for k, v in properties.items() if v is not None},
            }
        )
    return {"type": "FeatureCollection", "features": features}
