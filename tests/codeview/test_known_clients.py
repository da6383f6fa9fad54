"""The scan writer sends a code's client to ``scan_client`` once, not with every repeat scan."""

from __future__ import annotations

import datetime as dt

from trace.codeview.live import KnownClients
from trace.codeview.scanbuffer import ScanRow

T0 = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)


def scan(code_id: int | None, client: str, minutes: int = 0) -> ScanRow:
    return ScanRow(code_id, 7, T0 + dt.timedelta(minutes=minutes), client, None, "vi")


def test_a_repeat_in_one_flush_is_sent_once_with_its_first_time() -> None:
    known = KnownClients()
    rows = [scan(1, "a", 5), scan(1, "a", 2), scan(1, "b", 9), scan(2, "a", 1), scan(None, "a")]
    fresh = known.new(rows)
    assert sorted((r.code_id, r.client_hash, r.at) for r in fresh) == [
        (1, "a", T0 + dt.timedelta(minutes=2)),
        (1, "b", T0 + dt.timedelta(minutes=9)),
        (2, "a", T0 + dt.timedelta(minutes=1)),
    ]


def test_pairs_written_are_not_sent_again_but_pairs_not_committed_are() -> None:
    known = KnownClients()
    first = known.new([scan(1, "a"), scan(1, "b")])
    known.written(first[:1])  # as if only the first had been committed
    again = known.new([scan(1, "a", 3), scan(1, "b", 3), scan(1, "c", 3)])
    assert sorted(r.client_hash for r in again) == ["b", "c"]


def test_the_set_is_emptied_past_its_limit() -> None:
    known = KnownClients(limit=3)
    known.written(known.new([scan(1, "a"), scan(1, "b")]))
    assert known.new([scan(1, "a")]) == []
    known.written(known.new([scan(1, "c"), scan(1, "d")]))  # 2 + 2 > 3: emptied first
    assert known.pairs == {(1, "c"), (1, "d")}
    assert [r.client_hash for r in known.new([scan(1, "a")])] == ["a"]
