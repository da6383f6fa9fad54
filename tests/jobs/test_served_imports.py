"""Issue 14, as served: gunicorn and the worker (``scripts/run.sh``), a stage-event sheet
uploaded over HTTP, previewed, committed by the worker, committed again."""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from pathlib import Path

from tests.served import Served, served, throwaway_database


def _post(app: Served, path: str, body: bytes, kind: str) -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    data = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'
            f"--{boundary}\r\nContent-Disposition: form-data; "
            'name="file"; filename="nhat-ky.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + body
        + f"\r\n--{boundary}--\r\n".encode()
    )
    req = urllib.request.Request(app.base + path, data=data, method="POST")
    req.add_header("Authorization", f"Bearer {app.tokens['producer']}")
    req.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_an_event_sheet_through_preview_and_commit_as_served(tmp_path: Path) -> None:
    database = throwaway_database(os.environ.get("TRACE_TEST_DATABASE_URL"), tmp_path)
    with database as url, served(tmp_path, url) as app:
        batches = app.json("GET", "/api/v1/batches?limit=100")["items"]
        batch = next(b for b in batches if b["status"] == "active")
        sheet = (
            "batch_id,Công đoạn,Thời gian,Số lượng,Ghi chú\n"
            f'{batch["id"]},Kiểm tra,03/01/2026 08:15,"12,5",nhập từ sổ\n'
            f"{batch['id']},inspecting,03/01/2026 09:15,12,\n"
        ).encode()
        status, preview = _post(app, "/api/v1/imports?dry_run=true", sheet, "events")
        assert status == 200 and preview["valid"], preview
        assert preview["counts"]["created"] == 2
        before = app.json("GET", f"/api/v1/batches/{batch['id']}/events")["events"]

        for expected in ({"created": 2, "unchanged": 0}, {"created": 0, "unchanged": 2}):
            status, record = _post(app, "/api/v1/imports", sheet, "events")
            assert status == 202, record
            deadline = time.monotonic() + 60
            while record["status"] == "queued":
                assert time.monotonic() < deadline, record
                time.sleep(0.3)
                record = app.json("GET", record["links"]["self"])
            assert record["status"] == "done", record
            assert {k: record["counts"][k] for k in expected} == expected
        after = app.json("GET", f"/api/v1/batches/{batch['id']}/events")["events"]
        assert len(after) == len(before) + 2
        assert app.json("GET", "/api/v1/ledger/verify")["ok"] is True
