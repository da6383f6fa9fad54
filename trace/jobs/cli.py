"""``flask --app wsgi worker``: the process that runs background jobs beside the web server."""

from __future__ import annotations

import logging
import signal
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from trace.jobs.worker import start_worker


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit when no job is due instead of waiting.")
@click.option("--once", is_flag=True, help="Run at most one job, then exit.")
@with_appcontext
def worker_command(burst: bool, once: bool) -> None:
    """Run background jobs (label PDFs, …) until SIGTERM or SIGINT.

    A job running when the signal comes is stopped at its next progress report and queued
    again, so the next worker picks it up.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker = start_worker(app)

    def stop(_signum: int, _frame: Any) -> None:
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"worker {worker.worker_id} started", err=True)
    processed = worker.run(burst=burst, once=once)
    click.echo(f"worker {worker.worker_id} stopped after {processed} jobs", err=True)
