"""The sync loop: claim a chunk of due records, build their bodies, send them, record answers.

Each step is a short transaction of its own (the loop is the boundary, as the job worker is):
nothing is locked while the portal is being waited for. The records of a chunk are the ones in
flight: a worker killed mid-chunk leaves them ``sent``, and the next worker sends them again
once their lease has run out (counted in ``repeats``). Sends are spaced to stay within the
limit per minute; stopping (SIGTERM) lets the chunk in flight finish and be recorded.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from trace.db import db, transaction
from trace.services.portal import delivery
from trace.services.portal.delivery import KIND_ORDER, Claimed, Policy
from trace.services.portal.records import Wanted, record_bodies
from trace.services.portal.transport import Answer, Delivery, HttpTransport, Transport

log = logging.getLogger(__name__)


class RateLimit:
    """At most ``per_minute`` sends a minute, spaced evenly; ``pause`` holds all sends."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:  # each sender takes the next slot; it sleeps until then outside
            now = self.clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self.sleep(slot - now)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, self.clock() + seconds)


@dataclass
class SyncStats:
    claimed: int = 0
    repeated: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, counts: dict[str, int]) -> None:
        for status, n in counts.items():
            self.outcomes[status] = self.outcomes.get(status, 0) + n


def transport_from_config(config: Any) -> Transport:
    url = str(config.get("PORTAL_URL") or "")
    if not url:
        raise RuntimeError("TRACE_PORTAL_URL is not set: there is no portal to send to")
    return HttpTransport(
        url,
        token_url=str(config.get("PORTAL_TOKEN_URL") or url.rstrip("/") + "/sso/token"),
        client_id=str(config.get("PORTAL_CLIENT_ID") or ""),
        client_secret=str(config.get("PORTAL_CLIENT_SECRET") or ""),
        timeout=float(config["PORTAL_TIMEOUT_SECONDS"]),
    )


class PortalSync:
    """One sync worker; :meth:`run` sends until nothing is due (or, watching, until stopped)."""

    def __init__(
        self, app: Flask, transport: Transport | None = None, *, worker_id: str | None = None
    ) -> None:
        config = app.config
        self.app = app
        self.transport = transport or transport_from_config(config)
        self.worker_id = worker_id or f"portal-{socket.gethostname()}-{os.getpid()}"
        self.public_url = str(config["PUBLIC_URL"])
        self.chunk = int(config["PORTAL_CHUNK"])
        self.concurrency = max(1, int(config["PORTAL_CONCURRENCY"]))
        self.poll_seconds = float(config["PORTAL_POLL_SECONDS"])
        self.policy = Policy(
            lease_seconds=float(config["PORTAL_LEASE_SECONDS"]),
            retry_seconds=float(config["PORTAL_RETRY_SECONDS"]),
            max_retry_seconds=float(config["PORTAL_MAX_RETRY_SECONDS"]),
            max_attempts=int(config["PORTAL_MAX_ATTEMPTS"]),
        )
        self.limit = RateLimit(int(config["PORTAL_PER_MINUTE"]))
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self, *, watch: bool = False) -> SyncStats:
        stats = SyncStats()
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="portal-send")
        try:
            while not self._stopping.is_set():
                claimed = self._claim()
                if not claimed:
                    if not watch:
                        break
                    self._stopping.wait(self.poll_seconds)
                    continue
                stats.claimed += len(claimed)
                stats.repeated += sum(c.repeat for c in claimed)
                stats.add(self._deliver(claimed))
        finally:
            self._pool.shutdown()
            self.transport.close()
        return stats

    def _step(self, action: Callable[[Session], Any]) -> Any:
        with db.new_session(self.app) as own, transaction(write=True, bind=own) as session:
            return action(session)

    def _claim(self) -> list[Claimed]:
        with db.new_session(self.app) as own, transaction(write=False, bind=own) as session:
            if not delivery.any_due(session):
                return []
        claimed: list[Claimed] = self._step(
            lambda session: delivery.claim(session, self.worker_id, self.chunk, self.policy)
        )
        return claimed

    def _bodies(self, claimed: list[Claimed]) -> dict[int, dict[str, Any] | None]:
        wanted = [Wanted(r.kind, r.entity_id, r.version) for r in claimed]
        with db.new_session(self.app) as own, transaction(write=False, bind=own) as session:
            bodies = record_bodies(session, wanted, self.public_url)
        return {r.id: body for r, body in zip(claimed, bodies, strict=True)}

    def _deliver(self, claimed: list[Claimed]) -> dict[str, int]:
        bodies = self._bodies(claimed)
        answers: list[tuple[Claimed, dict[str, Any] | None, Answer]] = []
        # Organisations, then products, then batches: the portal registers products per
        # approved organisation. Within a kind, up to PORTAL_CONCURRENCY sends at once.
        for kind in sorted({r.kind for r in claimed}, key=KIND_ORDER.__getitem__):
            records = [r for r in claimed if r.kind is kind]
            answers += self._pool.map(lambda r: self._send(r, bodies[r.id]), records)
        counts: dict[str, int] = self._step(
            lambda session: delivery.record_answers(session, self.worker_id, answers, self.policy)
        )
        return counts

    def _send(
        self, record: Claimed, body: dict[str, Any] | None
    ) -> tuple[Claimed, dict[str, Any] | None, Answer]:
        if body is None:
            return record, None, Answer("rejected", "missing")
        if record.repeat:
            log.warning("record %s (%s) sent again: its last send was interrupted",
                        record.id, record.key)  # fmt: skip
        self.limit.wait()
        answer = self.transport.send(Delivery(str(record.kind), record.key, body))
        if answer.reason == "rate_limited" and answer.retry_after:
            self.limit.pause(answer.retry_after)
        return record, body, answer
