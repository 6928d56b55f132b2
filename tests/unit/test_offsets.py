"""The offset tracker never lets a commit pass an offset that is not done (I5), and a restarted owner
skips only offsets that were done."""

from __future__ import annotations

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from consumer.offset_metadata import DoneOffsets, decode, encode
from consumer.offsets import PartitionTracker


def test_position_waits_for_the_lowest_offset_that_is_not_done() -> None:
    t = PartitionTracker(generation=1)
    for off in (10, 11, 12, 13):
        t.track(off)
    t.done(12)
    t.done(11)
    assert t.position == 10
    t.done(10)
    assert t.position == 13
    t.done(13)
    assert t.position == 14
    assert t.window == 0


def test_gaps_in_fetched_offsets_are_skipped() -> None:
    t = PartitionTracker(generation=1)
    for off in (3, 7, 8):
        t.track(off)
    t.done(3)
    assert t.position == 7  # 4..6 were never fetched (compacted or transaction markers)
    t.done(8)
    assert t.position == 7
    t.done(7)
    assert t.position == 9


def test_commit_due_only_when_the_position_moved() -> None:
    t = PartitionTracker(generation=1)
    t.track(0)
    t.track(1)
    t.done(0)
    assert t.commit_due() == 1
    t.committed_at(1)
    assert t.commit_due() is None
    t.done(1)
    assert t.commit_due() == 2


def test_a_fenced_tracker_ignores_late_completions() -> None:
    t = PartitionTracker(generation=1)
    t.track(0)
    t.fence()
    assert t.done(0) is False
    assert t.position == 0


def test_out_of_order_fetches_are_rejected() -> None:
    t = PartitionTracker(generation=1)
    t.track(5)
    with pytest.raises(ValueError, match="out of order"):
        t.track(5)


def test_a_record_tracked_without_a_fetch_time_counts_as_fetched_at_zero() -> None:
    t = PartitionTracker(generation=1)
    t.track(0)
    assert t.oldest_incomplete_since() == 0.0


def test_oldest_incomplete_reports_the_fetch_time_of_the_head() -> None:
    t = PartitionTracker(generation=1)
    t.track(0, fetched_at=100.0)
    t.track(1, fetched_at=101.0)
    t.done(0)
    assert t.oldest_incomplete_since() == 101.0
    t.done(1)
    assert t.oldest_incomplete_since() is None


@st.composite
def log_and_schedule(
    draw: st.DrawFn, kinds: tuple[str, ...] = ("fetch", "complete", "commit", "revoke"), min_actions: int = 0
) -> tuple[list[int], list[tuple[str, int]]]:
    """A partition log (increasing offsets with gaps) and a schedule of consumer actions."""
    gaps = draw(st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=40))
    offsets: list[int] = []
    cur = draw(st.integers(min_value=0, max_value=5))
    for g in gaps:
        offsets.append(cur)
        cur += g
    actions = draw(
        st.lists(
            st.tuples(st.sampled_from(kinds), st.integers(0, 1000)),
            min_size=min_actions,
            max_size=200,
        )
    )
    return offsets, actions


@pytest.mark.timeout(900)  # 10,000 examples: about a minute on a quiet machine, several under load
@settings(max_examples=10_000, deadline=None)
@given(log_and_schedule())
def test_committed_position_never_passes_an_offset_that_is_not_done(
    case: tuple[list[int], list[tuple[str, int]]],
) -> None:
    offsets, actions = case
    done_ever: set[int] = set()  # done in any generation (the email was confirmed / dead-lettered)
    committed = 0  # the group's committed position in Kafka
    generation = 1
    tracker = PartitionTracker(generation=generation)
    fetched: list[int] = []  # tracked in the current generation, in order
    next_fetch = 0  # index into offsets

    def check(position: int) -> None:
        assert all(o in done_ever for o in offsets if o < position), (position, sorted(done_ever))

    for kind, n in actions:
        if kind == "fetch" and next_fetch < len(offsets):
            tracker.track(offsets[next_fetch])
            fetched.append(offsets[next_fetch])
            next_fetch += 1
        elif kind == "complete":
            if fetched:
                o = fetched[n % len(fetched)]
                if tracker.done(o):
                    done_ever.add(o)
        elif kind == "commit":
            pos = tracker.commit_due()
            if pos is not None:
                check(pos)
                committed = max(committed, pos)
                tracker.committed_at(pos)
        elif kind == "revoke":
            # rebalance: commit what is due, fence, resume from the committed position
            pos = tracker.commit_due()
            if pos is not None:
                check(pos)
                committed = max(committed, pos)
            tracker.fence()
            generation += 1
            tracker = PartitionTracker(generation=generation, committed=committed)
            fetched = []
            next_fetch = next((i for i, o in enumerate(offsets) if o >= committed), len(offsets))

    # drain: fetch and complete everything left, in reverse order, then commit
    while next_fetch < len(offsets):
        tracker.track(offsets[next_fetch])
        fetched.append(offsets[next_fetch])
        next_fetch += 1
    for o in reversed(fetched):
        if tracker.done(o):
            done_ever.add(o)
    final = tracker.commit_due()
    if final is not None:
        check(final)
        committed = max(committed, final)
    assert committed == offsets[-1] + 1


def test_done_offsets_above_the_position_join_across_offsets_never_fetched() -> None:
    t = PartitionTracker(generation=1)
    for off in (10, 11, 14, 15, 16, 20):
        t.track(off)
    for off in (11, 14, 16):
        t.done(off)
    assert t.position == 10
    assert t.done_above().ranges == ((11, 15), (16, 17))  # 12, 13 were never returned by the broker


def test_done_above_includes_what_an_earlier_owner_finished_beyond_the_position() -> None:
    t = PartitionTracker(generation=1)
    t.restore(DoneOffsets(((3, 5), (12, 14), (40, 41))))
    for off in (10, 11, 12, 13):
        t.track(off)
    t.done(11)
    assert t.known_done(12)
    assert not t.known_done(10)
    assert t.done_above().ranges == ((11, 14), (40, 41))  # (3, 5) is below the position: dropped


def test_a_restoring_tracker_commits_nothing() -> None:
    t = PartitionTracker(generation=1, restoring=True)
    t.track(0)
    t.track(1)
    assert t.commit_due() is None
    t.restore(DoneOffsets(((1, 2),)))
    assert t.commit_due() == 0


def test_with_done_above_a_commit_is_due_when_more_is_done_above_an_unmoved_position() -> None:
    t = PartitionTracker(generation=1)
    for off in range(4):
        t.track(off)
    t.done(2)
    assert t.commit_due(done_above=True) == 0
    t.committed_at(0, t.marks)
    assert t.commit_due(done_above=True) is None
    t.done(3)
    assert t.commit_due() is None  # the position alone did not move
    assert t.commit_due(done_above=True) == 0


@settings(max_examples=2_000, deadline=None)
@given(
    log_and_schedule(
        kinds=("fetch", "fetch", "complete", "complete", "complete", "commit", "revoke"), min_actions=40
    ),
    st.integers(min_value=0, max_value=200),
)
def test_a_restarted_owner_skips_only_offsets_that_were_done(
    case: tuple[list[int], list[tuple[str, int]]], budget: int
) -> None:
    """Commits carry the done offsets above the position (in a random budget); after each revocation
    a new tracker restores them from the committed metadata and skips what they name."""
    offsets, actions = case
    done_ever: set[int] = set()
    stored: tuple[int, str] = (0, "")  # what Kafka holds: (position, metadata)
    tracker = PartitionTracker(generation=1)
    fetched: list[int] = []
    next_fetch = 0
    skipped = 0

    def commit() -> None:
        nonlocal stored
        pos = tracker.commit_due(done_above=True)
        if pos is not None:
            assert all(o in done_ever for o in offsets if o < pos)
            stored = (pos, encode("t", 0, pos, tracker.done_above(), budget))
            tracker.committed_at(pos, tracker.marks)

    def fetch() -> None:
        nonlocal next_fetch, skipped
        o = offsets[next_fetch]
        next_fetch += 1
        tracker.track(o)
        fetched.append(o)
        if tracker.known_done(o):
            assert o in done_ever  # the safety property: a skip is always of a done offset
            tracker.done(o)
            skipped += 1

    for kind, n in actions:
        if kind == "fetch" and next_fetch < len(offsets):
            fetch()
        elif kind == "complete" and fetched:
            o = fetched[n % len(fetched)]
            if tracker.done(o):
                done_ever.add(o)
        elif kind == "commit":
            commit()
        elif kind == "revoke":
            commit()
            tracker.fence()
            tracker = PartitionTracker(generation=tracker.generation + 1, committed=stored[0], restoring=True)
            tracker.restore(decode("t", 0, *stored).done)
            fetched = []
            next_fetch = next((i for i, o in enumerate(offsets) if o >= stored[0]), len(offsets))

    while next_fetch < len(offsets):
        fetch()
    for o in reversed(fetched):
        if tracker.done(o):
            done_ever.add(o)
    commit()
    event("restored skips" if skipped else "no skip")
    assert stored[0] == offsets[-1] + 1
    assert done_ever | {o for o in offsets if o in tracker.restored} >= set(offsets)


def test_a_completion_below_the_head_is_refused_and_not_counted_twice() -> None:
    t = PartitionTracker(generation=1)
    for off in (4, 5, 6):
        t.track(off)
    assert t.done(4) is True
    assert t.marks == 1
    assert t.done(4) is False  # already done and released: a duplicate completion
    assert t.done(3) is False  # never tracked, below the head
    assert t.marks == 1
    assert t.position == 5
    assert t.window == 2


def test_a_completion_on_an_empty_tracker_is_refused() -> None:
    t = PartitionTracker(generation=1)
    assert t.done(0) is False
    assert t.marks == 0
    assert t.position is None


def test_each_completion_counts_one_mark() -> None:
    t = PartitionTracker(generation=1)
    for off in range(3):
        t.track(off)
    marks = [t.marks]
    for off in (2, 1, 0):
        t.done(off)
        marks.append(t.marks)
    assert marks == [0, 1, 2, 3]


def test_the_position_is_the_first_fetched_offset_until_it_is_done() -> None:
    t = PartitionTracker(generation=1)
    assert t.position is None
    t.track(7)
    assert (t.position, t.window) == (7, 1)
    t.track(9)
    t.done(9)
    assert (t.position, t.window) == (7, 2)
    t.done(7)
    assert (t.position, t.window) == (10, 0)


def test_fetching_resumes_at_the_position_and_never_below_it() -> None:
    t = PartitionTracker(generation=1)
    t.track(5)
    t.done(5)
    assert t.position == 6
    with pytest.raises(ValueError, match=r"^offset 5 is below the tracked position 6$"):
        t.track(5)
    with pytest.raises(ValueError, match=r"^offset 4 is below the tracked position 6$"):
        t.track(4)
    t.track(6)  # exactly the position: the next record
    assert t.position == 6
    assert t.window == 1


def test_an_offset_below_the_last_fetched_one_is_rejected() -> None:
    t = PartitionTracker(generation=1)
    t.track(5)
    t.track(8)
    with pytest.raises(ValueError, match=r"^offset 7 fetched out of order$"):
        t.track(7)
    t.track(9)
    assert t.window == 3


def test_the_window_counts_every_fetched_record_up_to_the_first_not_done() -> None:
    t = PartitionTracker(generation=1)
    for off in (0, 1, 2, 3):
        t.track(off)
    assert t.window == 4
    t.done(1)
    assert t.window == 4  # 1 is done but 0 holds the position
    t.done(0)
    assert t.window == 2


def test_a_late_commit_callback_never_moves_the_committed_position_back() -> None:
    t = PartitionTracker(generation=1)
    t.committed_at(8)
    assert t.committed == 8
    t.committed_at(5)  # an older commit acknowledged after a newer one
    assert t.committed == 8
    t.committed_at(9)
    assert t.committed == 9


def test_a_position_behind_the_committed_one_is_never_committed() -> None:
    t = PartitionTracker(generation=2, committed=10)
    t.track(8)  # a record below what another member already committed
    t.track(9)
    t.done(9)
    assert t.commit_due() is None
    assert t.commit_due(done_above=True) is None
    t.done(8)
    assert t.position == 10
    assert t.commit_due() is None  # equal: nothing new
    t.track(10)
    t.done(10)
    assert t.commit_due() == 11


def test_a_new_owner_at_the_committed_position_writes_its_own_metadata_once_then_on_each_completion() -> None:
    t = PartitionTracker(generation=2, committed=10)
    t.track(10)
    t.track(11)
    assert t.commit_due(done_above=True) == 10  # replaces whatever metadata the position carried
    assert t.commit_due() is None  # the position alone did not move
    t.done(11)
    assert t.marks == 1
    assert t.commit_due(done_above=True) == 10  # not yet committed with any metadata of this owner
    t.committed_at(10, t.marks)
    assert t.commit_due(done_above=True) is None


def test_a_commit_without_marks_keeps_the_marks_of_the_last_metadata_commit() -> None:
    t = PartitionTracker(generation=1)
    for off in range(4):
        t.track(off)
    t.done(2)
    t.committed_at(0, t.marks)
    t.done(3)
    t.committed_at(0)  # a plain commit: it carried no done offsets
    assert t.commit_due(done_above=True) == 0


def test_the_marks_of_a_commit_are_those_it_was_built_with() -> None:
    t = PartitionTracker(generation=1)
    for off in range(4):
        t.track(off)
    t.done(2)
    built = t.marks
    t.done(3)  # completed while the commit was in flight
    t.committed_at(0, built)
    assert t.commit_due(done_above=True) == 0  # 3 is not in the committed metadata yet
    t.committed_at(0, t.marks)
    assert t.commit_due(done_above=True) is None


def test_a_tracker_is_restoring_only_until_the_earlier_done_offsets_are_read() -> None:
    t = PartitionTracker(generation=1, restoring=True)
    assert t.restoring is True
    t.restore(DoneOffsets(((3, 4),)))
    assert t.restoring is False
    assert t.restored == DoneOffsets(((3, 4),))
    assert t.known_done(3)
    assert not t.known_done(2)
    assert not t.known_done(4)


def test_a_new_tracker_is_neither_fenced_restoring_nor_committed() -> None:
    t = PartitionTracker(generation=3)
    assert t.generation == 3
    assert t.committed is None
    assert t.fenced is False
    assert t.restoring is False
    assert t.restored == DoneOffsets()
    assert t.marks == 0
    assert t.window == 0
    assert t.oldest_incomplete_since() is None
    assert t.done_above() == DoneOffsets()
    t.fence()
    assert t.fenced is True


def test_done_above_ends_with_a_run_that_reaches_the_last_fetched_offset() -> None:
    t = PartitionTracker(generation=1)
    for off in (10, 11, 12, 14):
        t.track(off)
    for off in (11, 12, 14):
        t.done(off)
    assert t.done_above().ranges == ((11, 15),)
    t.done(10)
    assert t.position == 15
    assert t.done_above() == DoneOffsets()


def test_done_above_keeps_a_restored_range_only_when_it_ends_above_the_position() -> None:
    t = PartitionTracker(generation=1)
    t.restore(DoneOffsets(((3, 5), (5, 6), (8, 9))))
    t.track(5)
    assert t.position == 5
    assert t.done_above().ranges == ((5, 6), (8, 9))  # (3, 5) ends at the position: all below it


def test_before_anything_is_fetched_done_above_is_every_restored_range() -> None:
    t = PartitionTracker(generation=1)
    t.restore(DoneOffsets(((0, 1), (4, 6))))
    assert t.done_above().ranges == ((0, 1), (4, 6))
