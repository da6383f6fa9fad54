"""``flask --app wsgi portal …``: send the outbox to the national traceability portal."""

from __future__ import annotations

import logging
import signal
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from trace.db import transaction
from trace.models import Batch, Organization, PortalKind, PortalRecord, Product
from trace.services import outbox
from trace.services.portal.sync import PortalSync


@click.group("portal")
def portal_group() -> None:
    """The national traceability portal (truyxuatnguongoc.gov.vn)."""


@portal_group.command("sync")
@click.option("--watch", is_flag=True, help="Keep sending as records change, until SIGTERM.")
@with_appcontext
def sync_command(watch: bool) -> None:
    """Send the records due (pending, or retrying whose time has come) to TRACE_PORTAL_URL.

    One-shot by default: exits when nothing is due. On SIGTERM or SIGINT the records in flight
    are finished and recorded before it exits.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s portal %(message)s")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        sync = PortalSync(app)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None

    def stop(_signum: int, _frame: Any) -> None:
        sync.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    stats = sync.run(watch=watch)
    outcomes = ", ".join(f"{n} {status}" for status, n in sorted(stats.outcomes.items()))
    click.echo(
        f"portal sync: {stats.claimed} records sent ({outcomes or 'none due'}); "
        f"{stats.repeated} sent again after an interrupted send",
        err=True,
    )


@portal_group.command("enqueue")
@with_appcontext
def enqueue_command() -> None:
    """Give every organisation, product and batch without an outbox record one (pending): the
    first sync of a registry that existed before the portal sync did."""
    models: list[tuple[PortalKind, Any, Any]] = [
        (PortalKind.ORGANIZATION, Organization, Organization.id),
        (PortalKind.PRODUCT, Product, Product.organization_id),
        (PortalKind.BATCH, Batch, Batch.producer_id),
    ]
    total = 0
    with transaction(write=True) as session:
        for kind, model, owner in models:
            known = select(PortalRecord.entity_id).where(PortalRecord.kind == kind)
            owners: dict[int, int] = dict(
                session.execute(select(model.id, owner).where(model.id.not_in(known))).all()
            )
            outbox.mark_changed(session, kind, owners)
            total += len(owners)
    click.echo(f"{total} records queued for the national portal")
