"""EPCIS validation benchmark: one document of 10,000 events through ``validate_document``
(schema, vocabularies and the checks the schema misses) — target ≤ 2.0 s.

The suite keeps the correctness half (``tests/epcis/test_validation.py``: the same document
validates clean); the wall-clock half lives here, where a loaded machine cannot fail the suite.
Prints its figures; exits 1 when the median misses the target.

Run: ``scripts/bench.sh validation [--events 10000 --repeat 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package is named ``trace``: the checkout must come first
    sys.path.insert(0, str(ROOT))

from trace.epcis.validation import validate_document  # noqa: E402

TARGET_SECONDS = 2.0


def document(count: int) -> dict:
    events = [
        {
            "type": "ObjectEvent",
            "eventTime": "2024-05-01T08:30:00+07:00",
            "eventTimeZoneOffset": "+07:00",
            "epcList": [f"urn:epc:id:sgtin:8934567.012345.{i}"],
            "action": "OBSERVE",
            "bizStep": "shipping",
        }
        for i in range(count)
    ]
    return {
        "@context": [
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"example": "https://ns.example.com/epcis/"},
        ],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-01T09:00:00Z",
        "epcisBody": {"eventList": events},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    doc = document(args.events)
    validate_document(document(1))  # compile the schema once, as a served worker has
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        problems = validate_document(doc)
        times.append(time.perf_counter() - start)
        if problems:
            print(f"unexpected problems: {problems[:3]}")
            return 1
    median = statistics.median(times)
    spread = f"best {min(times):.3f} s, worst {max(times):.3f} s over {args.repeat} runs"
    print(f"validate {args.events} events: median {median:.3f} s, {spread} "
          f"(target ≤ {TARGET_SECONDS} s)")  # fmt: skip
    return 0 if median <= TARGET_SECONDS * args.events / 10_000 else 1


if __name__ == "__main__":
    sys.exit(main())
