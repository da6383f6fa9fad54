"""A stand-in for the national traceability portal: a real HTTP server on 127.0.0.1.

It speaks what ``trace/services/portal/transport.py`` assumes (SSO token endpoint, one path per
record kind, ``Idempotency-Key``), validates every body against ``schemas/portal-record.json``
and refuses what breaks it, applies the portal's known refusals (organisation not approved,
image not fetchable, bad GTIN, expired token), and fails on request: 5xx, 429, a timeout, a
dropped connection, or a request held until the test lets it go (to kill a worker mid-send).
Every request it answered, and every one it received, is recorded for the test to check.

Run in a thread (``with StandIn() as portal:``) or as a process of its own for the benchmark
(``python tests/portal_standin.py``, which prints its port).
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import fastjsonschema
import jsonschema

CONTRACT = Path(__file__).resolve().parent.parent / "schemas" / "portal-record.json"
PATHS = {
    "/gwdev/tochuc/v5/ToChuc": "organization",
    "/gwdev/tochuc/v5/ToChuc_SanPham": "product",
    "/gwdev/tochuc/v5/ToChuc_SanPham_LoHang": "batch",
}
CLIENT_ID, CLIENT_SECRET = "trace-test", "s3cret-test"


def gtin_ok(gtin: str) -> bool:
    digits = [int(c) for c in gtin]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == digits[-1]


@dataclass
class Received:
    kind: str
    key: str | None
    body: Any
    status: int = 0  # 0: no answer was given (held, timed out, dropped)
    answer: dict[str, Any] = field(default_factory=dict)


class StandIn:
    """The portal. Configure ``unapproved`` tax codes, ``bad_gtins``, ``unfetchable`` image URL
    parts, and queue ``faults`` ("500", "503", "429", "timeout", "drop", "hold") for the next
    record requests."""

    def __init__(
        self,
        *,
        token_lifetime: float = 3600.0,
        timeout_seconds: float = 2.0,
        thorough: bool = True,
    ) -> None:
        # thorough: every body through jsonschema; else fastjsonschema first (the benchmark)
        self.thorough = thorough
        contract = json.loads(CONTRACT.read_text(encoding="utf-8"))
        self.validator = jsonschema.Draft202012Validator(contract)
        self.fast = fastjsonschema.compile(contract)
        self.token_lifetime = token_lifetime
        self.timeout_seconds = timeout_seconds  # how long a "timeout" fault sleeps
        self.unapproved: set[str] = set()
        self.bad_gtins: set[str] = set()
        self.unfetchable: set[str] = set()
        self.faults: deque[str] = deque()
        self.tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self.token_requests = 0
        self.received: list[Received] = []
        self.held = threading.Event()  # set when a "hold" fault has a request waiting
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    # life cycle ---------------------------------------------------------------------------

    def start(self, port: int = 0) -> StandIn:
        standin = self

        class Handler(_Handler):
            portal = standin

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    # what was received --------------------------------------------------------------------

    def answered(self, status: int = 200) -> list[Received]:
        return [r for r in self.received if r.status == status]

    def keys(self, status: int | None = None) -> list[str]:
        return [r.key or "" for r in self.received if status is None or r.status == status]

    # the portal's rules -------------------------------------------------------------------

    def judge(self, kind: str, body: Any) -> tuple[int, dict[str, Any]]:
        problems = []
        try:
            if self.thorough:
                raise fastjsonschema.JsonSchemaException("validate fully")
            self.fast(body)
        except fastjsonschema.JsonSchemaException:  # the full validator says what and where
            problems = sorted(self.validator.iter_errors(body), key=lambda e: list(e.path))
        if problems or not isinstance(body, dict) or body.get("record_type") != kind:
            where = "/".join(str(p) for p in problems[0].path) if problems else "record_type"
            what = problems[0].message if problems else "does not match the path"
            return 400, {"code": "INVALID_RECORD", "message": f"{where}: {what}"}
        org = body["organization"]
        if org["tax_code"] in self.unapproved:
            return 422, {
                "code": "ORGANIZATION_NOT_APPROVED",
                "message": f"Tổ chức {org['tax_code']} chưa được phê duyệt trên Cổng",
            }
        product = body.get("product") or {}
        gtin = product.get("gtin")
        if gtin and (gtin in self.bad_gtins or not gtin_ok(gtin)):
            return 422, {"code": "INVALID_GTIN", "message": f"Mã GTIN {gtin} không hợp lệ"}
        for url in product.get("image_urls", []):
            if any(part in url for part in self.unfetchable):
                return 422, {
                    "code": "IMAGE_NOT_FETCHABLE",
                    "message": f"Không tải được ảnh {url}",
                }
        number = re.sub(r"\D", "", body["record_id"])
        return 200, {
            "portal_id": f"{kind[:3].upper()}-{number}",
            "national_trace_code": f"VN{body['record_id'].replace(':', '-')}".upper(),
            "message": "OK",
        }


class _Handler(BaseHTTPRequestHandler):
    portal: StandIn
    protocol_version = "HTTP/1.1"
    # Buffered: headers and body leave in one segment (flushed after each request), or Nagle's
    # algorithm and the client's delayed ACK cost 40 ms an answer.
    wbufsize = 1 << 16

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, status: int, answer: dict[str, Any]) -> None:
        data = json.dumps(answer, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if status == 429:
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        path = urlsplit(self.path).path
        portal = self.portal
        if path == "/sso/token":
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
                self._reply(401, {"code": "INVALID_CLIENT", "message": "sai thông tin"})
                return
            token = secrets.token_hex(8)
            with portal.lock:
                portal.token_requests += 1
                portal.tokens[token] = time.monotonic() + portal.token_lifetime
            self._reply(200, {"access_token": token, "expires_in": portal.token_lifetime})
            return
        kind = PATHS.get(path)
        if kind is None:
            self._reply(404, {"code": "NOT_FOUND", "message": path})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        record = Received(kind, self.headers.get("Idempotency-Key"), body)
        with portal.lock:
            portal.received.append(record)
            fault = portal.faults.popleft() if portal.faults else None
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        expiry = portal.tokens.get(token)
        if expiry is None:
            record.status, record.answer = 401, {"code": "UNAUTHORIZED", "message": "no token"}
        elif expiry <= time.monotonic():
            record.status, record.answer = 401, {"code": "TOKEN_EXPIRED", "message": "hết hạn"}
        elif not record.key:
            record.status, record.answer = 400, {"code": "INVALID_RECORD", "message": "no key"}
        elif fault == "hold":
            portal.held.set()
            portal.release.wait()
            return  # the worker was killed meanwhile: nobody reads an answer
        elif fault == "timeout":
            time.sleep(portal.timeout_seconds)
            self.close_connection = True
            return
        elif fault == "drop":
            self.close_connection = True
            return
        elif fault in ("500", "503", "429"):
            record.status = int(fault)
            record.answer = {"code": "ERROR", "message": f"lỗi hệ thống {fault}"}
        else:
            record.status, record.answer = portal.judge(kind, body)
        self._reply(record.status, record.answer)


def main() -> None:
    """Serve as a process of its own: print the URL, serve until killed."""
    portal = StandIn(thorough=False).start(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(portal.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
