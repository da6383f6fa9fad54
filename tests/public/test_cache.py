"""The render cache: parts dropped by batch when a change is reported, and parts made while
their batch changed never kept."""

from __future__ import annotations

from typing import Any

from trace.public.cache import MAX_DROPPED, RenderCache

TTL = 60.0


def _keep(cache: RenderCache, key: Any, value: Any, batch: int | None) -> Any:
    return cache.get_or_make(key, TTL, lambda: value, batch)


def _kept(cache: RenderCache, key: Any) -> bool:
    return cache.get_or_make(key, TTL, lambda: "made again") != "made again"


def test_dropping_a_batch_forgets_its_parts_only() -> None:
    cache = RenderCache()
    _keep(cache, ("skeleton", 1, "t"), "one", 1)
    _keep(cache, ("html", 77, "t"), "one's code", 1)
    _keep(cache, ("skeleton", 2, "t"), "two", 2)
    _keep(cache, ("verified", "vi"), "mark", None)
    cache.drop(frozenset({1, 3}))
    assert not _kept(cache, ("skeleton", 1, "t"))
    assert not _kept(cache, ("html", 77, "t"))
    assert _kept(cache, ("skeleton", 2, "t")) and _kept(cache, ("verified", "vi"))
    cache.drop(None)
    assert not _kept(cache, ("skeleton", 2, "t")) and not _kept(cache, ("verified", "vi"))


def test_a_part_made_while_its_batch_changed_is_returned_not_kept() -> None:
    cache = RenderCache()

    def made_during_a_change(batches: frozenset[int] | None) -> Any:
        def make() -> str:
            cache.drop(batches)  # the notification arrives while the part is being made
            return "read before the change"

        return cache.get_or_make(("skeleton", 1), TTL, make, 1)

    assert made_during_a_change(frozenset({1})) == "read before the change"
    assert not _kept(cache, ("skeleton", 1))
    cache.drop(None)
    made_during_a_change(None)
    assert not _kept(cache, ("skeleton", 1))
    cache.drop(None)
    made_during_a_change(frozenset({2}))  # another batch's change: kept
    assert _kept(cache, ("skeleton", 1))


def test_many_dropped_batches_count_as_a_change_of_everything_for_parts_in_the_making() -> None:
    cache = RenderCache()

    def make() -> str:
        cache.drop(frozenset(range(10, 10 + MAX_DROPPED + 1)))
        return "part"

    cache.get_or_make(("skeleton", 1), TTL, make, 1)
    assert not _kept(cache, ("skeleton", 1))


def test_evicted_and_replaced_parts_leave_no_stale_tags() -> None:
    cache = RenderCache(max_entries=2)
    _keep(cache, "a", 1, 1)
    cache.put("a", TTL, 2, 2)  # the same key, now of batch 2
    cache.drop(frozenset({1}))
    assert _kept(cache, "a")
    _keep(cache, "b", 3, 3)
    _keep(cache, "c", 4, 4)  # evicts "a"
    cache.drop(frozenset({2}))
    assert _kept(cache, "b") and _kept(cache, "c")
    assert cache._by_batch.keys() == {3, 4}


def test_turned_off_it_keeps_nothing() -> None:
    cache = RenderCache()
    cache.get_or_make("a", 0, lambda: 1, 1)
    cache.put("b", 0, 1, 1)
    assert not _kept(cache, "a") and not _kept(cache, "b")
