"""Scans of codes and consumers' reports from the public page.

- A client is a salted SHA-256 of its address and user agent, never the address itself. The salt
  is derived from the secret key and the day (Vietnam time), so hashes cannot be linked across
  days, nor computed by anyone without the key.
- A scan is one insert. Scan statistics read only the code's own rows, through
  ``ix_scan_code_at``, and look at the latest :data:`RECENT_SCANS` for the copy warning.
- The report rate limit counts the client's reports of the last hour in the database, so it holds
  across processes and machines (no in-process state).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text
from sqlalchemy.orm import Session

from trace.models import Report, Scan

RECENT_SCANS = 500  # the window of latest scans the copy warning looks at
COUNT_CAP = 10_000  # counts stop here ("10,000 or more"); a hot code must not slow its page
REPORT_KINDS = ("counterfeit", "wrong_information", "quality", "other")


VIETNAM_OFFSET = 7 * 3600  # +07:00 all year: Vietnam keeps no daylight saving time
_EPOCH_DAY = dt.date(1970, 1, 1)


def _vietnam_day(timestamp: float) -> dt.date:
    """The calendar day in Vietnam at ``timestamp`` (cheaper than a time zone conversion: this
    runs on every page view)."""
    return _EPOCH_DAY + dt.timedelta(days=int((timestamp + VIETNAM_OFFSET) // 86400))


@lru_cache(maxsize=8)
def _day_salt(secret: str, day: dt.date) -> bytes:
    return hmac.new(secret.encode(), f"scan-salt:{day.isoformat()}".encode(), "sha256").digest()


def client_hash(secret: str, address: str, user_agent: str, now: dt.datetime | None = None) -> str:
    """The day's salted SHA-256 of a client (address and user agent)."""
    day = _vietnam_day(now.timestamp() if now is not None else time.time())
    material = _day_salt(secret, day) + f"{address}\0{user_agent}".encode()
    return hashlib.sha256(material).hexdigest()


def client_hashes(secret: str, address: str, user_agent: str) -> tuple[str, str]:
    """Today's and yesterday's hash of a client, so an hourly window spans midnight."""
    now = dt.datetime.now(dt.UTC)
    return (
        client_hash(secret, address, user_agent, now),
        client_hash(secret, address, user_agent, now - dt.timedelta(days=1)),
    )


def record_scan(
    session: Session,
    *,
    code_id: int | None,
    batch_id: int,
    client: str,
    language: str,
    province_code: str | None = None,
) -> None:
    """One insert; the caller commits. On PostgreSQL the commit does not wait for the WAL to
    reach the disk (``synchronous_commit`` off for this transaction only, set in the same round
    trip): a scan lost in a crash is acceptable, a slower page for everyone is not."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "WITH setting AS (SELECT set_config('synchronous_commit', 'off', true)) "
                "INSERT INTO scan (code_id, batch_id, at, client_hash, province_code, language) "
                "SELECT :code_id, :batch_id, :at, :client_hash, :province_code, :language "
                "FROM setting"
            ),
            {
                "code_id": code_id,
                "batch_id": batch_id,
                "at": dt.datetime.now(dt.UTC),
                "client_hash": client,
                "province_code": province_code,
                "language": language,
            },
        )
        return
    session.execute(
        insert(Scan).values(
            code_id=code_id,
            batch_id=batch_id,
            at=dt.datetime.now(dt.UTC),
            client_hash=client,
            province_code=province_code,
            language=language,
        )
    )


_STATS: list[Any] = []


def _stats() -> Any:
    """The scan statistics statement, built once (it runs on every unit code page view)."""
    if _STATS:
        return _STATS[0]
    code_id = bindparam("code_id")
    capped = select(Scan.id).where(Scan.code_id == code_id).limit(COUNT_CAP + 1).subquery()
    recent = (
        select(Scan.client_hash, Scan.province_code)
        .where(Scan.code_id == code_id)
        .order_by(Scan.at.desc())
        .limit(RECENT_SCANS)
        .subquery()
    )
    _STATS.append(
        select(
            select(func.count()).select_from(capped).scalar_subquery(),
            select(func.min(Scan.at)).where(Scan.code_id == code_id).scalar_subquery(),
            select(func.count(recent.c.client_hash.distinct())).scalar_subquery(),
            select(func.count(recent.c.province_code.distinct())).scalar_subquery(),
        )
    )
    return _STATS[0]


@dataclass(frozen=True)
class ScanStats:
    count: int
    capped: bool
    first: dt.datetime | None
    distinct_clients: int
    distinct_places: int
    suspicious: bool


def stats_from(
    count: int | None,
    first: dt.datetime | None,
    clients: int | None,
    places: int | None,
    copy_clients: int,
    copy_places: int,
) -> ScanStats:
    """The statistics from the raw figures (``count`` is capped at ``COUNT_CAP + 1`` rows)."""
    count, clients, places = int(count or 0), int(clients or 0), int(places or 0)
    return ScanStats(
        min(count, COUNT_CAP),
        count > COUNT_CAP,
        first,
        clients,
        places,
        clients >= copy_clients or places >= copy_places,
    )


def scan_stats(session: Session, code_id: int, *, copy_clients: int, copy_places: int) -> ScanStats:
    """How often a unit code was scanned, since when, and whether it looks copied: many distinct
    clients or several provinces among its latest scans."""
    count, first, clients, places = session.execute(_stats(), {"code_id": code_id}).one()
    return stats_from(count, first, clients, places, copy_clients, copy_places)


class RateLimited(Exception):
    """The client sent too many reports in the last hour."""


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
    """Store a consumer's report (the caller commits), unless the client is over its limit."""
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
