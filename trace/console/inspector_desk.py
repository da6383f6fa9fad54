"""The inspector's desk: the one search box, a batch's audit (and its printable form), and the
ledger (its signed head, a check now, how a third party checks it offline).

Inspectors and admin read everything; a centre uses the same pages within its province (the
read rule of :mod:`trace.services.events.visibility`); a producer is refused (403).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from trace.api.io import public_url
from trace.console import auth
from trace.console.pages import render
from trace.db import db, transaction
from trace.jobs import results_dir
from trace.models import Job, JobStatus
from trace.provinces import province_name
from trace.render import graph as graph_layout
from trace.services.actors import Actor
from trace.services.inspection import audit_report, checkpoints, desk, finder, ledger_jobs
from trace.services.jobs import get_job

DEPTHS = (1, 2, 3, 8)
SCRIPT = Path(__file__).with_name("find.js")


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/find", "find", find, methods=["GET"])
    bp.add_url_rule("/find.js", "find_script", find_script, methods=["GET"])
    bp.add_url_rule("/batches/<int:batch_id>/audit", "audit", audit, methods=["GET"])
    bp.add_url_rule("/batches/<int:batch_id>/audit/print", "audit_print", audit_print,
                    methods=["GET"])  # fmt: skip
    bp.add_url_rule("/ledger", "ledger", ledger_page, methods=["GET"])
    bp.add_url_rule("/ledger/verify", "ledger_verify", ledger_verify, methods=["POST"])


def desk_actor() -> Actor:
    """The signed-in user, who must be one the inspector's desk serves (recalls use it too)."""
    actor = auth.current_actor()
    finder.may_use(actor)
    return actor


def hit_url(hit: finder.Hit) -> str:
    if hit.kind == "batch":
        return url_for("console.audit", batch_id=hit.id)
    if hit.kind == "product":
        return url_for("console.products", q=hit.title)
    return url_for("console.organisation", org_id=hit.id)


@auth.signed_in
def find() -> BaseResponse:
    actor = desk_actor()
    found = finder.find(db.session, actor, request.args.get("q", "")[: finder.MAX_QUERY * 2])
    single = found.single
    if single is not None:
        return redirect(hit_url(single), 303)
    return render("console/inspector/find.html", found=found, hit_url=hit_url,
                  province_name=province_name)  # fmt: skip


@auth.signed_in
def find_script() -> Response:
    """The camera scanner: progressive enhancement of the search form, where the browser has
    its own ``BarcodeDetector`` (a file served here: no external script)."""
    desk_actor()
    return Response(SCRIPT.read_text(encoding="utf-8"), mimetype="text/javascript")


def _depth() -> int:
    asked = request.args.get("depth", "")
    return int(asked) if asked.isdigit() and int(asked) in DEPTHS else 2


def _late_hours() -> float:
    return float(current_app.config["LATE_ENTRY_HOURS"])


@auth.signed_in
def audit(batch_id: int) -> Response:
    actor = desk_actor()
    session = db.session
    report = audit_report.batch_audit(session, actor, batch_id, _late_hours())
    depth = _depth()
    graph = audit_report.genealogy_graph(session, batch_id, depth, reader=actor)
    return render(
        "console/inspector/audit.html",
        audit=report,
        graph=graph,
        svg=graph_layout,
        depth=depth,
        depths=DEPTHS,
        recorders=desk.recorders(session, [a.event.id for a in report.events]),
        province_name=province_name,
        public_url=public_url(),
    )


@auth.signed_in
def audit_print(batch_id: int) -> Response:
    """The printable audit report (the API's ``?format=html`` page), print-styled: the
    browser's print dialog saves it as PDF."""
    actor = desk_actor()
    report = audit_report.batch_audit(db.session, actor, batch_id, _late_hours())
    graph = audit_report.genealogy_graph(db.session, batch_id, _depth(), reader=actor)
    return render("inspection/audit.html", audit=report, graph=graph, svg=graph_layout,
                  generated_at=report.generated_at, province_name=province_name)  # fmt: skip


def _signed_head() -> checkpoints.Checkpoint | None:
    try:
        key = checkpoints.load_signing_key(current_app.config, current_app.instance_path)
    except checkpoints.SigningKeyError:
        return None
    return checkpoints.current(db.session, key)


def _ledger_check(job: Job | None) -> dict[str, Any] | None:
    """The verdict of a finished check, from its result file."""
    if job is None or job.status != JobStatus.DONE or not job.result_file:
        return None
    path = results_dir(current_app) / job.result_file
    return ledger_jobs.verdict(path.read_bytes()) if path.is_file() else None


@auth.signed_in
def ledger_page() -> Response:
    actor = desk_actor()
    asked = request.args.get("check", "")
    job = (
        get_job(db.session, actor, int(asked))
        if asked.isdigit() and len(asked) < 12
        else ledger_jobs.latest(db.session, actor)
    )
    if job is not None and job.kind != ledger_jobs.JOB_KIND:
        job = None
    working = job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    return render(
        "console/inspector/ledger.html",
        state=desk.ledger_state(db.session),
        signed=_signed_head(),
        job=job,
        working=working,
        result=_ledger_check(job),
        public_url=public_url(),
    )


@auth.signed_in
def ledger_verify() -> BaseResponse:
    """Queue a check of the whole chain (a read: nothing is written); the ledger page shows
    its progress, then the verdict with the first problem."""
    actor = desk_actor()
    with transaction(write=True) as session:
        job_id = ledger_jobs.start(session, actor).id
    return redirect(url_for("console.ledger", check=job_id) + "#verify", 303)
