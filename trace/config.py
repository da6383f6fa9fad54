"""Settings read from ``TRACE_*`` environment variables, with safe defaults.

Nothing here touches the disk: the instance folder and the generated secret key are handled by
:func:`prepare_instance`, which the CLI and ``wsgi.py`` call, never the factory.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any

ENV_PREFIX = "TRACE_"
SECRET_KEY_FILE = "secret_key"


class ConfigError(RuntimeError):
    """The configuration cannot be used as given."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _typed(key: str, value: str) -> Any:
    """An environment string as the type of the setting's default (bool, int, float or text)."""
    default = DEFAULTS.get(key)
    if isinstance(default, bool):
        if value.strip().lower() not in _TRUE | _FALSE:
            raise ConfigError(f"TRACE_{key} must be true or false, not {value!r}")
        return value.strip().lower() in _TRUE
    if isinstance(default, int):
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"TRACE_{key} must be a whole number, not {value!r}") from None
    if isinstance(default, float):
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"TRACE_{key} must be a number, not {value!r}") from None
    return value


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Read ``TRACE_*`` variables into Flask config keys (``TRACE_X`` -> ``X``), typed like
    their defaults, so ``TRACE_DATABASE_PRE_PING=false`` is False, not the string."""
    environ = dict(os.environ if environ is None else environ)
    settings: dict[str, Any] = {}
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX):
            name = key[len(ENV_PREFIX) :]
            settings[name] = _typed(name, value)
    if "ENV" in settings:
        settings["ENV"] = settings["ENV"].lower()
    return settings


DEFAULTS: dict[str, Any] = {
    "ENV": "development",
    "DATABASE_URL": None,  # default: SQLite file in the instance folder
    "PUBLIC_URL": "http://localhost:5000",
    "SECRET_KEY": None,
    "DATABASE_ECHO": False,
    # Test each pooled connection with a round trip before use. Off: a database restart then
    # fails at most one request per worker process (SQLAlchemy drops the whole pool on the first
    # disconnect error), and no request pays the extra round trip.
    "DATABASE_PRE_PING": False,
    "SQLITE_BUSY_TIMEOUT_MS": 15000,
    "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
    # Inspection: an event recorded this many hours after it happened is flagged as late.
    "LATE_ENTRY_HOURS": 72,
    # EUDR: a plot's declared area further than this fraction off its computed area is a warning.
    "EUDR_AREA_TOLERANCE": 0.10,
    # Ed25519 key that signs ledger checkpoints (PEM, PKCS#8). Default: generated once, on first
    # use, into <instance>/ledger_signing_key.pem (mode 0600); production must configure one.
    "SIGNING_KEY_FILE": None,
    # Consumer signals: a unit code scanned by this many distinct clients, or in places this far
    # apart (km), within the window (hours), is listed as suspicious.
    "SUSPICIOUS_WINDOW_HOURS": 24,
    "SUSPICIOUS_MIN_CLIENTS": 5,
    "SUSPICIOUS_MIN_KM": 150,
    # The province dashboard's figures are counted by a recurring job this often (job worker).
    "DASHBOARD_ROLLUP_SECONDS": 300.0,
    # Public lookup pages (trace.public)
    "PUBLIC_CACHE_SECONDS": 60,  # rendered parts reused while the batch is unchanged; 0 = off
    # Each process remembers resolved codes and their scan tallies, told of changes by NOTIFY
    # (PostgreSQL) or a change counter read per view (SQLite file) (trace.codeview.live), and
    # writes scans in batches. False: read every view.
    "PUBLIC_LIVE": True,
    # The ledger verifier's interval (job worker): pages state a check up to 5 minutes old.
    "PUBLIC_VERIFY_SECONDS": 120.0,
    "PUBLIC_LIVE_ENTRIES": 20000,  # codes remembered per process
    "PUBLIC_SCAN_FLUSH_SECONDS": 1.0,  # buffered scans are written this often
    "PUBLIC_SCAN_STATS_SECONDS": 30.0,  # a remembered scan count catches up with other processes
    # A unit code scanned by this many distinct clients (addresses, IPv6 grouped by /64) within
    # the window, since its warning was last cleared, looks copied. Provinces never count: the
    # only place we have is the one a client offers (?province=), which it can forge.
    "PUBLIC_COPY_CLIENTS": 10,
    "PUBLIC_COPY_WINDOW_HOURS": 24,
    "PUBLIC_REPORTS_PER_HOUR": 5,  # consumer reports per client address and hour
    "PUBLIC_FORM_MAX_AGE": 2 * 3600,  # seconds a report form's token stays valid
    # Networks (CIDRs, comma or space separated; "unix" for a proxy on a Unix socket) whose
    # X-Forwarded-For is believed: the client is the rightmost address not in them. Empty: the
    # TCP peer is the client (trace.public.client.client_address).
    "TRUSTED_PROXIES": "",
    "PRODUCT_IMAGE_DIR": None,  # default: <instance>/product-images
    # Background jobs (trace.jobs): result files go to a folder every node's app and worker can
    # read (default <instance>/job-results; several machines need a shared mount).
    "JOB_RESULTS_DIR": None,
    "JOB_LEASE_SECONDS": 60,  # a job whose worker stopped renewing this long is taken again
    "JOB_POLL_SECONDS": 1.0,  # how long an idle worker sleeps between looks at the queue
    "JOB_RETRY_SECONDS": 10,  # first retry after this; doubled for each further attempt
    # National portal sync (trace.services.portal): where records go, and the SSO credentials.
    "PORTAL_URL": "",  # e.g. https://truyxuatnguongoc.gov.vn; empty: sync refuses to run
    "PORTAL_TOKEN_URL": "",  # default <PORTAL_URL>/sso/token
    "PORTAL_CLIENT_ID": "",
    "PORTAL_CLIENT_SECRET": "",
    "PORTAL_TIMEOUT_SECONDS": 10.0,  # per request; no answer is a retry
    "PORTAL_PER_MINUTE": 600,  # sends per minute and worker, spaced evenly
    "PORTAL_CHUNK": 20,  # records claimed (in flight) at a time: what a crash can repeat
    "PORTAL_CONCURRENCY": 4,  # sends at once (each on its own kept-alive connection)
    "PORTAL_LEASE_SECONDS": 300,  # a record in flight this long without an answer is sent again
    "PORTAL_RETRY_SECONDS": 10,  # first retry after this; doubled each further attempt
    "PORTAL_MAX_RETRY_SECONDS": 3600,  # the longest wait between attempts
    "PORTAL_MAX_ATTEMPTS": 8,  # transient failures before a record is failed
    "PORTAL_POLL_SECONDS": 5.0,  # how long `portal sync --watch` sleeps when nothing is due
    # Console (trace.console): a session ends after this long without a request, and in any
    # case this long after sign-in.
    "CONSOLE_IDLE_MINUTES": 8 * 60,
    "CONSOLE_SESSION_HOURS": 7 * 24,
    # Sign-in throttle (trace.services.accounts.throttle): after SLOW_AFTER failures each try
    # waits (1 s, doubling, at most 60 s); after LOCK_AFTER the account (CLIENT_LOCK_AFTER: the
    # client address) is locked for LOCK_MINUTES. Failures are forgotten after FORGET_MINUTES.
    "SIGNIN_SLOW_AFTER": 3,
    "SIGNIN_LOCK_AFTER": 10,
    "SIGNIN_CLIENT_SLOW_AFTER": 10,
    "SIGNIN_CLIENT_LOCK_AFTER": 30,
    "SIGNIN_LOCK_MINUTES": 15,
    "SIGNIN_FORGET_MINUTES": 15,
    # argon2id cost of a password hash (RFC 9106's second recommended option: 64 MiB, 3 passes)
    "PASSWORD_TIME_COST": 3,
    "PASSWORD_MEMORY_KIB": 64 * 1024,
}


def check(config: Any) -> None:
    """Refuse settings that cannot work, at start rather than on the first request."""
    for word in str(config.get("TRUSTED_PROXIES") or "").replace(",", " ").split():
        if word == "unix":
            continue
        try:
            ipaddress.ip_network(word, strict=False)
        except ValueError:
            raise ConfigError(
                f"TRACE_TRUSTED_PROXIES: {word!r} is not a network (CIDR such as 10.0.0.0/8, "
                "an address, or unix)"
            ) from None
    chunk, timeout = config.get("PORTAL_CHUNK", 0), config.get("PORTAL_TIMEOUT_SECONDS", 0)
    if float(config.get("PORTAL_LEASE_SECONDS", 0)) <= chunk * timeout:
        raise ConfigError(
            "TRACE_PORTAL_LEASE_SECONDS must exceed TRACE_PORTAL_CHUNK x "
            "TRACE_PORTAL_TIMEOUT_SECONDS, or records still in flight would be sent again"
        )


def sqlite_default_url(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / "trace.sqlite3")


def prepare_instance(app: Any) -> None:
    """Create the instance folder and give the app a secret key.

    The key is the configured one, or one generated once and kept in the instance folder.

    A production app (``TRACE_ENV=production``) must be given one: a key that silently changes
    between machines would invalidate every signed value, so we refuse to start instead.
    """
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config.get("SECRET_KEY"):
        return
    if app.config.get("ENV") == "production":
        raise ConfigError(
            "TRACE_SECRET_KEY is not set. A production deployment needs a fixed secret key: "
            "set TRACE_SECRET_KEY to a long random value (python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')."
        )
    path = Path(app.instance_path) / SECRET_KEY_FILE
    if path.exists():
        app.config["SECRET_KEY"] = path.read_text().strip()
        return
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    app.config["SECRET_KEY"] = key
