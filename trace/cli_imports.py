"""``flask --app wsgi import KIND FILE [--dry-run]``: a spreadsheet import from the shell."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from trace import collector
from trace.api.imports import columns, engine
from trace.db import transaction
from trace.models import Role
from trace.services.actors import Actor
from trace.services.errors import ServiceError

CLI_ACTOR = Actor(role=Role.ADMIN, label="cli import")


@click.command("import")
@click.argument("kind", type=click.Choice(columns.KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate everything and write nothing.")
@with_appcontext
def import_command(kind: str, file: Path, dry_run: bool) -> None:
    """Import organisations, facilities, products, batches or stage events from a CSV or XLSX
    file: all rows or none. Exits 1 listing every row error."""
    content = file.read_bytes()
    collector.freeze_startup_objects()  # the app, loaded, lives as long as the command
    public_url = str(current_app.config["PUBLIC_URL"])
    label = f"{kind} from {file.name}"
    with click.progressbar(length=1, label=label, file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        try:
            with (
                collector.young_threshold(collector.IMPORT_YOUNG_THRESHOLD),
                transaction(write=True) as session,
            ):
                if dry_run:
                    report = engine.preview(session, CLI_ACTOR, kind, file.name, content,
                                            public_url, progress)  # fmt: skip
                else:
                    record = engine.new_record(session, CLI_ACTOR, kind, file.name, content, 0)
                    report = engine.execute(session, record, public_url, progress)
        except engine.ImportRejected as rejected:
            report = rejected.report
        except ServiceError as refused:
            raise click.ClickException(refused.detail) from None
        bar.update(bar.length or 1)
    counts = report.summary()
    click.echo(
        f"{'Preview' if dry_run else 'Import'} of {counts['rows']} rows: {counts['created']} "
        f"created, {counts['updated']} updated, {counts['unchanged']} unchanged"
        + (f"; import {record.id}" if not dry_run and report.ok else "")
    )
    if not report.ok:
        for error in report.errors:
            where = f"row {error.row}" + (f", column {error.column}" if error.column else "")
            click.echo(f"{where}: {error.message}", err=True)
        click.echo(f"{len(report.errors)} error(s): nothing was written.", err=True)
        raise SystemExit(1)
