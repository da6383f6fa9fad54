"""What the render cache's drop-by-batch costs a view: a hit, a miss (make and keep), and a
drop of one batch among many kept, per operation, wall and CPU time.

    .venv/bin/python -m tests.bench.bench_render_cache [--compare path/to/old/cache.py]

``--compare`` loads another version of ``trace/public/cache.py`` (e.g. ``git show
main:trace/public/cache.py > /tmp/old_cache.py``) and prints its figures beside.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from types import ModuleType
from typing import Any

from trace.public import cache

N = 200_000


def _load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("cache_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _timed(label: str, n: int, run: Any) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {label:<28} {wall / n * 1e9:8.0f} ns wall {cpu / n * 1e9:8.0f} ns CPU per op")


def bench(module: ModuleType, tagged: bool) -> None:
    store = module.RenderCache()
    keys = [("skeleton", i % 1000, "token") for i in range(4000)]
    extra = (lambda k: (k[1],)) if tagged else (lambda k: ())

    def fill() -> None:
        for key in keys:
            store.get_or_make(key, 60.0, lambda: b"page", *extra(key))

    def hits() -> None:
        get = store.get_or_make
        for i in range(N):
            key = keys[i % 4000]
            get(key, 60.0, lambda: b"page", *extra(key))

    _timed("miss (make and keep)", len(keys), fill)
    _timed("hit", N, hits)
    if tagged:

        def drops() -> None:
            for i in range(1000):
                store.drop(frozenset({i}))

        fill()
        _timed("drop one batch of 1000", 1000, drops)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--compare")
    args = parser.parse_args()
    with open("/proc/loadavg") as load:
        print(f"load average: {load.read().strip()}")
    print("this version (tagged by batch):")
    bench(cache, tagged=True)
    if args.compare:
        print(f"{args.compare} (untagged):")
        bench(_load(args.compare), tagged=False)


if __name__ == "__main__":
    main()
