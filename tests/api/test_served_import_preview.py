"""Issue 14 as served: a preview of a file too large to check within a request is queued,
answered 202 at once, and run by the job worker beside gunicorn (``scripts/run.sh``); polling
its record gives the counts; nothing is written, and no request nears gunicorn's 30 s timeout."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from tests.served import Served, served, throwaway_database

ROWS = 3_000
GUNICORN_TIMEOUT = 30


def _upload(app: Served, role: str, kind: str, body: bytes, query: str) -> tuple[int, dict, dict]:
    boundary = uuid.uuid4().hex
    parts = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'
            f"--{boundary}\r\nContent-Disposition: form-data; "
            'name="file"; filename="stages.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + body
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(app.base + "/api/v1/imports" + query, data=parts,
                                     method="POST")  # fmt: skip
    request.add_header("Authorization", f"Bearer {app.tokens[role]}")
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_a_large_preview_is_a_job_of_the_served_app(tmp_path: Path) -> None:
    database = throwaway_database(os.environ.get("TRACE_TEST_DATABASE_URL"), tmp_path)
    with database as url, served(tmp_path, url) as app:
        batches = app.json("GET", "/api/v1/batches?status=active")["items"]
        assert batches, "the demo producer has no active batch"
        batch = batches[0]
        before = app.json("GET", f"/api/v1/batches/{batch['id']}/events")["events"]
        lines = ["batch_id,stage,time,quantity,unit"] + [
            f"{batch['id']},storing,2026-01-{1 + i // 1440:02d}T{i // 60 % 24:02d}:{i % 60:02d}"
            f":00+07:00,{1 + i % 7},kg"
            for i in range(ROWS)
        ]
        body = ("\n".join(lines) + "\n").encode()

        started = time.monotonic()
        status, headers, queued = _upload(app, "producer", "events", body, "?dry_run=true")
        slowest = time.monotonic() - started
        assert status == 202, queued
        assert queued["dry_run"] is True and queued["status"] == "queued", queued
        location = headers["Location"]
        deadline = time.monotonic() + 600
        while True:
            started = time.monotonic()
            record = app.json("GET", location)
            slowest = max(slowest, time.monotonic() - started)
            if record["status"] != "queued":
                break
            assert time.monotonic() < deadline, record
            time.sleep(0.5)
        assert record["status"] == "done" and record["valid"] is True, record
        assert record["counts"] == {"rows": ROWS, "created": ROWS, "updated": 0, "unchanged": 0}
        after = app.json("GET", f"/api/v1/batches/{batch['id']}/events")["events"]
        assert len(after) == len(before)  # a preview writes nothing
        assert slowest < GUNICORN_TIMEOUT / 3, slowest
