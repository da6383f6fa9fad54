"""The job foundation on a real database: claims, leases, retries, recorded failures, two
workers at once, and the jobs API of print runs."""

from __future__ import annotations

import datetime as dt
import gc
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.db import db, write_intent
from trace.jobs import PermanentJobError, enqueue, job_kind, queue
from trace.jobs.worker import Worker, start_worker
from trace.models import Job, JobStatus, PrintRun

LEASE = 30.0
T0 = dt.datetime.now(dt.UTC)  # set by _clock for each test
SEEN: list[dict] = []


@pytest.fixture(autouse=True)
def _clock() -> None:
    """Claims look at a clock a minute ahead of the test's start: jobs queued now are due."""
    global T0
    T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)


@job_kind("tests.echo")
def _echo(ctx) -> None:
    SEEN.append(ctx.params)
    ctx.progress(1, 2)
    with ctx.result_file(".txt", "text/plain") as out:
        out.write(str(ctx.params).encode())


@job_kind("tests.broken", max_attempts=2)
def _broken(ctx) -> None:
    raise RuntimeError(f"broken on attempt {ctx.attempt}")


@job_kind("tests.refused")
def _refused(ctx) -> None:
    raise PermanentJobError("nothing to do: the subject is gone")


def _enqueue(session: Session, kind: str = "tests.echo", **params) -> int:
    session.rollback()
    job = enqueue(session, kind, params or {"n": 1})
    session.commit()
    return job.id


def _claim(app, worker: str, now: dt.datetime) -> int | None:
    with write_intent(), db.new_session(app) as own:
        job = queue.claim(own, worker, LEASE, now=now)
        own.commit()
        return job.id if job else None


def _job(session: Session, job_id: int) -> Job:
    session.rollback()
    return session.get(Job, job_id, populate_existing=True)


def test_a_started_worker_has_frozen_what_it_loaded(app) -> None:
    """The app and job kinds stay out of the collector's full collections (trace.collector)."""
    gc.unfreeze()
    try:
        worker = start_worker(app)
        assert queue.kind_of("tests.echo") is not None and not worker.stopping
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()  # the test process collects as before


def test_claims_take_due_jobs_oldest_first_and_only_once(app, session) -> None:
    first, second = _enqueue(session, n=1), _enqueue(session, n=2)
    later = _enqueue(session, n=3)
    job = _job(session, later)
    job.run_after = T0 + dt.timedelta(seconds=10)
    session.commit()
    assert _claim(app, "a", T0) == first
    assert _claim(app, "b", T0) == second
    assert _claim(app, "c", T0) is None  # the third is not due yet
    assert _claim(app, "c", T0 + dt.timedelta(seconds=11)) == later  # the others: leases held
    claimed = _job(session, first)
    assert claimed.status is JobStatus.RUNNING and claimed.locked_by == "a"
    assert claimed.attempts == 1 and claimed.lease_until == T0 + dt.timedelta(seconds=LEASE)


def test_a_job_whose_worker_died_is_taken_again_after_its_lease(app, session) -> None:
    job_id = _enqueue(session)
    assert _claim(app, "dead", T0) == job_id
    assert _claim(app, "other", T0 + dt.timedelta(seconds=LEASE - 1)) is None  # lease held
    assert _claim(app, "other", T0 + dt.timedelta(seconds=LEASE + 1)) == job_id
    job = _job(session, job_id)
    assert job.locked_by == "other" and job.attempts == 2
    # The first worker comes back: it holds nothing any more and cannot record an outcome.
    with write_intent(), db.new_session(app) as own:
        assert not queue.renew(own, job_id, "dead", LEASE)
        assert not queue.complete(own, job_id, "dead")
        assert queue.fail(own, job_id, "dead", "late", retry_seconds=0) is None
        own.commit()
    assert _job(session, job_id).status is JobStatus.RUNNING


def test_a_job_whose_worker_keeps_dying_fails_at_its_attempt_limit(app, session) -> None:
    job_id = _enqueue(session)
    now = T0
    for attempt in range(1, 4):
        assert _claim(app, f"w{attempt}", now) == job_id
        now += dt.timedelta(seconds=LEASE + 1)
    assert _claim(app, "w4", now) is None
    job = _job(session, job_id)
    assert job.status is JobStatus.FAILED and job.attempts == 3
    assert "stopped without finishing" in (job.error or "") and job.finished_at == now


def test_errors_are_retried_later_then_recorded_as_failed(app, session) -> None:
    app.config["JOB_RETRY_SECONDS"] = 0
    try:
        job_id = _enqueue(session, "tests.broken")
        assert Worker(app).run(once=True) == 1
        job = _job(session, job_id)
        assert job.status is JobStatus.QUEUED and job.attempts == 1
        assert job.error.startswith("RuntimeError: broken on attempt 1")
        assert Worker(app).run(burst=True) == 1
        job = _job(session, job_id)
        assert job.status is JobStatus.FAILED and job.attempts == 2
        assert "broken on attempt 2" in job.error and job.finished_at is not None
    finally:
        app.config["JOB_RETRY_SECONDS"] = 10


def test_a_failed_jobs_record_has_no_traceback_which_the_log_keeps(app, session, caplog) -> None:
    """The job's record is read through the API and the console by whoever asked for the job:
    it says what went wrong in one line; the frames (paths, source lines) are for the log."""
    app.config["JOB_RETRY_SECONDS"] = 0
    try:
        job_id = _enqueue(session, "tests.broken")
        with caplog.at_level("WARNING", logger="trace.jobs.worker"):
            assert Worker(app).run(once=True) == 1
        job = _job(session, job_id)
        assert job.error == "RuntimeError: broken on attempt 1"
        logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
        assert "Traceback" in caplog.text and "_broken" in caplog.text, logged
    finally:
        app.config["JOB_RETRY_SECONDS"] = 10


def test_retries_wait_longer_each_time(app, session) -> None:
    job_id = _enqueue(session, "tests.broken")
    assert _claim(app, "w", T0) == job_id
    with write_intent(), db.new_session(app) as own:
        status = queue.fail(own, job_id, "w", "boom", retry_seconds=10, now=T0)
        own.commit()
    assert status is JobStatus.QUEUED
    assert _job(session, job_id).run_after == T0 + dt.timedelta(seconds=10)
    assert _claim(app, "w", T0 + dt.timedelta(seconds=9)) is None
    assert _claim(app, "w", T0 + dt.timedelta(seconds=11)) == job_id
    with write_intent(), db.new_session(app) as own:
        queue.fail(own, job_id, "w", "boom", retry_seconds=10, now=T0)
        own.commit()
    job = _job(session, job_id)
    assert job.status is JobStatus.FAILED  # tests.broken allows two attempts


def test_a_permanent_error_fails_at_once(app, session) -> None:
    job_id = _enqueue(session, "tests.refused")
    Worker(app).run(burst=True)
    job = _job(session, job_id)
    assert job.status is JobStatus.FAILED and job.attempts == 1
    assert job.error == "nothing to do: the subject is gone"


def test_the_worker_records_progress_and_result(app, session) -> None:
    SEEN.clear()
    job_id = _enqueue(session, n=7)
    assert Worker(app).run(burst=True) == 1
    assert SEEN == [{"n": 7}]
    job = _job(session, job_id)
    assert job.status is JobStatus.DONE and job.error is None
    assert (job.progress_done, job.progress_total) == (2, 2)
    path = queue.results_dir(app) / job.result_file
    assert path.read_text() == "{'n': 7}" and job.result_size == path.stat().st_size
    assert job.result_type == "text/plain" and job.locked_by is None


def test_a_stopping_worker_puts_its_job_back(app, session) -> None:
    job_id = _enqueue(session)
    files_before = set(queue.results_dir(app).glob("*"))
    worker = Worker(app)
    worker.stop()  # as SIGTERM does: the job is interrupted at its first progress report
    claimed = worker._claim()
    assert claimed is not None and claimed.id == job_id
    worker._process(claimed)
    job = _job(session, job_id)
    assert job.status is JobStatus.QUEUED and job.attempts == 0 and job.locked_by is None
    assert set(queue.results_dir(app).glob("*")) == files_before  # nothing half-written
    assert Worker(app).run(burst=True) == 1
    assert _job(session, job_id).status is JobStatus.DONE


@pytest.mark.committed  # workers on connections of their own
@pytest.mark.parametrize("seed", [20261130])
def test_concurrent_workers_never_claim_the_same_job(app, session, seed) -> None:
    """Four workers claim at once (SKIP LOCKED on PostgreSQL, the write lock on SQLite): every
    job is taken exactly once."""
    ids = {_enqueue(session, n=i) for i in range(40)}
    claims: dict[str, list[int]] = {f"w{i}": [] for i in range(4)}
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            start.wait()
            while (job_id := _claim(app, name, T0)) is not None:
                claims[name].append(job_id)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(name,)) for name in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    taken = [job_id for got in claims.values() for job_id in got]
    assert sorted(taken) == sorted(ids)  # all, none twice
    session.rollback()
    owners = dict(session.execute(select(Job.id, Job.locked_by)).all())
    assert all(owners[job_id] == name for name, got in claims.items() for job_id in got)


# The print runs' render jobs through the API ----------------------------------------------


@pytest.fixture
def world(build, actor_headers) -> dict:
    org = build.organization(province_code="24")
    neighbour = build.organization(province_code="24")
    batch = build.batch(build.product(org))
    return {"batch": batch, "headers": actor_headers(org, neighbour)}


def _print_run(client, world, count: int = 3) -> dict:
    response = client.post(
        f"/api/v1/batches/{world['batch'].id}/print-runs",
        json={"count": count, "template": "a4-3x8-70x37", "serialised": True},
        headers=world["headers"]["producer-own"],
    )
    assert response.status_code == 201, response.json
    return response.json


def test_a_print_run_is_created_with_its_render_job(client, world, session, count) -> None:
    run = _print_run(client, world)
    session.rollback()
    job = session.scalars(select(Job)).one()
    assert (job.kind, job.subject_type, job.subject_id) == ("labels.render", "print_run", run["id"])
    assert job.status is JobStatus.QUEUED and job.params == {"print_run_id": run["id"]}
    bad = client.post(
        f"/api/v1/batches/{world['batch'].id}/print-runs",
        json={"count": 0, "template": "a4-3x8-70x37"},
        headers=world["headers"]["producer-own"],
    )
    assert bad.status_code == 422
    assert count(Job) == 1 and count(PrintRun) == 1  # a refused run queues nothing


@pytest.mark.parametrize(
    ("actor", "expected"),
    [("admin", 200), ("centre-own", 200), ("producer-own", 200), ("centre-foreign", 403),
     ("producer-foreign", 403), ("inspector", 403), ("anonymous", 401)],
)  # fmt: skip
def test_a_job_is_read_by_whoever_may_print_its_run(client, world, actor, expected) -> None:
    run = _print_run(client, world)
    pending = client.get(run["links"]["labels_pdf"], headers=world["headers"]["admin"])
    assert pending.status_code == 202
    job_url = pending.headers["Location"]
    assert job_url == pending.json["links"]["self"]
    response = client.get(job_url, headers=world["headers"][actor])
    assert response.status_code == expected, response.json
    if expected == 200:
        assert response.json["subject"] == {"type": "print_run", "id": run["id"]}
        assert response.json["links"]["result"] == run["links"]["labels_pdf"]
    else:
        assert response.mimetype == "application/problem+json"
    assert client.get("/api/v1/jobs/999999", headers=world["headers"]["admin"]).status_code == 404


def test_pdf_answers_progress_then_the_file(app, client, world) -> None:
    run = _print_run(client, world, count=50)
    headers = world["headers"]["producer-own"]
    pending = client.get(run["links"]["labels_pdf"], headers=headers)
    assert pending.status_code == 202 and pending.headers["Retry-After"] == "2"
    body = pending.json
    assert body["status"] == "queued" and body["progress"] == {"done": 0, "total": None}
    assert body["kind"] == "labels.render" and body["attempts"] == 0
    Worker(app).run(burst=True)
    job = client.get(pending.headers["Location"], headers=headers).json
    assert job["status"] == "done" and job["progress"] == {"done": 50, "total": 50}
    pdf = client.get(run["links"]["labels_pdf"], headers=headers)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert int(pdf.headers["Content-Length"]) == len(pdf.data)


def test_a_failed_render_is_a_clear_error(app, client, world, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the results folder should be")
    app.config.update(JOB_RESULTS_DIR=str(blocker / "results"), JOB_RETRY_SECONDS=0)
    try:
        run = _print_run(client, world)
        assert Worker(app).run(burst=True) == 3  # three attempts, no delay between them
        failed = client.get(run["links"]["labels_pdf"], headers=world["headers"]["producer-own"])
    finally:
        app.config.update(JOB_RESULTS_DIR=None, JOB_RETRY_SECONDS=10)
    assert failed.status_code == 409 and failed.mimetype == "application/problem+json"
    assert "Rendering the labels of print run" in failed.json["detail"]
    assert "Error" in failed.json["detail"] and failed.json["job_id"]


def test_a_lost_result_file_is_rendered_again(app, client, world, session) -> None:
    run = _print_run(client, world)
    headers = world["headers"]["producer-own"]
    Worker(app).run(burst=True)
    session.rollback()
    job = session.scalars(select(Job)).one()
    (queue.results_dir(app) / job.result_file).unlink()
    again = client.get(run["links"]["labels_pdf"], headers=headers)
    assert again.status_code == 202 and again.json["id"] != job.id
    Worker(app).run(burst=True)
    assert client.get(run["links"]["labels_pdf"], headers=headers).status_code == 200


def test_a_run_voided_before_rendering_fails_its_job_for_good(app, client, world, session):
    run = _print_run(client, world)
    headers = world["headers"]["producer-own"]
    voided = client.post(f"/api/v1/print-runs/{run['id']}/void", json={"reason": "sai lô"},
                         headers=headers)  # fmt: skip
    assert voided.status_code == 200
    Worker(app).run(burst=True)
    session.rollback()
    job = session.scalars(select(Job)).one()
    assert job.status is JobStatus.FAILED and job.attempts == 1 and "voided" in job.error
    assert client.get(run["links"]["labels_pdf"], headers=headers).status_code == 409


def test_a_recurring_job_is_queued_at_start_and_again_after_each_run(app, session, build) -> None:
    """The ledger verifier: a serving worker queues it when none is pending; once run (every
    batch checked), its next run is queued an interval later, and only one is ever pending."""
    from trace.codeview.ledgercheck import JOB_KIND
    from trace.models import BatchCheck

    queue.load_kinds()
    batch = build.batch(build.product(build.organization()))
    session.rollback()
    with write_intent():
        first = queue.schedule_recurring(session, app, wait=False)
        again = queue.schedule_recurring(session, app, wait=False)
        session.commit()
    # the verifier and the dashboard's rollups (trace.services.dashboard), in the order their
    # modules were imported
    assert sorted(j.kind for j in first) == ["dashboard_rollup", JOB_KIND] and again == []
    worker = Worker(app)
    assert worker.run(once=True) + worker.run(once=True) == 2  # both, each once
    session.rollback()
    session.expire_all()  # the jobs queued above are in this session's identity map
    assert session.get(BatchCheck, batch.id) is not None
    jobs = session.scalars(select(Job).where(Job.kind == JOB_KIND).order_by(Job.id)).all()
    assert [j.status for j in jobs] == [JobStatus.DONE, JobStatus.QUEUED]
    interval = dt.timedelta(seconds=float(app.config["PUBLIC_VERIFY_SECONDS"]))
    assert jobs[1].run_after - jobs[0].finished_at >= interval - dt.timedelta(seconds=1)
