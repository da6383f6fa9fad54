"""The job foundation: work that outlives a request, as rows of the application database.

* :func:`enqueue` adds a job in the caller's transaction, so a job exists exactly when the
  change that needs it was committed (a print run and its render job, together or not at all).
* A worker process (``flask --app wsgi worker``, :mod:`trace.jobs.worker`) claims the oldest due
  job — ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, under the write lock on SQLite — and
  holds it under a lease it renews while it reports progress. A job whose worker died is claimed
  again when its lease has run out; a job that raised is retried later, up to its attempt limit,
  and the error is recorded.
* Job kinds register a handler (and who may read their jobs) with :func:`job_kind`.
* A result file is written to a folder every node can read (``TRACE_JOB_RESULTS_DIR``).
"""

from trace.jobs.queue import (
    JobContext,
    JobInterrupted,
    JobLost,
    PermanentJobError,
    enqueue,
    job_kind,
    latest_job,
    results_dir,
)

__all__ = [
    "JobContext",
    "JobInterrupted",
    "JobLost",
    "PermanentJobError",
    "enqueue",
    "job_kind",
    "latest_job",
    "results_dir",
]
