"""The producers' simple form: a stage of a batch, turned into a proper EPCIS 2.0 event.

A producer says "harvested 1,250 kg at this orchard at 06:30" or "shipped to this distributor";
this module writes the EPCIS event (type, action, bizStep, disposition, quantities, places,
parties, temperatures) and captures it like any other, through
:func:`trace.services.events.capture`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from trace.epcis import cbv
from trace.epcis.export import EPCIS_CONTEXT_URL
from trace.models import Batch, Facility, FacilityKind, Organization, Role
from trace.provinces import VIETNAM
from trace.services.actors import Actor
from trace.services.errors import FieldError, Forbidden, InvalidInput
from trace.services.events import capture as capture_service
from trace.services.events.identifiers import batch_uri, facility_uri, organization_uri
from trace.services.registry.catalogue import get

TRACE_NS = "https://id.trace.vn/voc/"
GS1_NS = "https://gs1.org/voc/"
EXTENSION_STEPS = {uri.removeprefix(cbv.EXTENSION_NS): uri for uri in cbv.EXTENSION_STAGE_NAMES}
#: The stages a form may name: every CBV 2.0 bizStep plus our extension steps.
STAGES = sorted(cbv.BIZ_STEPS | set(EXTENSION_STEPS))
TRANSFORMING = frozenset({"processing", "drying"})
DEFAULT_DISPOSITION = {
    "harvesting": "active",
    "commissioning": "active",
    "packing": "in_progress",
    "processing": "in_progress",
    "drying": "in_progress",
    "storing": "sellable_not_accessible",
    "cooling": "sellable_not_accessible",
    "shipping": "in_transit",
    "departing": "in_transit",
    "receiving": "in_progress",
    "retail_selling": "retail_sold",
    "inspecting": "conformant",
}
ADDING = frozenset({"harvesting", "commissioning"})
#: EUDR: the due diligence statement's numbers a shipment into the EU carries (extensions).
DDS_REFERENCE = "trace:ddsReferenceNumber"
DDS_VERIFICATION = "trace:ddsVerificationNumber"
DDS_STAGES = frozenset({"shipping", "departing"})
RECEIVING = frozenset({"receiving", "accepting", "arriving"})


def bizstep_of(stage: str) -> str:
    return EXTENSION_STEPS.get(stage, stage)


def local_time(value: dt.datetime | None) -> dt.datetime:
    """Producers give local times: no offset means Vietnam's +07:00."""
    if value is None:
        return dt.datetime.now(VIETNAM).replace(microsecond=0)
    return value if value.tzinfo is not None else value.replace(tzinfo=VIETNAM)


def _quantity(batch_class: str, quantity: Decimal | None, unit: str) -> dict[str, Any]:
    item: dict[str, Any] = {"epcClass": batch_class}
    if quantity is not None:
        item["quantity"] = float(quantity) if quantity % 1 else int(quantity)
        item["uom"] = unit
    return item


def build_event(
    session: Session, batch: Batch, form: Mapping[str, Any], public_url: str
) -> dict[str, Any]:
    stage = form["stage"]
    when = local_time(form.get("time"))
    offset = when.strftime("%z")
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": when.isoformat(),
        "eventTimeZoneOffset": f"{offset[:3]}:{offset[3:]}",
    }
    this_batch = batch_uri(public_url, batch)
    unit = form.get("unit") or batch.unit
    inputs = form.get("inputs") or []
    if inputs or stage in TRANSFORMING:
        if not inputs:
            raise InvalidInput(
                "A processing stage needs its input batches.",
                errors=[FieldError("/inputs", f"stage {stage!r} needs at least one input batch")],
            )
        event["type"] = "TransformationEvent"
        input_list = []
        for index, item in enumerate(inputs):
            source = session.get(Batch, item["batch_id"])
            if source is None or source.id == batch.id:
                raise InvalidInput(
                    "An input batch is not valid.",
                    errors=[FieldError(f"/inputs/{index}/batch_id", "no such other batch")],
                )
            input_list.append(
                _quantity(batch_uri(public_url, source), item.get("quantity"), source.unit)
            )
        event["inputQuantityList"] = input_list
        event["outputQuantityList"] = [_quantity(this_batch, form.get("quantity"), unit)]
    else:
        event["action"] = "ADD" if stage in ADDING else "OBSERVE"
        event["quantityList"] = [_quantity(this_batch, form.get("quantity"), unit)]
    event["bizStep"] = bizstep_of(stage)
    disposition = form.get("disposition") or DEFAULT_DISPOSITION.get(stage)
    if disposition:
        event["disposition"] = disposition
    facility_id = form.get("facility_id")
    if facility_id is not None:
        facility = session.get(Facility, facility_id)
        if facility is None:
            raise InvalidInput(
                "Unknown facility.",
                errors=[FieldError("/facility_id", f"facility {facility_id} does not exist")],
            )
        place = facility_uri(public_url, facility)
        event["readPoint"] = {"id": place}
        event["bizLocation"] = {"id": place}
    _parties(session, batch, form, public_url, event)
    _plot(session, batch, stage, form, public_url, event)
    _dds(stage, form, event)
    if form.get("documents"):
        event["bizTransactionList"] = [
            {"type": d["type"], "bizTransaction": f"urn:trace:{d['type']}:{d['number']}"}
            for d in form["documents"]
        ]
    if form.get("temperatures"):
        event["sensorElementList"] = [
            {
                "sensorReport": [
                    {
                        "type": "gs1:Temperature",
                        "value": float(reading["celsius"]),
                        "uom": "CEL",
                        "time": local_time(reading["time"]).isoformat(),
                    }
                    for reading in form["temperatures"]
                ]
            }
        ]
    if form.get("note"):
        event["trace:note"] = form["note"]
    return event


def _parties(
    session: Session,
    batch: Batch,
    form: Mapping[str, Any],
    public_url: str,
    event: dict[str, Any],
) -> None:
    for key, list_key, item_key in (
        ("from_organization_id", "sourceList", "source"),
        ("to_organization_id", "destinationList", "destination"),
    ):
        org_id = form.get(key)
        if org_id is None and key == "from_organization_id" and event["bizStep"] == "shipping":
            org_id = batch.producer_id
        if org_id is None:
            continue
        org = session.get(Organization, org_id)
        if org is None:
            raise InvalidInput(
                "Unknown organisation.",
                errors=[FieldError(f"/{key}", f"organisation {org_id} does not exist")],
            )
        event[list_key] = [{"type": "owning_party", item_key: organization_uri(public_url, org)}]


def _plot(
    session: Session,
    batch: Batch,
    stage: str,
    form: Mapping[str, Any],
    public_url: str,
    event: dict[str, Any],
) -> None:
    """A harvest names the plot it came from (EUDR): a source of type location, and the
    business location too when the form names no other facility."""
    plot_id = form.get("plot_id")
    if plot_id is None:
        return
    if stage != "harvesting":
        raise InvalidInput(
            "Only a harvest names a plot.",
            errors=[FieldError("/plot_id", f"stage {stage!r} takes no plot; harvesting does")],
        )
    plot = session.get(Facility, plot_id)
    if plot is None or plot.kind is not FacilityKind.PLOT:
        raise InvalidInput(
            "Unknown plot.",
            errors=[FieldError("/plot_id", f"facility {plot_id} is not a plot")],
        )
    if plot.organization_id != batch.producer_id:
        raise Forbidden(
            f"Plot {plot_id} belongs to another organisation than the producer of batch "
            f"{batch.id}: a lot is harvested from its own producer's plots."
        )
    place = facility_uri(public_url, plot)
    event.setdefault("sourceList", []).append({"type": "location", "source": place})
    if form.get("facility_id") is None:
        event["readPoint"] = {"id": place}
        event["bizLocation"] = {"id": place}


def _dds(stage: str, form: Mapping[str, Any], event: dict[str, Any]) -> None:
    dds = form.get("dds")
    if not dds:
        return
    if stage not in DDS_STAGES:
        raise InvalidInput(
            "Only a shipment carries DDS numbers.",
            errors=[FieldError("/dds", f"stage {stage!r} takes no DDS numbers; shipping does")],
        )
    if dds.get("reference_number"):
        event[DDS_REFERENCE] = dds["reference_number"]
    if dds.get("verification_number"):
        event[DDS_VERIFICATION] = dds["verification_number"]


def document_for(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": [EPCIS_CONTEXT_URL, {"trace": TRACE_NS, "gs1": GS1_NS}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "epcisBody": {"eventList": [event]},
    }


def _require_own_facility(session: Session, actor: Actor, facility_id: int | None) -> None:
    """A producer records stages at its own facilities: another organisation's place would put
    words in that organisation's mouth (and tell the producer that the facility exists)."""
    if facility_id is None or actor.role is not Role.PRODUCER:
        return
    facility = session.get(Facility, facility_id)
    if facility is None or facility.organization_id != actor.organization_id:
        raise InvalidInput(
            "Unknown facility.",
            errors=[
                FieldError("/facility_id", f"facility {facility_id} is not one of your facilities")
            ],
        )


def record_stage(
    session: Session,
    actor: Actor,
    batch_id: int,
    form: Mapping[str, Any],
    public_url: str,
    *,
    record_time: capture_service.RecordTime | None = None,
) -> capture_service.CaptureResult:
    """Capture the stage as an EPCIS event (``record_time``: the demo loader's, see capture)."""
    event = stage_event(session, actor, get(session, Batch, batch_id), form, public_url)
    return capture_service.capture(session, actor, document_for(event), record_time=record_time)


def stage_event(
    session: Session, actor: Actor, batch: Batch, form: Mapping[str, Any], public_url: str
) -> dict[str, Any]:
    """The EPCIS event a stage form (loaded by the API's ``StageForm``) stands for, as the
    actor records it: what :func:`record_stage` captures, and an import's event rows."""
    form = dict(form)
    if form["stage"] in RECEIVING and actor.organization_id is not None:
        form.setdefault("to_organization_id", actor.organization_id)
    _require_own_facility(session, actor, form.get("facility_id"))
    return build_event(session, batch, form, public_url)


def document_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Several stage events in one EPCIS document, captured together."""
    document = document_for({})
    document["epcisBody"]["eventList"] = events
    return document
