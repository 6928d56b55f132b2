"""Dispatch order per mode: key lanes, partition lanes, unordered."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from consumer.ordering import Scheduler, start_group, starts_now
from consumer.records import Record, TopicPartition
from consumer.settings import Ordering


def rec(offset: int, key: bytes | None = b"k", partition: int = 0) -> Record:
    return Record(topic="t", partition=partition, offset=offset, key=key, value=b"{}")


def drain_ready(s: Scheduler) -> list[int]:
    out = []
    while (r := s.take()) is not None:
        out.append(r.offset)
    return out


def test_key_mode_runs_one_record_per_key_at_a_time() -> None:
    s = Scheduler(Ordering.KEY)
    for off, key in [(0, b"a"), (1, b"b"), (2, b"a"), (3, b"c"), (4, b"a")]:
        s.submit(rec(off, key))
    assert drain_ready(s) == [0, 1, 3]
    s.complete(rec(0, b"a"))
    assert drain_ready(s) == [2]
    s.complete(rec(2, b"a"))
    assert drain_ready(s) == [4]


def test_records_without_a_key_are_not_serialised_in_key_mode() -> None:
    s = Scheduler(Ordering.KEY)
    for off in range(3):
        s.submit(rec(off, None))
    assert drain_ready(s) == [0, 1, 2]


def test_partition_mode_is_strict_within_a_partition_and_parallel_across() -> None:
    s = Scheduler(Ordering.PARTITION)
    s.submit(rec(0, b"a", 0))
    s.submit(rec(1, b"b", 0))
    s.submit(rec(0, b"a", 1))
    assert drain_ready(s) == [0, 0]
    s.complete(rec(0, b"a", 0))
    assert drain_ready(s) == [1]


def test_unordered_mode_makes_everything_ready() -> None:
    s = Scheduler(Ordering.UNORDERED)
    for off in range(4):
        s.submit(rec(off, b"same"))
    assert drain_ready(s) == [0, 1, 2, 3]


def test_dropping_a_partition_forgets_its_queue_and_ignores_late_completions() -> None:
    s = Scheduler(Ordering.KEY)
    s.submit(rec(0, b"a", 0))
    s.submit(rec(1, b"a", 0))
    s.submit(rec(0, b"a", 1))
    assert s.take() is not None
    assert s.drop_partitions({TopicPartition("t", 0)}) == 2
    s.complete(rec(0, b"a", 0))  # late completion of a revoked record
    assert drain_ready(s) == [0]  # only partition 1's record
    assert s.queued == 1


@settings(max_examples=300, deadline=None)
@given(
    keys=st.lists(st.sampled_from([b"a", b"b", b"c", None]), min_size=1, max_size=60),
    picks=st.lists(st.integers(0, 100), max_size=200),
)
def test_key_mode_completes_every_key_in_offset_order(keys: list[bytes | None], picks: list[int]) -> None:
    s = Scheduler(Ordering.KEY)
    records = [rec(i, k) for i, k in enumerate(keys)]
    for r in records:
        s.submit(r)
    in_flight: list[Record] = []
    finished: list[Record] = []
    for p in [*picks, *range(len(records) * 2)]:
        while (r := s.take()) is not None:
            in_flight.append(r)
        if not in_flight:
            break
        r = in_flight.pop(p % len(in_flight))
        s.complete(r)
        finished.append(r)
    assert len(finished) == len(records)
    for key in (b"a", b"b", b"c"):
        offsets = [r.offset for r in finished if r.key == key]
        assert offsets == sorted(offsets)


def test_queued_counts_every_record_submitted_and_not_completed() -> None:
    s = Scheduler(Ordering.KEY)
    for off, key in [(0, b"a"), (1, b"a"), (2, b"b")]:
        s.submit(rec(off, key))
    assert s.queued == 3
    s.complete(rec(0, b"a"))
    assert s.queued == 2
    s.complete(rec(1, b"a"))
    s.complete(rec(2, b"b"))
    assert s.queued == 0  # drained: the worker may stop


def test_a_late_completion_of_a_revoked_record_leaves_the_new_lane_alone() -> None:
    s = Scheduler(Ordering.KEY)
    s.submit(rec(5, b"a"))
    assert drain_ready(s) == [5]  # in flight when the partition is revoked
    assert s.drop_partitions({TopicPartition("t", 0)}) == 1
    s.submit(rec(7, b"a"))  # reassigned: fetched again from the committed offset, new head
    s.submit(rec(8, b"a"))
    assert drain_ready(s) == [7]
    s.complete(rec(5, b"a"))  # the old task finishes late
    assert (s.queued, drain_ready(s)) == (2, [])  # 7 is still the head: 8 waits for it
    s.complete(rec(7, b"a"))
    assert drain_ready(s) == [8]


def test_dropping_a_partition_counts_the_records_of_all_its_lanes() -> None:
    s = Scheduler(Ordering.KEY)
    for off, key in [(0, b"a"), (1, b"a"), (2, b"b")]:
        s.submit(rec(off, key))
    s.submit(rec(0, b"a", partition=1))
    assert s.drop_partitions({TopicPartition("t", 0)}) == 3
    assert s.queued == 1
    assert drain_ready(s) == [0]  # only partition 1's record is still ready


def test_the_start_group_is_the_largest_divisor_of_the_slots_up_to_the_batch() -> None:
    assert [start_group(batch, 64) for batch in (1, 2, 3, 4, 5, 8, 9, 64, 100)] == [
        1,
        2,
        2,
        4,
        4,
        8,
        8,
        64,
        64,
    ]
    assert [start_group(4, capacity) for capacity in (1, 2, 3, 6, 7, 30)] == [1, 2, 3, 3, 1, 3]


def test_ready_records_start_when_all_fit_or_once_a_group_of_slots_is_free() -> None:
    assert starts_now(free=3, ready=3, group=4)  # every ready record fits: none waits
    assert not starts_now(free=3, ready=4, group=4)  # a backlog: wait for a whole group
    assert starts_now(free=4, ready=100, group=4)
    assert starts_now(free=5, ready=100, group=4)
    assert starts_now(free=1, ready=1, group=1)
    assert not starts_now(free=0, ready=0, group=1)  # no slot
    assert not starts_now(free=0, ready=5, group=1)
