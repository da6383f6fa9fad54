"""Slowing down password guessing, per account and per client.

Each key (an account's login, or a client: its address, an IPv6 /64 as one) is kept only as a
keyed hash, never as the login or address itself. After ``slow_after`` failures in a row, each
further attempt must wait, doubling from one second up to a minute; after ``lock_after`` failures
the account (``client_lock_after`` for a client, which may try several accounts) is locked for
``lock_minutes``. A success clears the account's count (not the client's: an attacker's own
account must not wash their address clean). Failures are forgotten after ``forget_minutes``
without one.

An attacker who fails on purpose from many addresses can keep locking a user's account; so a
browser that has signed in to that account before (it carries a "known browser" mark, signed
for that account) is not held by the account's lock, only by its own client's. The person is
told plainly how long to wait, and a centre can still issue a reset link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trace.models import SignInThrottle

MAX_WAIT = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class Policy:
    slow_after: int = 3
    lock_after: int = 10
    client_slow_after: int = 10
    client_lock_after: int = 30
    lock_minutes: int = 15
    forget_minutes: int = 15


@dataclass(frozen=True)
class Keys:
    """The keyed hashes of what is counted: the account (``None``: not held by its count, a
    known browser) and the client."""

    account: str | None
    client: str


def key(secret: str, kind: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{kind}|{value}".encode(), hashlib.sha256).hexdigest()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _keys(keys: Keys) -> list[str]:
    return [k for k in (keys.account, keys.client) if k is not None]


def blocked_until(session: Session, keys: Keys) -> dt.datetime | None:
    """When the next attempt may be made, if not now."""
    moment = now()
    waits = session.scalars(
        select(SignInThrottle.locked_until).where(
            SignInThrottle.key_hash.in_(_keys(keys)), SignInThrottle.locked_until > moment
        )
    ).all()
    return max((w for w in waits if w is not None), default=None)


def _row(session: Session, key_hash: str) -> SignInThrottle:
    """The key's row, created if missing (one statement, safe under concurrent failures)."""
    dialect = session.get_bind().dialect.name
    values = {
        "key_hash": key_hash,
        "failures": 0,
        "first_failure_at": now(),
        "last_failure_at": now(),
    }
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SignInThrottle)
    session.execute(insert.values(values).on_conflict_do_nothing(index_elements=["key_hash"]))
    row = session.scalar(
        select(SignInThrottle)
        .where(SignInThrottle.key_hash == key_hash)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def _wait(
    failures: int, slow_after: int, lock_after: int, lock: dt.timedelta
) -> dt.timedelta | None:
    if failures >= lock_after:
        return lock
    if failures >= slow_after:
        return min(dt.timedelta(seconds=2 ** (failures - slow_after)), MAX_WAIT)
    return None


def failed(session: Session, keys: Keys, policy: Policy) -> dt.datetime | None:
    """Count a failed attempt; returns until when the next must wait, if it must."""
    moment = now()
    forget = dt.timedelta(minutes=policy.forget_minutes)
    lock = dt.timedelta(minutes=policy.lock_minutes)
    until: dt.datetime | None = None
    for key_hash, slow_after, lock_after in (
        (keys.account, policy.slow_after, policy.lock_after),
        (keys.client, policy.client_slow_after, policy.client_lock_after),
    ):
        if key_hash is None:
            continue
        row = _row(session, key_hash)
        if (
            row.failures
            and moment - row.last_failure_at > forget
            and not (row.locked_until and row.locked_until > moment)
        ):
            row.failures, row.first_failure_at = 0, moment
        row.failures += 1
        row.last_failure_at = moment
        wait = _wait(row.failures, slow_after, lock_after, lock)
        if wait is not None:
            row.locked_until = moment + wait
            until = max(until or row.locked_until, row.locked_until)
    session.flush()
    return until


def succeeded(session: Session, keys: Keys) -> None:
    """A correct password: the account's count starts again."""
    if keys.account is not None:
        row = session.get(SignInThrottle, keys.account)
        if row is not None:
            session.delete(row)
            session.flush()
