"""Breakers open on systemic failure patterns and nothing else."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from consumer.breaker import MassDeadLetterBreaker, TransientBreaker
from consumer.outcome import OutcomeClass


def test_transient_breaker_opens_after_n_consecutive_retry_attempts() -> None:
    b = TransientBreaker(threshold=3)
    assert [b.record(OutcomeClass.RETRY) for _ in range(3)] == [False, False, True]
    assert b.is_open
    assert b.record(OutcomeClass.RETRY) is False  # opens once


def test_a_success_resets_the_transient_count_and_throttles_do_not_count() -> None:
    b = TransientBreaker(threshold=3)
    b.record(OutcomeClass.RETRY)
    b.record(OutcomeClass.RETRY)
    b.record(OutcomeClass.THROTTLE)
    b.record(OutcomeClass.SENT)
    b.record(OutcomeClass.RETRY)
    assert not b.is_open
    assert b.consecutive == 1


def mass(**kw: int | float) -> MassDeadLetterBreaker:
    base: dict[str, int | float] = {"window": 200, "ratio": 0.2, "consecutive_limit": 25, "min_events": 50}
    base.update(kw)
    return MassDeadLetterBreaker(**base)  # type: ignore[arg-type]


def test_mass_breaker_opens_on_25_permanent_in_a_row() -> None:
    b = mass()
    for seq in range(24):
        assert not b.would_open(seq)
        b.record(seq, True)
    assert b.would_open(24)


def test_a_run_is_counted_in_dispatch_order_and_an_unfinished_record_breaks_it() -> None:
    b = mass()
    for seq in [*range(12), *range(13, 25)]:  # 24 permanent, record 12 still in flight
        b.record(seq, True)
    assert not b.would_open(25)
    assert b.would_open(12)  # 12 would join both halves: 25 in a row


def test_mass_breaker_opens_when_the_ratio_in_the_window_is_exceeded() -> None:
    b = mass(consecutive_limit=1000)
    for seq in range(100):
        b.record(seq, seq % 5 == 0)  # exactly 20 %: one more permanent makes 21/101 > 20 %
    assert b.would_open(100)
    calm = mass(consecutive_limit=1000)
    for seq in range(100):
        calm.record(seq, seq % 10 == 0)  # 10 %: 11/101 stays below
    assert not calm.would_open(100)


def test_mass_breaker_ignores_sparse_poison_and_needs_min_events() -> None:
    b = mass()
    for seq in range(1000):
        if seq % 10 == 0:
            assert not b.would_open(seq)
        b.record(seq, seq % 10 == 0)  # 10 % poison, never 25 in a row
    small = mass()
    for seq in range(0, 20, 2):
        small.record(seq, True)
        small.record(seq + 1, False)
    assert not small.would_open(20)  # 50 % but only 21 events


@settings(max_examples=300)
@given(order=st.permutations(range(400)), seed=st.integers(0, 2**32))
def test_completion_order_cannot_fake_a_burst(order: list[int], seed: int) -> None:
    """9 % poison spread over the stream never opens the breaker, whatever order records finish in
    (fast-failing or batch-acknowledged dead letters finish together)."""
    poison = set(random.Random(seed).sample(range(400), 36))
    b = mass()
    for seq in order:
        if seq in poison:
            assert not b.would_open(seq)
        b.record(seq, seq in poison)


def test_memory_stays_bounded_by_the_window() -> None:
    b = mass()
    for seq in range(10_000):
        b.record(seq, False)
    assert len(b._results) <= 2 * b.window + 1


def test_reset_forgets_the_burst() -> None:
    b = mass()
    for seq in range(30):
        b.record(seq, True)
    b.open()
    b.reset()
    assert not b.is_open
    assert not b.would_open(30)


# --- exact behaviour: each case pins one decision on both sides of its boundary ----------------------

R, T, S, P = OutcomeClass.RETRY, OutcomeClass.THROTTLE, OutcomeClass.SENT, OutcomeClass.PAUSE


def test_a_throttle_neither_counts_nor_resets_and_anything_else_resets() -> None:
    b = TransientBreaker(threshold=3)
    assert [b.record(c) for c in (R, R, T, R)] == [False, False, False, True]
    assert (b.consecutive, b.is_open) == (3, True)
    c = TransientBreaker(threshold=3)
    assert [c.record(x) for x in (R, R, P, R, R)] == [False] * 5
    assert (c.consecutive, c.is_open) == (2, False)


def test_after_a_reset_the_transient_breaker_opens_again_on_the_next_outage() -> None:
    b = TransientBreaker(threshold=3)
    for _ in range(4):
        b.record(R)
    b.reset()
    assert (b.consecutive, b.is_open) == (0, False)
    assert [b.record(R) for _ in range(3)] == [False, False, True]  # a second outage pauses again


def exact(**kw: int | float) -> MassDeadLetterBreaker:
    """A breaker where only the rule under test can decide (the others are out of reach)."""
    base: dict[str, int | float] = {"window": 10, "ratio": 0.5, "consecutive_limit": 1_000, "min_events": 1}
    base.update(kw)
    return MassDeadLetterBreaker(**base)  # type: ignore[arg-type]


def test_the_ratio_must_be_exceeded_not_reached() -> None:
    at, above = exact(), exact()
    for seq in range(9):
        at.record(seq, seq in (0, 2, 4, 6))  # with seq 9: 5 of 10 permanent
        above.record(seq, seq in (0, 2, 4, 6, 8))  # with seq 9: 6 of 10
    assert not at.would_open(9)
    assert above.would_open(9)


def test_min_events_is_reached_at_exactly_min_events_dispatched() -> None:
    b = exact(ratio=0.0, min_events=5)
    assert not b.would_open(3)  # 4 dispatched (0..3)
    assert b.would_open(4)  # 5 dispatched


def test_only_the_last_window_of_dispatched_records_counts() -> None:
    b = exact(window=4, ratio=0.3)
    for seq in range(7):
        b.record(seq, seq < 4)  # 0..3 permanent, 4..6 not
    assert not b.would_open(7)  # window 4..7: 1 of 4 (seq 3 left the window)
    b.record(5, True)
    assert b.would_open(7)  # 2 of 4


def test_the_record_being_judged_counts_once_even_if_already_recorded() -> None:
    b = exact(ratio=0.6)
    b.record(0, False)
    b.record(1, True)
    assert not b.would_open(1, dispatched=1)  # 1 of 2, not 2 of 2


def test_records_still_in_flight_dilute_the_ratio() -> None:
    b = exact()
    b.record(0, True)
    assert b.would_open(1)  # 2 of 2
    assert not b.would_open(1, dispatched=5)  # 2 of 6: four records still in flight


def test_a_later_record_already_finished_widens_the_window() -> None:
    b = exact(ratio=0.4)
    b.record(5, False)
    assert not b.would_open(1)  # 1 of 6 dispatched (0..5), not 1 of 2


@given(before=st.integers(0, 4), after=st.integers(0, 4))
def test_a_run_counts_neighbours_on_both_sides_up_to_the_limit(before: int, after: int) -> None:
    b = exact(consecutive_limit=5, ratio=1.0)  # the ratio can never exceed 1.0: only the run decides
    for k in range(1, before + 1):
        b.record(10 - k, True)
    for k in range(1, after + 1):
        b.record(10 + k, True)
    assert b.would_open(10) is (1 + before + after >= 5)


def test_pruning_forgets_only_what_left_the_window() -> None:
    b = exact(window=3)
    for seq in range(6):
        b.record(seq, False)
    assert sorted(b._results) == [0, 1, 2, 3, 4, 5]  # 2 x window: kept
    b.record(6, False)
    assert sorted(b._results) == [4, 5, 6]  # one more: only the window is kept
    for seq in range(7, 10):
        b.record(seq, True)
    assert b.would_open(10)  # window 8..10: 3 of 3 (10 itself, 8, 9)


def test_an_opened_breaker_stays_open_until_reset_and_then_forgets_the_burst() -> None:
    b = exact(ratio=0.9, min_events=3)
    b.open()
    assert b.would_open(0)
    assert b.would_open(0, dispatched=100)
    for seq in range(3):
        b.record(seq, True)
    b.reset()
    assert b.is_open is False
    assert not b.would_open(3)  # 1 of 4: the three before the reset are forgotten
