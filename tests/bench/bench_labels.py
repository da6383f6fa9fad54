"""Label sheet benchmark: our PDF writer against a naive qrcode-per-label baseline.

Run from the checkout: ``.venv/bin/python tests/bench/bench_labels.py [--count 10000]``.

Prints the baseline rate (``qrcode.make(uri)`` saved as PNG, one label at a time, on a sample),
our rate for ``--count`` serialised labels written to a PDF file, the ratio, and the peak RSS
of a separate run of ``--rss-count`` labels measured in a child process.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package is named ``trace``: the checkout must come first
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from trace.labels.sheets import LabelContent

GTIN = "08935049510011"
HOST = "https://trace.example.vn"


def make_labels(count: int) -> Iterator[LabelContent]:
    """Serialised labels of one batch, alternating the two URI forms; generated lazily."""
    from trace.labels.codes import new_unit_code
    from trace.labels.sheets import LabelContent

    for i in range(count):
        code = new_unit_code()
        uri = f"{HOST}/q/{code}" if i % 2 else f"{HOST}/01/{GTIN}/10/LNB2406A/21/{code}"
        yield LabelContent(
            uri=uri,
            product_name="Vải thiều Lục Ngạn",
            lot="LNB2406A",
            production_date="2024-06-15",
            expiry_date="2024-07-15",
            producer="HTX Nông sản Lục Ngạn, Bắc Giang",
            code_text=code,
        )


def baseline_rate(sample: int) -> float:
    """Naive approach: one ``qrcode.make`` + PNG save per label."""
    import qrcode

    uris = [label.uri for label in make_labels(sample)]
    start = time.perf_counter()
    for uri in uris:
        buf = io.BytesIO()
        qrcode.make(uri).save(buf, format="PNG")
    return sample / (time.perf_counter() - start)


def matrix_rates(sample: int) -> tuple[float, float]:
    """QR matrices per second: ``qrcode`` (make, no image) and our ``qr_matrix``."""
    import qrcode

    from trace.labels.qr import qr_matrix

    uris = [label.uri for label in make_labels(sample * 10)]
    start = time.perf_counter()
    for uri in uris[:sample]:
        code = qrcode.QRCode()
        code.add_data(uri)
        code.make()
    reference = sample / (time.perf_counter() - start)
    start = time.perf_counter()
    for uri in uris:
        qr_matrix(uri)
    return reference, len(uris) / (time.perf_counter() - start)


def our_rate(count: int, template: str, workers: int | None) -> tuple[float, int]:
    from trace.labels.sheets import TEMPLATES, write_label_pdf

    labels = list(make_labels(count))  # build the input outside the timed section
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "labels.pdf"
        start = time.perf_counter()
        with path.open("wb") as out:
            written = write_label_pdf(labels, TEMPLATES[template], out, workers=workers)
        elapsed = time.perf_counter() - start
        size = path.stat().st_size
    assert written == count
    return count / elapsed, size


def child_rss(count: int, template: str, workers: int | None) -> None:
    """Child mode: stream ``count`` labels (generated lazily) to a file, print own peak RSS."""
    from trace.labels.sheets import TEMPLATES, write_label_pdf

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "labels.pdf"
        start = time.perf_counter()
        with path.open("wb") as out:
            write_label_pdf(make_labels(count), TEMPLATES[template], out, workers=workers)
        elapsed = time.perf_counter() - start
        size = path.stat().st_size
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{count / elapsed:.0f} {size} {own:.1f} {kids:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--baseline-sample", type=int, default=300)
    parser.add_argument("--rss-count", type=int, default=50_000)
    parser.add_argument("--template", default="a4-5x13-38x21")
    parser.add_argument("--workers", type=int, default=None, help="default: automatic")
    parser.add_argument("--child-rss", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child_rss:
        child_rss(args.child_rss, args.template, args.workers)
        return

    print(f"machine: {os.cpu_count()} CPUs, template {args.template}, workers {args.workers}")
    base = baseline_rate(args.baseline_sample)
    print(f"baseline (qrcode.make + PNG, {args.baseline_sample} labels): {base:,.0f} labels/s")
    reference, fast = matrix_rates(args.baseline_sample)
    print(f"QR matrices, one process: qrcode {reference:,.0f}/s, qr_matrix {fast:,.0f}/s")
    rate, size = our_rate(args.count, args.template, args.workers)
    print(f"ours ({args.count:,} labels -> PDF, {size / 1e6:.1f} MB): {rate:,.0f} labels/s")
    print(f"ratio: {rate / base:.1f}x  (required: >= 8x and >= 1,000 labels/s)")

    if args.rss_count:
        cmd = [sys.executable, __file__, "--child-rss", str(args.rss_count)]
        cmd += ["--template", args.template]
        if args.workers is not None:
            cmd += ["--workers", str(args.workers)]
        proc = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
        child_rate, child_size, own, workers_peak = proc.stdout.split()
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"peak RSS, {args.rss_count:,} labels in a child process: {peak:.0f} MB "
            f"(writer process {float(own):.0f} MB, largest worker {float(workers_peak):.0f} MB; "
            f"{float(child_rate):,.0f} labels/s, {int(child_size) / 1e6:.1f} MB PDF)"
        )


if __name__ == "__main__":
    main()
