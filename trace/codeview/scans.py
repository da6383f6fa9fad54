"""Scans of codes and consumers' reports from the public page.

- A client is a salted SHA-256 of its address (IPv6: its /64, see
  :func:`trace.public.client.client_key`), never the address itself and never its User-Agent,
  which a client can change with every request. The salt is derived from the secret key and the
  day (Vietnam time), so hashes cannot be linked across days, nor computed by anyone without the
  key. A hash is thus one client on one day.
- "Scanned N times" counts distinct hashes: a client's repeat scans of a code count once a day.
  ``scan_client`` keeps them (one row per code and hash, with its first scan), so the count and
  the warning read a code's distinct clients, however often one of them repeats itself.
- The copy warning rests on distinct clients only, first seen within ``copy_hours`` and after
  the code's warning was last cleared
  (:func:`trace.services.inspection.signals.clear_copy_warning`). A place never counts: the
  only place a scan has is a province the client offered, which it can forge.
- The report rate limit counts the client's reports of the last hour in the database, so it holds
  across processes and machines; the count and the insert are atomic (:func:`submit_report`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trace.db import table_of
from trace.models import Code, Report, Scan, ScanClient

RECENT_CLIENTS = 1000  # distinct clients of the window a process remembers to count repeats once
COUNT_CAP = 10_000  # counts stop here ("10,000 or more"); a hot code must not slow its page
REPORT_KINDS = ("counterfeit", "wrong_information", "quality", "other")
REPORT_LOCK = 0x7472_6570  # advisory lock namespace of the report limit ("trep")


VIETNAM_OFFSET = 7 * 3600  # +07:00 all year: Vietnam keeps no daylight saving time
_EPOCH_DAY = dt.date(1970, 1, 1)


def _vietnam_day(timestamp: float) -> dt.date:
    """The calendar day in Vietnam at ``timestamp`` (cheaper than a time zone conversion: this
    runs on every page view)."""
    return _EPOCH_DAY + dt.timedelta(days=int((timestamp + VIETNAM_OFFSET) // 86400))


@lru_cache(maxsize=8)
def _day_salt(secret: str | bytes, day: dt.date) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"scan-salt:{day.isoformat()}".encode(), "sha256").digest()


def client_hash(secret: str | bytes, client: str, now: dt.datetime | None = None) -> str:
    """The day's salted SHA-256 of a client (its key: :func:`trace.public.client.client_key`)."""
    day = _vietnam_day(now.timestamp() if now is not None else time.time())
    return hashlib.sha256(_day_salt(secret, day) + client.encode()).hexdigest()


def client_hashes(secret: str | bytes, client: str) -> tuple[str, str]:
    """Today's and yesterday's hash of a client, so an hourly window spans midnight."""
    now = dt.datetime.now(dt.UTC)
    return client_hash(secret, client, now), client_hash(secret, client, now - dt.timedelta(days=1))


# Built once: a page view records a scan on SQLite every time, and building an insert (or
# going through the ORM's bulk path with a mapped class) cost about a third of the view.
_SCAN = table_of(Scan)
_INSERT_SCAN: Any = _SCAN.insert()
_INSERT_SCAN_PG = text(
    "WITH setting AS (SELECT set_config('synchronous_commit', 'off', true)) "
    "INSERT INTO scan (code_id, batch_id, at, client_hash, province_code, language) "
    "SELECT :code_id, :batch_id, :at, :client_hash, :province_code, :language "
    "FROM setting"
)
_NEW_CLIENT: dict[str, Any] = {
    "postgresql": postgresql_insert(table_of(ScanClient)).on_conflict_do_nothing(),
    "sqlite": sqlite_insert(table_of(ScanClient)).on_conflict_do_nothing(),
}


def record_scan(
    session: Session,
    *,
    code_id: int | None,
    batch_id: int,
    client: str,
    language: str,
    province_code: str | None = None,
) -> None:
    """The scan, and its client among the code's distinct clients; the caller commits. On
    PostgreSQL the commit does not wait for the WAL to reach the disk (``synchronous_commit``
    off for this transaction only, set in the same round trip): a scan lost in a crash is
    acceptable, a slower page for everyone is not."""
    now = dt.datetime.now(dt.UTC)
    dialect = session.get_bind().dialect.name
    values = {
        "code_id": code_id,
        "batch_id": batch_id,
        "at": now,
        "client_hash": client,
        "province_code": province_code,
        "language": language,
    }
    session.execute(_INSERT_SCAN_PG if dialect == "postgresql" else _INSERT_SCAN, values)
    if code_id is not None:
        session.execute(
            _NEW_CLIENT[dialect], {"code_id": code_id, "client_hash": client, "first_at": now}
        )


@dataclass(frozen=True)
class ScanStats:
    """What a unit code's page shows: ``count`` distinct clients a day (capped at
    :data:`COUNT_CAP`), the first scan, and the distinct clients behind the copy warning."""

    count: int
    capped: bool
    first: dt.datetime | None
    distinct_clients: int
    suspicious: bool


def stats_from(
    count: int | None, first: dt.datetime | None, clients: int | None, copy_clients: int
) -> ScanStats:
    """The statistics from the raw figures (``count`` is capped at ``COUNT_CAP + 1``)."""
    count, clients = int(count or 0), int(clients or 0)
    return ScanStats(min(count, COUNT_CAP), count > COUNT_CAP, first, clients,
                     clients >= copy_clients)  # fmt: skip


def warning_since(
    cleared_at: dt.datetime | None, copy_hours: float, now: dt.datetime | None = None
) -> dt.datetime:
    """Scans after this moment count towards the copy warning: the window, and only what came
    after the warning was last cleared."""
    since = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(hours=copy_hours)
    return max(since, cleared_at) if cleared_at is not None else since


def scan_stats(
    session: Session, code_id: int, *, copy_clients: int, copy_hours: float
) -> ScanStats:
    """How often a unit code was scanned (distinct clients a day), since when, and whether it
    looks copied: ``copy_clients`` clients first seen within ``copy_hours`` and after the last
    clear. Reads only ``scan_client``, never the repeat scans. The portable form; PostgreSQL
    reads the same in :mod:`trace.codeview.pageview`."""
    cleared = session.scalar(select(Code.copy_warning_cleared_at).where(Code.id == code_id))
    since = warning_since(cleared, copy_hours)
    of_code = ScanClient.code_id == code_id
    capped = select(ScanClient.client_hash).where(of_code).limit(COUNT_CAP + 1).subquery()
    recent = (
        select(ScanClient.client_hash)
        .where(of_code, ScanClient.first_at > since)
        .limit(copy_clients)
        .subquery()
    )
    count, first, clients = session.execute(
        select(
            select(func.count()).select_from(capped).scalar_subquery(),
            select(func.min(ScanClient.first_at)).where(of_code).scalar_subquery(),
            select(func.count()).select_from(recent).scalar_subquery(),
        )
    ).one()
    return stats_from(count, first, clients, copy_clients)


class RateLimited(Exception):
    """The client sent too many reports in the last hour."""


def _lock_client(session: Session, client: str) -> None:
    """PostgreSQL: hold a transaction-scoped advisory lock for this client, so that its
    parallel reports count and insert one after the other. SQLite: the request already holds
    the database's write lock (a POST begins ``BEGIN IMMEDIATE``)."""
    if session.get_bind().dialect.name == "postgresql":
        key = int(client[:8], 16) - 2**31  # a signed 32-bit int from the hash
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                        {"ns": REPORT_LOCK, "key": key})  # fmt: skip


def submit_report(
    session: Session,
    *,
    code_id: int | None,
    batch_id: int | None,
    kind: str,
    message: str,
    contact: str | None,
    clients: tuple[str, str],
    per_hour: int,
) -> Report:
    """Store a consumer's report (the caller commits), unless the client (``clients``: today's
    and yesterday's hash of its address) sent ``per_hour`` reports in the last hour. The count
    and the insert happen under a lock per client, held until the caller's commit."""
    _lock_client(session, clients[0])
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    recent = session.scalar(
        select(func.count())
        .select_from(Report)
        .where(Report.at >= since, Report.client_hash.in_(list(clients)))
    )
    if (recent or 0) >= per_hour:
        raise RateLimited()
    report = Report(
        code_id=code_id,
        batch_id=batch_id,
        kind=kind,
        message=message,
        contact=contact or None,
        client_hash=clients[0],
        status="open",
    )
    session.add(report)
    session.flush()
    return report
