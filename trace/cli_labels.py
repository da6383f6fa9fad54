"""``flask --app wsgi labels ...``: print label sheets from the command line, as the system."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from trace.db import db, transaction
from trace.gs1.keys import GS1KeyError, normalize_gtin
from trace.labels.sheets import TEMPLATES
from trace.models import Batch, Product
from trace.services.actors import SYSTEM
from trace.services.errors import ServiceError
from trace.services.labels import issuance

GTIN_LENGTHS = (8, 12, 13, 14)


def _fail(error: ServiceError) -> click.ClickException:
    details = "; ".join(f"{e.pointer}: {e.message}" for e in error.errors)
    return click.ClickException(f"{error.detail}{' (' + details + ')' if details else ''}")


@click.group("labels")
def labels_group() -> None:
    """QR labels: print runs as PDF label sheets."""


def find_batch(session: Session, lot: str, product: str | None) -> Batch:
    """The batch with lot code ``lot``; ``product`` (an id or a GTIN) picks one when several
    products use the same lot code."""
    stmt = select(Batch).join(Product, Batch.product_id == Product.id)
    stmt = stmt.where(Batch.lot_code == lot)
    if product is not None:
        value = product.strip()
        if value.isdigit() and len(value) in GTIN_LENGTHS:
            try:
                stmt = stmt.where(Product.gtin == normalize_gtin(value))
            except GS1KeyError as error:
                raise click.BadParameter(str(error), param_hint="--product") from None
        elif value.isdigit():
            stmt = stmt.where(Product.id == int(value))
        else:
            raise click.BadParameter("give a product id or a GTIN", param_hint="--product")
    batches = session.scalars(stmt.order_by(Batch.id)).all()
    if not batches:
        which = f" of product {product}" if product is not None else ""
        raise click.ClickException(f"There is no batch with lot code {lot!r}{which}.")
    if len(batches) > 1:
        choices = "; ".join(
            f"product {b.product_id} ({b.product.name_vi}"
            f"{', GTIN ' + b.product.gtin if b.product.gtin else ''})"
            for b in batches
        )
        raise click.ClickException(
            f"Lot code {lot!r} is used by {len(batches)} products: {choices}. "
            "Say which with --product <id or GTIN>."
        )
    return batches[0]


@labels_group.command("print")
@click.option("--batch", "lot", required=True, help="Lot code of the batch.")
@click.option("--product", help="Product id or GTIN, when several products use the lot code.")
@click.option(
    "--count", type=click.IntRange(1, issuance.MAX_RUN_COUNT), required=True, help="Labels."
)
@click.option(
    "--template",
    type=click.Choice(issuance.TEMPLATE_NAMES),
    default=next(iter(TEMPLATES)),
    show_default=True,
)
@click.option(
    "--layout",
    help='Custom sheet as JSON, e.g. \'{"rows": 10, "cols": 4, "label_w_mm": 48, '
    '"label_h_mm": 25}\' (with --template custom).',
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="The PDF file to write.",
)
@click.option(
    "--unserialised", is_flag=True, help="Print copies of the batch-level code, no unit codes."
)
@click.option("--cut-marks", is_flag=True, help="Draw crop marks in the page margins.")
@click.option("--ec", type=click.Choice(issuance.EC_LEVELS), default="M", show_default=True)
@with_appcontext
def print_command(
    lot: str,
    product: str | None,
    count: int,
    template: str,
    layout: str | None,
    out: Path,
    unserialised: bool,
    cut_marks: bool,
    ec: str,
) -> None:
    """Create a print run for a batch and write its label sheets to a PDF file."""
    try:
        layout_data = json.loads(layout) if layout else None
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not JSON: {error}", param_hint="--layout") from None
    if layout_data is not None and not isinstance(layout_data, dict):
        raise click.BadParameter("a JSON object is needed", param_hint="--layout")
    if (template == issuance.CUSTOM_TEMPLATE) != (layout_data is not None):
        raise click.BadParameter(
            f"goes with --template {issuance.CUSTOM_TEMPLATE}, and only with it",
            param_hint="--layout",
        )
    session = db.session
    # The run and its codes are committed first: rendering a large run takes a while and must
    # not hold the write lock; a failed rendering leaves a run that can be rendered again.
    try:
        with transaction(write=True, bind=session):
            batch = find_batch(session, lot, product)
            run = issuance.create_print_run(
                session,
                SYSTEM,
                batch.id,
                count=count,
                template=template,
                layout=layout_data,
                serialised=not unserialised,
                cut_marks=cut_marks,
                ec=ec,
                render_in_background=False,
            )
    except ServiceError as error:
        raise _fail(error) from None
    run_id = run.id
    public_url = str(current_app.config["PUBLIC_URL"])
    done = 0
    try:
        with (
            out.open("wb") as handle,
            click.progressbar(length=count, label=f"Print run {run_id}", file=None) as bar,
        ):

            def progress(written: int) -> None:
                nonlocal done
                bar.update(written - done)
                done = written

            # A single-threaded command: it may fork a pool for a large run (joined at the end).
            written = issuance.render_print_run(
                session, run, public_url, handle, progress=progress, workers=None
            )
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    with transaction(write=True, bind=session):
        issuance.mark_printed(session, SYSTEM, issuance.get_print_run(session, run_id))
    kind = "copies of batch code " + str(run.layout["batch_code"]) if unserialised else "codes"
    click.echo(
        f"Wrote {written} labels ({kind}) of print run {run_id} for lot {batch.lot_code} to {out}"
    )


@labels_group.command("issue-batch-codes")
@with_appcontext
def issue_batch_codes_command() -> None:
    """Give every batch without a batch-level code one (batches registered before codes)."""
    with transaction(write=True) as session:
        issued = issuance.issue_missing_batch_codes(session, SYSTEM)
    click.echo(f"Issued {issued} batch-level codes.")
