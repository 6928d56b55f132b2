"""Breakers open on systemic failure patterns and nothing else."""

from __future__ import annotations

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
    for _ in range(24):
        assert not b.would_open()
        b.record(True)
    assert b.would_open()


def test_mass_breaker_opens_when_the_ratio_in_the_window_is_exceeded() -> None:
    b = mass(consecutive_limit=1000)
    for i in range(100):
        b.record(i % 5 == 0)  # exactly 20 %: one more permanent makes 21/101 > 20 %
    assert b.would_open()
    calm = mass(consecutive_limit=1000)
    for i in range(100):
        calm.record(i % 10 == 0)  # 10 %: 11/101 stays below
    assert not calm.would_open()


def test_mass_breaker_ignores_sparse_poison_and_needs_min_events() -> None:
    b = mass()
    for i in range(1000):
        if i % 10 == 0:
            assert not b.would_open()
        b.record(i % 10 == 0)  # 10 % poison, never 25 in a row
    small = mass()
    for _ in range(10):
        small.record(True)
        small.record(False)
    assert not small.would_open()  # 50 % but only 20 events


def test_reset_forgets_the_burst() -> None:
    b = mass()
    for _ in range(30):
        b.record(True)
    b.open()
    b.reset()
    assert not b.is_open
    assert not b.would_open()
