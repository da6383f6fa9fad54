"""Commands: ``flask --app wsgi <command>``."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError

from trace.db import db, transaction
from trace.models import Organization, OrganizationKind, Role
from trace.services.actors import SYSTEM
from trace.services.errors import ServiceError

F = TypeVar("F", bound=Callable[..., Any])
OPENAPI_FILE = Path(__file__).resolve().parent.parent / "schemas" / "openapi.json"


def init_app(app: Flask) -> None:
    app.cli.add_command(init_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(token_group)
    app.cli.add_command(user_group)
    app.cli.add_command(openapi_command)
    app.cli.add_command(verify_command)
    app.cli.add_command(ledger_group)
    app.cli.add_command(audit_group)

    from trace.cli_labels import labels_group

    app.cli.add_command(labels_group)

    from trace.cli_portal import portal_group

    app.cli.add_command(portal_group)

    from trace.codeview.store import prepare_command
    from trace.jobs.cli import worker_command

    app.cli.add_command(prepare_command)

    app.cli.add_command(worker_command)

    from trace.cli_imports import import_command

    app.cli.add_command(import_command)


def explain_missing_schema(app: Flask) -> None:
    """Every command that meets a database without its tables says what to do instead of
    printing SQLAlchemy's traceback (called once all commands are registered)."""

    def guard(command: click.Command) -> None:
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                guard(sub)
        elif command.callback is not None and command.name != "init":
            command.callback = _schema_explained(command.callback)

    for command in app.cli.commands.values():
        guard(command)


def _schema_explained(callback: F) -> F:
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except DBAPIError as error:
            if not _missing_table(error):
                raise
            url = make_url(current_app.config["DATABASE_URL"]).render_as_string(hide_password=True)
            raise click.ClickException(
                f"The database {url} has no Trace tables yet (or an older schema): "
                "run `flask --app wsgi init` first."
            ) from None

    return run  # type: ignore[return-value]


def _missing_table(error: DBAPIError) -> bool:
    text = str(error.orig).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


def _fail(error: ServiceError) -> click.ClickException:
    details = "; ".join(f"{e.pointer}: {e.message}" for e in error.errors)
    return click.ClickException(f"{error.detail}{' (' + details + ')' if details else ''}")


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create the database schema, or upgrade it to the latest version."""
    from trace import migrate

    migrate.upgrade(db.engine)
    click.echo(f"Database ready: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for scripts.")
@with_appcontext
def demo_command(as_json: bool) -> None:
    """Load the demo data (idempotent); print a token per role and public page URLs."""
    from trace import migrate
    from trace.demo import load_demo, load_demo_accounts
    from trace.services.registry.tokens import create_token

    migrate.upgrade(db.engine)
    try:
        with transaction(write=True) as session:
            ids = load_demo(session, current_app.config["PUBLIC_URL"])
            producer_org = session.get(
                Organization, ids.organizations[_first_producer(session, ids)]
            )
            centre_province = producer_org.province_code if producer_org else None
            tokens = {
                "admin": create_token(session, SYSTEM, role=Role.ADMIN, name="demo admin")[1],
                "centre": create_token(
                    session,
                    SYSTEM,
                    role=Role.CENTRE,
                    province_code=centre_province,
                    name="demo centre",
                )[1],
                "producer": create_token(
                    session,
                    SYSTEM,
                    role=Role.PRODUCER,
                    organization_id=producer_org.id if producer_org else None,
                    name="demo producer",
                )[1],
                "inspector": create_token(
                    session, SYSTEM, role=Role.INSPECTOR, name="demo inspector"
                )[1],
            }
            urls = demo_urls(current_app, session, ids)
            accounts = (
                load_demo_accounts(session, producer_org, password_cost(current_app))
                if producer_org is not None
                else {}
            )
    except ServiceError as error:
        raise _fail(error) from None
    public_url = current_app.config["PUBLIC_URL"]
    console_url = f"{public_url}/console/sign-in"
    if as_json:
        click.echo(
            json.dumps(
                {
                    "tokens": tokens,
                    "public_url": public_url,
                    "urls": urls,
                    "accounts": accounts,
                    "console_url": console_url,
                },
                ensure_ascii=False,
            )
        )
        return
    click.echo("Demo data loaded.")
    click.echo(f"Console (sign in on a phone or a PC): {console_url}")
    for role, account in accounts.items():
        click.echo(f"  {role:<9} {account['login']:<24} password: {account['password']}")
    click.echo("API tokens (Authorization: Bearer …):")
    for role, secret in tokens.items():
        click.echo(f"  {role:<9} token: {secret}")
    click.echo(f"Public URL (TRACE_PUBLIC_URL): {public_url}")
    click.echo("  the address QR codes and these links carry; set TRACE_PUBLIC_URL to the address")
    click.echo("  phones reach this service at (it must stay valid as long as labels exist).")
    click.echo("Public pages:")
    for url in urls:
        click.echo(f"  {url}")


def password_cost(app: Flask) -> Any:
    """The argon2 cost the settings ask for (``TRACE_PASSWORD_TIME_COST``, ``…_MEMORY_KIB``)."""
    from trace.services.accounts.passwords import Cost

    return Cost(int(app.config["PASSWORD_TIME_COST"]), int(app.config["PASSWORD_MEMORY_KIB"]))


def _first_producer(session, ids) -> str:
    producer_kinds = {OrganizationKind.COOPERATIVE, OrganizationKind.PRODUCER}
    for ref, org_id in ids.organizations.items():
        org = session.get(Organization, org_id)
        if org is not None and org.kind in producer_kinds:
            return ref
    raise click.ClickException("the demo data has no producer")


def demo_urls(app: Flask, session, ids, limit: int = 4) -> list[str]:
    """Public pages of a few demo batches: ``/q/<code>`` of each batch-level code, and the
    Digital Link when the product has a GTIN."""
    from trace.models import Batch, CodeKind
    from trace.services.labels.issuance import code_uri, issue_batch_code

    base = app.config["PUBLIC_URL"]
    urls: list[str] = []
    for batch_id in list(ids.batches.values())[:limit]:
        batch = session.get(Batch, batch_id)
        code = issue_batch_code(session, batch)  # the batch's code; issued if it predates codes
        urls.append(f"{base}/q/{code.code}")
        if batch.product.gtin:
            urls.append(code_uri(base, batch, code.code, CodeKind.BATCH))
    return urls


@click.group("token")
def token_group() -> None:
    """Manage API tokens."""


@token_group.command("create")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--org", "organization_id", type=int, help="Organisation the token acts for.")
@click.option("--province", "province_code", help="Province of a centre token (2-digit code).")
@click.option("--name", default="", help="A label to recognise the token by.")
@with_appcontext
def token_create(
    role: str, organization_id: int | None, province_code: str | None, name: str
) -> None:
    """Create a token and print it (it is shown only this once)."""
    from trace.services.registry.tokens import create_token

    try:
        with transaction(write=True) as session:
            _, secret = create_token(
                session,
                SYSTEM,
                role=Role(role),
                organization_id=organization_id,
                province_code=province_code,
                name=name,
            )
    except ServiceError as error:
        raise _fail(error) from None
    click.echo(secret)


@click.group("user")
def user_group() -> None:
    """Manage console accounts."""


@user_group.command("create")
@click.option("--email", help="Sign-in email address.")
@click.option("--phone", help="Sign-in phone number.")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--org", "organization_id", type=int, help="Organisation the person belongs to.")
@click.option("--province", "province_code", help="Province of a centre user (2-digit code).")
@click.option("--name", default="", help="The person's name, as the console shows it.")
@click.option("--language", type=click.Choice(["vi", "en"]), default="vi")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@with_appcontext
def user_create(
    email: str | None,
    phone: str | None,
    role: str,
    organization_id: int | None,
    province_code: str | None,
    name: str,
    language: str,
    password_stdin: bool,
) -> None:
    """Create a console account (the first admin, or for scripts); asks for the password."""
    import sys

    from trace.services.accounts import passwords, users

    if bool(email) == bool(phone):
        raise click.UsageError("give one of --email or --phone")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = passwords.problem(password)
    if problem:
        raise click.ClickException(f"the password is not usable: {problem}")
    hashed = passwords.hash_password(password, password_cost(current_app))
    try:
        with transaction(write=True) as session:
            user = users.create_user(
                session,
                SYSTEM,
                role=Role(role),
                email=email,
                phone=phone,
                organization_id=organization_id,
                province_code=province_code,
                name=name,
                password_hash=hashed,
                language=language,
            )
            login = user.login
    except ServiceError as error:
        raise _fail(error) from None
    click.echo(f"Account {login} ({role}) created; sign in at {_console_url()}")


def _console_url() -> str:
    return f"{current_app.config['PUBLIC_URL']}/console/sign-in"


@click.command("openapi")
@click.option("--check", is_flag=True, help="Fail when schemas/openapi.json is out of date.")
@with_appcontext
def openapi_command(check: bool) -> None:
    """Write the OpenAPI document to schemas/openapi.json."""
    from trace.api import spec_json

    text = spec_json(current_app)
    if check:
        if not OPENAPI_FILE.exists() or OPENAPI_FILE.read_text(encoding="utf-8") != text:
            raise click.ClickException("schemas/openapi.json is out of date: run `flask openapi`")
        click.echo("schemas/openapi.json is up to date")
        return
    OPENAPI_FILE.write_text(text, encoding="utf-8")
    click.echo(f"wrote {OPENAPI_FILE}")


@click.command("verify")
@with_appcontext
def verify_command() -> None:
    """Recompute the event ledger; exit 1 naming the first broken entry."""
    from trace.services.events.ledger import verify

    result = verify(db.session)
    if result.ok:
        click.echo(
            f"Ledger intact: {result.entries} entries, head {result.head_seq} "
            f"{result.head_chain_hash}"
        )
        return
    finding = result.finding
    assert finding is not None
    for other in result.findings[1:]:
        click.echo(f"entry {other.seq} ({other.kind}, {other.column or '-'}): {other.message}",
                   err=True)  # fmt: skip
    where = f"{finding.kind}, {finding.column}" if finding.column else finding.kind
    count = result.mismatched_entries
    raise click.ClickException(f"Ledger broken at entry {finding.seq} ({where}): "
                               f"{finding.message} [{count} {'entry' if count == 1 else 'entries'}"
                               " with findings]")  # fmt: skip


@click.group("ledger")
def ledger_group() -> None:
    """Verify the event ledger and sign checkpoints of it."""


@ledger_group.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A checkpoint (JSON, as GET /ledger/checkpoint gives) the history must extend.",
)
@with_appcontext
def ledger_verify(checkpoint_file: str | None) -> None:
    """Recompute the ledger; with --checkpoint, check today's history extends it unchanged.

    Exits 1 naming the first entry that was altered, deleted, inserted or reordered.
    """
    from trace.models import LedgerHead
    from trace.services.events.ledger import GENESIS, HEAD_ID
    from trace.services.inspection import checkpoints

    if checkpoint_file is None:
        click.get_current_context().invoke(verify_command)
        return
    try:
        held = checkpoints.parse(json.loads(Path(checkpoint_file).read_text(encoding="utf-8")))
    except (ValueError, ServiceError) as error:
        detail = _fail(error).message if isinstance(error, ServiceError) else str(error)
        raise click.ClickException(f"{checkpoint_file} is not a checkpoint: {detail}") from None
    trusted: bytes | None = None
    try:
        key = checkpoints.load_signing_key(current_app.config, current_app.instance_path)
        trusted = checkpoints.raw_public_key(key.public_key())
    except checkpoints.SigningKeyError as error:
        click.echo(f"warning: {error}; trusting the key named in the checkpoint", err=True)
    result = checkpoints.check_against_history(db.session, held, trusted)
    if not result.ok:
        raise click.ClickException(f"Checkpoint {held.seq} not extended: {result.message}")
    # check_against_history verified the whole ledger (a second walk would double the time):
    # intact, it has as many entries as its head says.
    head = db.session.get(LedgerHead, HEAD_ID)
    seq, chain_hash = (head.seq, head.chain_hash) if head else (0, GENESIS)
    click.echo(f"Ledger intact: {seq} entries, head {seq} {chain_hash}; {result.message}")


@ledger_group.command("checkpoint")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the checkpoint (JSON) to this file.",
)
@with_appcontext
def ledger_checkpoint(output: str | None) -> None:
    """Sign the ledger head with the service's key, keep it and print it (JSON)."""
    from trace.services.inspection import checkpoints

    key = checkpoints.load_signing_key(current_app.config, current_app.instance_path)
    with transaction(write=True) as session:
        checkpoint, _ = checkpoints.store(session, key)
    text = json.dumps(checkpoint.as_dict(), indent=2, ensure_ascii=False)
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
    click.echo(text)


@ledger_group.command("keygen")
@click.argument("path", type=click.Path(dir_okay=False))
def ledger_keygen(path: str) -> None:
    """Write a new Ed25519 signing key (PEM, mode 0600) for TRACE_SIGNING_KEY_FILE."""
    from trace.services.inspection import checkpoints

    if not checkpoints.generate_key_file(Path(path)):
        raise click.ClickException(f"{path} exists already; it was left as it is")
    click.echo(f"wrote {path}")


@click.group("audit")
def audit_group() -> None:
    """Review stored data against today's rules."""


@audit_group.command("custody")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for scripts.")
@with_appcontext
def audit_custody(as_json: bool) -> None:
    """List stored events the write rule refuses today: receipts of lots nobody shipped to the
    receiver, events riding on such custody, and error declarations by another organisation or
    not repeating the event they name. Nothing is changed; an inspector reviews the list."""
    from dataclasses import asdict

    from trace.services.events import custody

    findings = custody.audit(db.session)
    db.session.rollback()
    if as_json:
        click.echo(json.dumps({"findings": [asdict(f) for f in findings]}, ensure_ascii=False))
        return
    for f in findings:
        batches = ",".join(map(str, f.batch_ids)) or "-"
        click.echo(f"seq {f.seq}\t{f.kind}\t{f.recorded_by}\tbatches {batches}\t{f.event_id}")
        click.echo(f"\t{f.reason}")
    click.echo(f"{len(findings)} stored event(s) the rules would refuse.")
