"""The app as the quick start serves it: ``scripts/run.sh`` (gunicorn with 2 workers and the job
worker) on a free local port, over a database of its own loaded with the demo data.

Used by the end-to-end test and by ``tests/bench/bench_labels_served.py``.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from tests.database import throwaway_postgres

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(ROOT / ".venv" / "bin" / "flask")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def throwaway_database(server_url: str | None, folder: Path) -> Iterator[str]:
    """A PostgreSQL database of our own on ``server_url`` (dropped afterwards), else SQLite."""
    if not server_url or make_url(server_url).get_backend_name() != "postgresql":
        yield "sqlite:///" + str(folder / "served.sqlite3")
        return
    yield from throwaway_postgres(server_url, "trace_served")


@dataclass
class Served:
    base: str
    tokens: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path
    #: the demo's console accounts: role -> {"login", "password"}
    accounts: dict[str, dict[str, str]] = field(default_factory=dict)

    def request(
        self, method: str, path: str, role: str = "producer", body: Any = None
    ) -> tuple[int, dict[str, str], bytes]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.tokens[role]}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=120) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def json(self, method: str, path: str, role: str = "producer", body: Any = None) -> Any:
        status, _, data = self.request(method, path, role, body)
        assert status < 300, (status, data[:500])
        return json.loads(data)


def session_processes(sid: int) -> list[int]:
    """Live processes (zombies aside) of session ``sid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


@contextmanager
def served(folder: Path, database_url: str, *, gunicorn_workers: int = 2) -> Iterator[Served]:
    """Set up the database (init, demo) and run ``scripts/run.sh`` in a session of its own;
    on exit, SIGTERM it and wait for it (asserting nothing of it is left is the caller's)."""
    env = os.environ | {
        "TRACE_DATABASE_URL": database_url,
        "TRACE_SECRET_KEY": "served-test-secret",
        "TRACE_JOB_RESULTS_DIR": str(folder / "job-results"),
        "TRACE_SIGNING_KEY_FILE": str(folder / "signing-key.pem"),
        "TRACE_JOB_POLL_SECONDS": "0.2",
    }
    env.pop("TRACE_TEST_DATABASE_URL", None)
    subprocess.run([FLASK, "--app", "wsgi", "init"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    demo = subprocess.run([FLASK, "--app", "wsgi", "demo", "--json"], cwd=ROOT, env=env,
                          check=True, capture_output=True, text=True)  # fmt: skip
    demo_json = json.loads(demo.stdout.strip().splitlines()[-1])
    tokens, accounts = demo_json["tokens"], demo_json.get("accounts", {})
    port = free_port()
    env |= {"TRACE_BIND": f"127.0.0.1:{port}", "TRACE_WORKERS": str(gunicorn_workers)}
    log = folder / "served.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(ROOT / "scripts" / "run.sh")], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    try:
        app = Served(f"http://127.0.0.1:{port}", tokens, process, log, accounts)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(app.base + "/healthz", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the app did not come up: " + log.read_text()
            time.sleep(0.2)
        yield app
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # never leave it behind, even when failing
            process.wait()
            raise


def download_labels(app: Served, run_id: int, timeout: float = 600) -> tuple[bytes, list[dict]]:
    """Poll the run's labels.pdf until it is there; returns it and the 202 bodies seen."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while True:
        status, headers, data = app.request("GET", f"/api/v1/print-runs/{run_id}/labels.pdf")
        if status == 200:
            assert headers["Content-Type"] == "application/pdf"
            assert int(headers["Content-Length"]) == len(data)
            return data, seen
        assert status == 202, (status, data[:1000])
        seen.append(json.loads(data))
        assert time.monotonic() < deadline, seen[-1]
        time.sleep(min(float(headers["Retry-After"]), 0.5))


def printable_batch(app: Served, count: int) -> dict:
    """A print run of ``count`` labels on the first demo batch the producer may print for."""
    batches = app.json("GET", "/api/v1/batches?limit=100")["items"]
    for batch in batches:
        status, _, data = app.request("POST", f"/api/v1/batches/{batch['id']}/print-runs",
                                      body={"count": count, "template": "a4-3x8-70x37",
                                            "serialised": True})  # fmt: skip
        if status == 201:
            return json.loads(data)
        assert status in (403, 409), (status, data[:500])
    raise AssertionError("no demo batch the producer may print for")


class ConsoleSession:
    """A browser's visit to the served console over HTTP: cookies kept, redirects followed, the
    CSRF token of the last page sent with each form."""

    _CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.token = ""

    def _open(self, req: urllib.request.Request) -> tuple[int, str, bytes, dict[str, str]]:
        try:
            with self.opener.open(req, timeout=120) as response:
                return response.status, response.geturl(), response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.geturl(), error.read(), dict(error.headers)

    def get(self, path: str) -> tuple[int, str, bytes, dict[str, str]]:
        status, url, body, headers = self._open(urllib.request.Request(self.base + path))
        found = self._CSRF.search(body.decode("utf-8", "replace")) if body[:1] == b"<" else None
        if found:
            self.token = found.group(1)
        return status, url, body, headers

    def post(self, path: str, data: dict[str, str]) -> tuple[int, str, bytes, dict[str, str]]:
        encoded = urllib.parse.urlencode({**data, "csrf_token": self.token}).encode()
        req = urllib.request.Request(self.base + path, data=encoded, method="POST")
        status, url, body, headers = self._open(req)
        found = self._CSRF.search(body.decode("utf-8", "replace"))
        if found:
            self.token = found.group(1)
        return status, url, body, headers

    def sign_in(self, login: str, password: str) -> None:
        self.get("/console/sign-in")
        status, url, body, _ = self.post("/console/sign-in", {"login": login, "password": password})
        assert status == 200 and not url.endswith("/sign-in"), (status, url, body[:500])
