"""The rate-discovery policy as tables of answers: ramp, pushback, hold under the limit, probe."""

from __future__ import annotations

import pytest

from consumer.hubspot.ratepolicy import (
    Answer,
    Discovery,
    Share,
    Tuning,
    accepted,
    claim,
    claim_by_partitions,
    measure,
    pushback,
)

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


def answer(remaining: int, accepted: int, *, maximum: int = 100, warming: bool = False) -> Answer:
    return Answer(maximum=maximum, remaining=remaining, accepted=accepted, warming=warming)


@pytest.mark.parametrize(
    ("before", "seen", "fraction"),
    [
        (Share(), answer(remaining=50, accepted=50), 1.0),  # alone: everything HubSpot counted is ours
        (Share(), answer(remaining=50, accepted=25), 0.5),  # another sender used as much as we did
        (Share(), answer(remaining=0, accepted=10), 0.1),
        (Share(), answer(remaining=50, accepted=80), 1.0),  # never more than all of it
        (Share(), answer(remaining=50, accepted=25, warming=True), 1.0),  # our first interval: not ours
        (Share(0.5, 105.0), answer(remaining=90, accepted=1), 0.5),  # a nearly empty window keeps it
        (Share(0.5, 99.0), answer(remaining=90, accepted=1), 0.1),  # ...unless the old one is stale
    ],
)
def test_an_answer_measures_our_share_of_the_apps_usage(before: Share, seen: Answer, fraction: float) -> None:
    assert measure(before, seen, 100.0, 10.0).at(100.0) == pytest.approx(fraction)


def test_a_measured_share_lasts_three_intervals_and_a_sparse_answer_does_not_prolong_it() -> None:
    share = measure(Share(), answer(remaining=50, accepted=25), 100.0, 10.0)
    assert share == Share(0.5, 130.0)
    assert measure(share, answer(remaining=95, accepted=1), 120.0, 10.0) is share
    assert share.at(129.9) == 0.5
    assert share.at(130.0) == 1.0


@pytest.mark.parametrize(
    ("mine", "remaining", "fraction", "cap"),
    [(10, 40, 1.0, 50), (10, 40, 0.5, 30), (10, 5, 0.5, 12), (10, -3, 1.0, 10), (0, 0, 1.0, 0)],
)
def test_the_claim_is_ours_in_the_window_plus_our_share_of_what_is_left(
    mine: int, remaining: int, fraction: float, cap: int
) -> None:
    assert claim(mine, remaining, fraction) == cap


@pytest.mark.parametrize(
    ("seen", "part", "cap"),
    [
        (answer(remaining=50, accepted=50), 1.0, 100),  # alone in the group and the app: everything
        (answer(remaining=50, accepted=25), 0.5, 50),  # the group used it all: our half of the window
        # 30 used outside the group, 33.9 with its margin: half of the 66.1 it leaves
        (answer(remaining=40, accepted=15), 0.5, 33),
        (answer(remaining=0, accepted=35), 0.5, 33),  # a full window, 30 of it outside: the same
        (answer(remaining=90, accepted=0), 0.25, 21),  # we have sent nothing yet: the 10 used are outside
    ],
)
def test_a_member_claims_its_partitions_part_of_what_senders_outside_the_group_leave(
    seen: Answer, part: float, cap: int
) -> None:
    assert claim_by_partitions(seen, part) == cap
