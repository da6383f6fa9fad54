"""trace.collector: what the gunicorn workers, the job worker and the CLI import do to the garbage
collector."""

from __future__ import annotations

import gc

import pytest

from trace import collector


def test_freezing_keeps_what_is_alive_out_of_collections() -> None:
    gc.unfreeze()
    try:
        kept = [[n] for n in range(1000)]  # containers the collector tracks
        frozen = collector.freeze_startup_objects()
        # Other threads of the test process may free frozen objects meanwhile: the count only
        # falls, so it is compared once; the kept objects are what must be out of collections.
        assert frozen >= len(kept)
        collected = {id(o) for o in gc.get_objects()}  # the generations collections walk
        assert not any(id(k) in collected for k in kept)
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


def test_the_young_threshold_is_restored_even_after_an_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), collector.young_threshold(before[0] * 10):
        assert gc.get_threshold() == (before[0] * 10, *before[1:])
        raise RuntimeError("the import failed")
    assert gc.get_threshold() == before
