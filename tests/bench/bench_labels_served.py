"""Label PDFs through the served app: gunicorn (2 workers) and the job worker, as the quick start
runs them (``scripts/run.sh``), on SQLite (default) or ``--database postgresql://…``.

Run from the checkout: ``.venv/bin/python tests/bench/bench_labels_served.py --count 2000 50000``.

For each count: a serialised print run is created over HTTP (``a4-3x8-70x37``), then
``labels.pdf`` is polled (as a client honouring ``Retry-After`` would, but at most every 0.5 s)
until the PDF has been downloaded. Printed: seconds from the POST to the last byte, labels/s
over that time, the render job's own time (its started/finished), the PDF's size, and what
creating the run took (issuing the codes). While it runs, a probe client asks for a public page
and a batch list every 0.5 s; printed: the slowest request of the run (from gunicorn's access
log, which carries each request's milliseconds) and the probe's slowest. Afterwards: the peak
RSS (VmHWM) of the job worker, the gunicorn master and each gunicorn worker, the QR codes of
the first and last pages decoded and compared with the run's codes (``--decode``), and the
processes of the server left after SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package is named ``trace``: the checkout must come first
    sys.path.insert(0, str(ROOT))

from tests.served import (  # noqa: E402
    Served,
    download_labels,
    printable_batch,
    served,
    session_processes,
    throwaway_database,
)

_ACCESS = re.compile(r'"(?P<request>[A-Z]+ \S+) [^"]*" (?P<status>\d{3}) \S+ (?P<ms>\d+)ms$')


def _role(pid: int) -> str:
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    text = b" ".join(argv).decode(errors="replace")
    if "gunicorn" in text:
        return "gunicorn"
    if "worker" in text and "flask" in text:
        return "job worker"
    return "run.sh" if "run.sh" in text else text[:40]


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Watch:
    """Samples the server's processes (peak RSS) and probes it (slowest answer) while it runs."""

    def __init__(self, app: Served) -> None:
        self.app, self.stop = app, threading.Event()
        self.peaks: dict[int, tuple[str, int]] = {}
        self.probe_max: tuple[float, str] = (0.0, "")
        self.threads = [threading.Thread(target=self._sample, daemon=True),
                        threading.Thread(target=self._probe, daemon=True)]  # fmt: skip

    def __enter__(self) -> Watch:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.sample_once()
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def sample_once(self) -> None:
        for pid in session_processes(self.app.process.pid):
            try:
                peak = max(_status_kb(pid, "VmHWM"), _status_kb(pid, "VmRSS"))
                role = self.peaks[pid][0] if pid in self.peaks else _role(pid)
            except OSError:
                continue
            self.peaks[pid] = (role, max(peak, self.peaks.get(pid, ("", 0))[1]))

    def _sample(self) -> None:
        while not self.stop.wait(0.25):
            self.sample_once()

    def _probe(self) -> None:
        paths = ["/healthz", "/api/v1/batches?limit=20"]
        public = self.app.json("GET", "/api/v1/batches?limit=1")["items"][0]["links"]["public"]
        paths.append(urllib.parse.urlsplit(public).path)
        while not self.stop.wait(0.5):
            for path in paths:
                started = time.monotonic()
                request = urllib.request.Request(self.app.base + path)
                request.add_header("Authorization", f"Bearer {self.app.tokens['producer']}")
                try:
                    with urllib.request.urlopen(request, timeout=120) as response:
                        response.read()
                except OSError:
                    pass
                elapsed = time.monotonic() - started
                if elapsed > self.probe_max[0]:
                    self.probe_max = (elapsed, path)


def slowest_logged(log: Path, skip: int) -> tuple[int, str]:
    """The slowest request in gunicorn's access log after its first ``skip`` bytes."""
    worst = (0, "")
    with log.open("rb") as f:
        f.seek(skip)
        for line in f.read().decode(errors="replace").splitlines():
            match = _ACCESS.search(line)
            if match and int(match["ms"]) > worst[0]:
                worst = (int(match["ms"]), f"{match['request']} {match['status']}")
    return worst


def decode_first_and_last(app: Served, run_id: int, data: bytes, count: int) -> str:
    import pypdfium2 as pdfium

    from tests.jobs.test_served_labels import _decode_page

    uris: list[str] = []
    cursor = ""
    while True:
        page = app.json("GET", f"/api/v1/print-runs/{run_id}/codes?limit=500{cursor}")
        uris += [c["uri"] for c in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert len(uris) == count, len(uris)
    pdf = pdfium.PdfDocument(data)
    pages = len(pdf)
    assert pages == -(-count // 24), pages
    for index in (0, pages - 1):
        expected = uris[index * 24 : (index + 1) * 24]
        found = _decode_page(pdf, index)
        assert found[: len(expected)] == expected, (index, found, expected)
        assert found[len(expected) :] == [None] * (24 - len(expected)), index
    last = len(uris) - (pages - 1) * 24
    return f"{pages} pages; QR codes of page 1 (24) and page {pages} ({last}) decoded = the run's"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, nargs="+", default=[2000, 50000])
    parser.add_argument("--database", help="a PostgreSQL server URL; default: SQLite")
    parser.add_argument("--decode", action="store_true", help="decode the first and last pages")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
          f"database {'PostgreSQL' if args.database else 'SQLite'}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with throwaway_database(args.database, folder) as url, served(folder, url) as app:
            for count in args.count:
                skip = app.log.stat().st_size
                with Watch(app) as watch:
                    started = time.monotonic()
                    run = printable_batch(app, count)
                    created = time.monotonic() - started
                    data, pending = download_labels(app, run["id"], timeout=1800)
                    total = time.monotonic() - started
                job = app.json("GET", pending[-1]["links"]["self"]) if pending else None
                render = (
                    (dt.datetime.fromisoformat(job["finished_at"])
                     - dt.datetime.fromisoformat(job["started_at"])).total_seconds()
                    if job else float("nan")
                )  # fmt: skip
                print(
                    f"{count:>6} labels: {total:6.1f} s POST to PDF, "
                    f"{count / total:6.0f} labels/s; "
                    f"run created in {created:.1f} s, render job {render:.1f} s "
                    f"({count / render:.0f} labels/s), {len(pending)} polls answered 202, "
                    f"PDF {len(data) / 1e6:.1f} MB; load {os.getloadavg()[0]:.1f}"
                )
                ms, request = slowest_logged(app.log, skip)
                probe_ms, probed = watch.probe_max[0] * 1000, watch.probe_max[1]
                print(f"        slowest request (access log): {ms} ms, {request}; probe's "
                      f"slowest: {probe_ms:.0f} ms, {probed}")  # fmt: skip
                for pid, (role, kb) in sorted(watch.peaks.items(), key=lambda p: p[1]):
                    print(f"        peak RSS {role} (pid {pid}): {kb / 1024:.0f} MB")
                if args.decode:
                    print("        " + decode_first_and_last(app, run["id"], data, count))
            sid = app.process.pid
        deadline = time.monotonic() + 10
        while session_processes(sid) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = session_processes(sid)
        print(f"processes left after SIGTERM: {len(left)}")
        log = app.log.read_text(errors="replace")
        print(f"WORKER TIMEOUT in the log: {'WORKER TIMEOUT' in log}; "
              f"Traceback in the log: {'Traceback' in log}")  # fmt: skip


if __name__ == "__main__":
    main()
