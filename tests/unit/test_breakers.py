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
