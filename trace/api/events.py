"""EPCIS capture and query, the producers' stage form, batch histories, genealogy, the ledger."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, json, request, url_for

from trace.api import event_schemas as es
from trace.api.auth import current_actor
from trace.api.docs import documented
from trace.api.io import dump, load_body, public_url, read_json_object
from trace.db import db
from trace.epcis.export import epcis_document
from trace.services.errors import invalid
from trace.services.events import capture, genealogy, history, ledger, stages
from trace.services.events import query as event_query

CAPTURE_BEHAVIOUR = "GS1-Capture-Error-Behaviour"
EPCIS_JSON = "application/ld+json"

_REPEATED = "Nothing new stored: every event was recorded before (same event hash)"
_NOTHING_STORED = (
    _REPEATED + ", or, with GS1-Capture-Error-Behaviour: proceed, none was valid (see errors)"
)
_result = es.CaptureResultSchema()
_stage_form = es.StageForm()
_event_query = es.EventQuery()
_trace_query = es.TraceQuery()
_history = es.HistorySchema()
_genealogy = es.GenealogySchema()
_verification = es.VerificationSchema()


def _epcis(doc: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(doc, ensure_ascii=False)
    return Response(
        body, mimetype=EPCIS_JSON, headers={"GS1-EPCIS-Version": "2.0.0", **(headers or {})}
    )


def _query_args() -> dict[str, Any]:
    """Repeated parameters join into one comma list, as EPCIS REST allows either."""
    return {key: ",".join(request.args.getlist(key)) for key in request.args}


@documented(summary="Capture an EPCIS 2.0 document", tag="Events", response=es.CaptureResultSchema,
            status=201, also={200: _NOTHING_STORED}, errors=(401, 403, 409, 422))  # fmt: skip
def capture_document() -> Response:
    actor = current_actor()
    document = read_json_object("the body, an EPCIS 2.0 JSON-LD document,")
    behaviour = request.headers.get(CAPTURE_BEHAVIOUR, "rollback").lower()
    if behaviour not in {"rollback", "proceed"}:
        raise invalid(f"/headers/{CAPTURE_BEHAVIOUR}", "must be 'rollback' or 'proceed'")
    result = capture.capture(db.session, actor, document, proceed=behaviour == "proceed")
    return dump(_result, result, 201 if result.created else 200)


@documented(summary="Record a stage of a batch (simple form)", tag="Events", body=es.StageForm,
            response=es.CaptureResultSchema, status=201, also={200: _REPEATED},
            errors=(401, 403, 404, 409, 422))  # fmt: skip
def record_stage(batch_id: int) -> Response:
    actor = current_actor()
    form = load_body(_stage_form)
    result = stages.record_stage(db.session, actor, batch_id, form, public_url())
    return dump(_result, result, 201 if result.created else 200)


@documented(summary="Query events (EPCIS SimpleEventQuery)", tag="Events", query=es.EventQuery,
            content_type=EPCIS_JSON, errors=(401, 422))  # fmt: skip
def query() -> Response:
    actor = current_actor()
    params = _event_query.load(_query_args())
    per_page, token = params.pop("perPage"), params.pop("nextPageToken", None)
    if "EXISTS_errorDeclaration" in params:
        params["EXISTS_errorDeclaration"] = True
    rows, next_token = event_query.query_events(db.session, actor, params, per_page, token)
    doc = epcis_document(
        [event_query.as_epcis(e) for e in rows],
        query=True,
        namespaces=event_query.namespaces_of(rows),
    )
    headers = {}
    if next_token:
        args = request.args.to_dict(flat=False) | {"nextPageToken": [next_token]}
        link = url_for(".query_events", _external=False, **args)  # type: ignore[arg-type]
        headers = {"Link": f'<{link}>; rel="next"', "GS1-Next-Page-Token": next_token}
    return _epcis(doc, headers)


@documented(summary="A batch's history, in time order", tag="Events", response=es.HistorySchema,
            errors=(401, 403, 404))  # fmt: skip
def batch_history(batch_id: int) -> Response:
    entries = history.history(db.session, batch_id, reader=current_actor())
    return dump(_history, {"batch_id": batch_id, "events": entries})


@documented(summary="A batch's history as an EPCIS 2.0 document", tag="Events",
            content_type=EPCIS_JSON, errors=(401, 403, 404))  # fmt: skip
def batch_epcis(batch_id: int) -> Response:
    rows = history.batch_events(db.session, current_actor(), batch_id)
    doc = epcis_document(
        [event_query.as_epcis(e) for e in rows], namespaces=event_query.namespaces_of(rows)
    )
    return _epcis(doc)


@documented(summary="Trace a batch backward to its inputs or forward to its outputs",
            tag="Genealogy", query=es.TraceQuery, response=es.GenealogySchema,
            errors=(401, 403, 404, 422))  # fmt: skip
def trace_batch(batch_id: int) -> Response:
    actor = current_actor()
    args = _trace_query.load(request.args.to_dict(flat=True))
    graph = genealogy.trace(db.session, batch_id, args["direction"], args["depth"], reader=actor)
    return dump(_genealogy, graph)


@documented(summary="Recompute the ledger and report the first broken entry", tag="Ledger",
            response=es.VerificationSchema, errors=(401,))  # fmt: skip
def verify_ledger() -> Response:
    current_actor()
    return dump(_verification, ledger.verify(db.session))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/capture", "capture", capture_document, methods=["POST"])
    bp.add_url_rule("/events", "query_events", query, methods=["GET"])
    bp.add_url_rule(
        "/batches/<int:batch_id>/events", "record_stage", record_stage, methods=["POST"]
    )
    bp.add_url_rule(
        "/batches/<int:batch_id>/events", "batch_history", batch_history, methods=["GET"]
    )
    bp.add_url_rule("/batches/<int:batch_id>/epcis", "batch_epcis", batch_epcis, methods=["GET"])
    bp.add_url_rule("/batches/<int:batch_id>/trace", "trace_batch", trace_batch, methods=["GET"])
    bp.add_url_rule("/ledger/verify", "verify_ledger", verify_ledger, methods=["GET"])
