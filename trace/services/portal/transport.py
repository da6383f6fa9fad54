"""The one module that knows how the national portal is spoken to (HTTP, SSO, paths, answers).

Everything here follows what is publicly known of truyxuatnguongoc.gov.vn's integration, not an
official guide (see the README, "National portal sync": each assumption is listed there). When
the National Barcode Center's guide is in hand, this module changes and nothing else: the sync
worker sees only :class:`Transport`, a :class:`Delivery` in and an :class:`Answer` out.

Assumed: an SSO token endpoint (``POST <TRACE_PORTAL_TOKEN_URL>``, form
``grant_type=client_credentials`` with the client id and secret) answering ``access_token`` and
``expires_in``; records posted as JSON with ``Authorization: Bearer`` and ``Idempotency-Key``
to a path per kind on the administration gateway; a success (2xx) carrying the portal's id and a
national trace code; a refusal (4xx) carrying a code and a message.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

PATHS = {
    "organization": "/gwdev/tochuc/v5/ToChuc",
    "product": "/gwdev/tochuc/v5/ToChuc_SanPham",
    "batch": "/gwdev/tochuc/v5/ToChuc_SanPham_LoHang",
}
# The portal's refusal codes (assumed) and our reasons, each with its own advice to an officer.
REFUSALS = {
    "ORGANIZATION_NOT_APPROVED": "organization_not_approved",
    "IMAGE_NOT_FETCHABLE": "image_not_fetchable",
    "INVALID_GTIN": "bad_gtin",
    "INVALID_RECORD": "invalid_record",
}
TOKEN_EARLY_SECONDS = 30  # refresh a token this long before the portal says it expires


@dataclass(frozen=True)
class Delivery:
    kind: str
    idempotency_key: str
    body: Mapping[str, Any]


@dataclass(frozen=True)
class Answer:
    outcome: Literal["accepted", "rejected", "retry"]
    reason: str | None = None  # our code: organization_not_approved, unavailable, timeout…
    portal_message: str | None = None  # the portal's own words
    portal_id: str | None = None
    national_code: str | None = None
    retry_after: float | None = None  # seconds, when the portal said how long to wait


class Transport(Protocol):
    def send(self, delivery: Delivery) -> Answer: ...

    def close(self) -> None: ...


class PortalAuthError(Exception):
    """The SSO refused our credentials or could not be reached."""


class HttpTransport:
    """JSON over kept-alive HTTP(S) connections, one per sending thread, reopened after any
    connection error; the SSO token is shared by the threads."""

    def __init__(
        self,
        base_url: str,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        timeout: float = 10.0,
    ) -> None:
        self.base = urllib.parse.urlsplit(base_url.rstrip("/"))
        self.token_url = token_url
        self.client_id, self.client_secret = client_id, client_secret
        self.timeout = timeout
        self._local = threading.local()
        self._open: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_expires = 0.0

    # connections --------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = _open(self.base, self.timeout)
            with self._lock:
                self._open.append(conn)
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def close(self) -> None:
        with self._lock:
            for conn in self._open:
                conn.close()
            self._open.clear()
        self._local = threading.local()

    def _request(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        conn = self._connection()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except BaseException:
            self._drop()
            raise
        if response.getheader("Connection", "").lower() == "close":
            self._drop()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    # SSO ----------------------------------------------------------------------------------

    def _bearer(self, *, refresh: str | None = None) -> str:
        """The current token; ``refresh``: the token the portal called expired (another thread
        may have replaced it already)."""
        with self._lock:
            stale = refresh is not None and refresh == self._token
            if stale or self._token is None or time.monotonic() >= self._token_expires:
                self._token, lifetime = self._fetch_token()
                self._token_expires = time.monotonic() + max(0.0, lifetime - TOKEN_EARLY_SECONDS)
            return self._token

    def _fetch_token(self) -> tuple[str, float]:
        target = urllib.parse.urlsplit(self.token_url)
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }
        ).encode()
        conn = _open(target, self.timeout)
        try:
            conn.request(
                "POST",
                target.path or "/",
                body=form,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise PortalAuthError(f"the portal's sign-in service is unreachable: {error}") from None
        finally:
            conn.close()
        if response.status != 200:
            raise PortalAuthError(f"the portal's sign-in service answered {response.status}")
        try:
            answer = json.loads(data)
            return str(answer["access_token"]), float(answer.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise PortalAuthError("the portal's sign-in service answered no token") from None

    # sending ------------------------------------------------------------------------------

    def send(self, delivery: Delivery) -> Answer:
        payload = json.dumps(delivery.body, ensure_ascii=False, separators=(",", ":")).encode()
        path = self.base.path + PATHS[delivery.kind]
        try:
            token = self._bearer()
            status, headers, data = self._post(path, payload, delivery.idempotency_key, token)
            if status == 401 and _code(data) == "TOKEN_EXPIRED":
                token = self._bearer(refresh=token)
                status, headers, data = self._post(path, payload, delivery.idempotency_key, token)
        except PortalAuthError as error:
            return Answer("retry", "credentials", str(error))
        except TimeoutError:
            return Answer("retry", "timeout", f"no answer within {self.timeout:g} s")
        except (OSError, http.client.HTTPException) as error:
            return Answer("retry", "unavailable", f"connection failed: {error}")
        return interpret(status, headers, data)

    def _post(
        self, path: str, payload: bytes, key: str, token: str
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": key,
        }
        return self._request("POST", path, payload, headers)


def _open(target: urllib.parse.SplitResult, timeout: float) -> http.client.HTTPConnection:
    if target.scheme == "https":
        return http.client.HTTPSConnection(
            target.hostname or "",
            target.port,
            timeout=timeout,
            context=ssl.create_default_context(),
        )
    return http.client.HTTPConnection(target.hostname or "", target.port, timeout=timeout)


def _json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _code(data: bytes) -> str | None:
    code = _json(data).get("code")
    return str(code) if code is not None else None


def interpret(status: int, headers: Mapping[str, str], data: bytes) -> Answer:
    """The portal's HTTP answer as an :class:`Answer` (assumed shapes: see the module doc)."""
    answer = _json(data)
    message = str(answer.get("message") or answer.get("detail") or "")[:2000] or None
    if 200 <= status < 300:
        portal_id = answer.get("portal_id") or answer.get("id")
        code = answer.get("national_trace_code") or answer.get("ma_truy_xuat")
        if portal_id is None:
            return Answer("retry", "unreadable_answer", "the portal's answer names no record id")
        return Answer(
            "accepted",
            portal_message=message,
            portal_id=str(portal_id)[:100],
            national_code=str(code)[:100] if code is not None else None,
        )
    if status == 429:
        return Answer("retry", "rate_limited", message, retry_after=_seconds(headers))
    if status == 401:
        return Answer("retry", "credentials", message or "the portal refused our sign-in token")
    if status >= 500 or status in (408, 409):
        return Answer("retry", "unavailable", message or f"the portal answered {status}")
    reason = REFUSALS.get(str(answer.get("code")), "invalid_record")
    return Answer("rejected", reason, message or f"the portal answered {status}")


def _seconds(headers: Mapping[str, str]) -> float | None:
    try:
        return max(0.0, float(headers.get("retry-after", "")))
    except ValueError:
        return None
