"""The rate-discovery policy as tables of answers: ramp, pushback, hold under the limit, probe."""

from __future__ import annotations

import pytest

from consumer.hubspot.ratepolicy import Discovery, Tuning, accepted, pushback

TUNING = Tuning(start_rate=10.0, max_rate=1_000.0, settle_s=10.0)


def run_accepted(state: Discovery, times: list[float], *, limited: bool = True) -> Discovery:
    for now in times:
        state = accepted(state, TUNING, now, limited=limited)
    return state


def test_the_start_rate_is_the_safe_rate_within_bounds() -> None:
    assert Discovery.start(TUNING).rate == 10.0
    assert Discovery.start(Tuning(start_rate=1e9, max_rate=500.0)).rate == 500.0
    assert Discovery.start(Tuning(start_rate=0.0, max_rate=500.0, min_rate=0.5)).rate == 0.5


@pytest.mark.parametrize(
    ("times", "limited", "expected"),
    [
        ([0.0, 1.0], True, 12.5),  # one second of acceptance at the pace: x1.25
        ([0.0, 1.0, 2.0], True, 15.625),
        ([0.0, 0.5, 1.0], True, 12.5),  # growth follows time, not the number of answers
        ([0.0, 60.0], True, 12.5),  # at most one second is credited between two answers
        ([0.0, 1.0, 2.0], False, 10.0),  # the pace held nothing back: no evidence, no growth
    ],
)
def test_acceptance_at_the_pace_raises_the_rate(times: list[float], limited: bool, expected: float) -> None:
    assert run_accepted(Discovery.start(TUNING), times, limited=limited).rate == pytest.approx(expected)


def test_the_rate_never_exceeds_the_maximum() -> None:
    state = run_accepted(Discovery.start(TUNING), [float(t) for t in range(60)])
    assert state.rate == TUNING.max_rate


@pytest.mark.parametrize(
    ("rate", "measured", "ceiling", "after"),
    [
        (250.0, 100.0, 100.0, 98.0),  # overshoot while ramping: just under what HubSpot accepted
        (101.0, 100.0, 100.0, 98.0),  # a probe a little over the limit
        (50.0, 80.0, 50.0, 49.0),  # measured above the pace: still slows down
        (50.0, None, 50.0, 49.0),  # nothing measured: the pace itself was too fast
        (50.0, 0.0, 50.0, 49.0),
        (0.1, 0.0, 0.1, 0.1),  # never below the minimum
        (50.0, 0.5, 0.5, 0.49),  # less than one request per second measured is still a measure
    ],
)
def test_a_pushback_sets_the_rate_just_under_the_measured_limit(
    rate: float, measured: float | None, ceiling: float, after: float
) -> None:
    state = pushback(Discovery(rate=rate), TUNING, 100.0, measured=measured)
    assert state.ceiling == pytest.approx(ceiling)
    assert state.rate == pytest.approx(after)
    assert state.settle_until == 110.0


def test_pushbacks_within_the_settling_time_are_one_episode() -> None:
    first = pushback(Discovery(rate=250.0), TUNING, 100.0, measured=100.0)
    assert pushback(first, TUNING, 105.0, measured=40.0) is first
    assert pushback(first, TUNING, 110.0, measured=90.0).rate == pytest.approx(90 * 0.98)


def test_no_growth_while_settling() -> None:
    state = pushback(Discovery(rate=250.0), TUNING, 100.0, measured=100.0)
    assert run_accepted(state, [101.0, 102.0, 109.0]).rate == state.rate


def test_under_the_ceiling_it_ramps_back_to_just_under_it_then_probes_slowly() -> None:
    state = Discovery(rate=20.0, ceiling=100.0, grown_at=0.0)
    state = run_accepted(state, [float(t) for t in range(1, 9)])  # 20 x 1.25^8 would be 119
    assert state.rate == pytest.approx(98.0)  # the ramp stops at (1 - margin) x ceiling
    state = run_accepted(state, [9.0, 10.0])
    assert state.rate == pytest.approx(98.0 + 2 * TUNING.probe_per_s * 100)


def test_a_ceiling_far_below_an_unrefused_rate_is_forgotten() -> None:
    state = Discovery(rate=111.0, ceiling=100.0, grown_at=0.0)
    state = accepted(state, TUNING, 1.0, limited=True)
    assert state.ceiling is None
    assert state.rate == pytest.approx(111 * 1.25)


def test_growth_resumes_when_the_settling_time_ends_and_counts_from_the_pushback() -> None:
    state = pushback(Discovery(rate=250.0), TUNING, 100.0, measured=100.0)
    assert state.grown_at == 100.0
    # at the end of the settling time: a whole second of probing credited (at most one)
    assert accepted(state, TUNING, 110.0, limited=True).rate == pytest.approx(98.0 + 0.5)


def test_an_answer_that_did_not_wait_for_the_pace_restarts_the_growth_clock() -> None:
    state = accepted(Discovery(rate=10.0, grown_at=0.0), TUNING, 0.5, limited=False)
    assert state == Discovery(rate=10.0, grown_at=0.5)
    assert accepted(state, TUNING, 1.0, limited=True).rate == pytest.approx(10.0 * 1.25**0.5)


def test_probing_above_the_hold_grows_with_the_time_credited() -> None:
    state = accepted(Discovery(rate=98.0, ceiling=100.0, grown_at=0.0), TUNING, 0.5, limited=True)
    assert state.rate == pytest.approx(98.0 + TUNING.probe_per_s * 100 * 0.5)


def test_a_ceiling_is_kept_up_to_exactly_forget_above_over_it() -> None:
    tuning = Tuning(start_rate=10.0, max_rate=1_000.0, forget_above=0.5)
    state = accepted(Discovery(rate=150.0, ceiling=100.0, grown_at=0.0), tuning, 1.0, limited=True)
    assert state.ceiling == 100.0
    assert state.rate == pytest.approx(150.0 + tuning.probe_per_s * 100)
