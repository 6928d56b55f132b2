"""Sharing the app's window as tables of answers: our measured share, the claims by use and by
partitions, the cap an answer sets and the window's limit."""

from __future__ import annotations

import pytest

from consumer.hubspot.ratesharing import (
    Answer,
    Cap,
    Share,
    Sharing,
    answered,
    claim,
    claim_by_partitions,
    measure,
    spacing,
    window_full,
    window_limit,
)


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
        (Share(0.5, 100.0), answer(remaining=90, accepted=1), 0.1),  # ...as it is at its end
        (Share(0.5, 105.0), answer(remaining=80, accepted=5), 0.25),  # a fifth of it used: measured
        (Share(), answer(remaining=50, accepted=0), 0.0),  # none of what HubSpot counted is ours
        (Share(), answer(remaining=99, accepted=1), 1.0),  # the one request counted is ours
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
        (answer(remaining=30, accepted=5, maximum=50), 0.25, 13),  # a quarter of 50, rounded up
        (answer(remaining=100, accepted=0), 0.5, 50),  # an empty window: our half of it
        # one request outside the group is an outside sender: 2.03 with its margin
        (answer(remaining=49, accepted=25), 0.5, 48),
        (answer(remaining=0, accepted=99), 1.0, 97),
        # 30 used outside the group, 31.9 with its margin (3 % of it and one request): half of the
        # 68.1 it leaves
        (answer(remaining=40, accepted=15), 0.5, 34),
        (answer(remaining=0, accepted=35), 0.5, 34),  # a full window, 30 of it outside: the same
        # we have sent nothing yet: the 10 used are outside, 11.3 with the margin
        (answer(remaining=90, accepted=0), 0.25, 22),
        # the margin follows what the others used, not the window: 5 outside leave 93.85 to the group
        (answer(remaining=45, accepted=25, maximum=100), 0.5, 46),
        (answer(remaining=245, accepted=25, maximum=300), 0.5, 146),
    ],
)
def test_a_member_claims_its_partitions_part_of_what_senders_outside_the_group_leave(
    seen: Answer, part: float, cap: int
) -> None:
    assert claim_by_partitions(seen, part) == cap


@pytest.mark.parametrize(
    ("before", "seen", "sent_at", "mine", "after"),
    [
        # by use, alone: ours in the window plus all that is left, for one interval
        (
            Sharing(),
            answer(remaining=50, accepted=50),
            99.0,
            50,
            Sharing(Share(1.0, 130.0), None, Cap(100, 110.0), 99.0),
        ),
        # by use, with another sender as busy as we are: half of what is left
        (
            Sharing(),
            answer(remaining=40, accepted=30),
            99.0,
            30,
            Sharing(Share(0.5, 130.0), None, Cap(50, 110.0), 99.0),
        ),
        # by partitions: our part of what the senders outside the group leave
        (
            Sharing(part=0.5),
            answer(remaining=50, accepted=25),
            99.0,
            25,
            Sharing(Share(0.5, 130.0), 0.5, Cap(50, 110.0), 99.0),
        ),
        # an answer to a send in our first interval keeps the share measured before
        (
            Sharing(Share(0.5, 130.0)),
            answer(remaining=40, accepted=60, warming=True),
            99.0,
            60,
            Sharing(Share(0.5, 130.0), None, Cap(80, 110.0), 99.0),
        ),
        # an answer to a send older than the newest answered one changes nothing
        (Sharing(newest=99.5), answer(remaining=0, accepted=50), 99.0, 50, Sharing(newest=99.5)),
        # ...but one to the same send counts
        (
            Sharing(newest=99.0),
            answer(remaining=0, accepted=50),
            99.0,
            50,
            Sharing(Share(0.5, 130.0), None, Cap(50, 110.0), 99.0),
        ),
    ],
)
def test_an_answer_caps_our_window_for_one_interval(
    before: Sharing, seen: Answer, sent_at: float, mine: int, after: Sharing
) -> None:
    assert answered(before, seen, sent_at=sent_at, now=100.0, mine=mine, interval_s=10.0) == after


def test_a_full_window_caps_it_at_what_it_holds() -> None:
    before = Sharing(Share(0.5, 130.0), 0.25, Cap(40, 105.0), 99.0)
    after = window_full(before, now=100.0, mine=7, interval_s=10.0)
    assert after == Sharing(Share(0.5, 130.0), 0.25, Cap(7, 110.0), 100.0)


def test_a_cap_lasts_until_its_end() -> None:
    sharing = Sharing(cap=Cap(5, 110.0))
    assert sharing.cap_at(109.9) == Cap(5, 110.0)
    assert sharing.cap_at(110.0) is None
    assert Sharing().cap_at(0.0) is None


@pytest.mark.parametrize(
    ("sharing", "budget", "mine", "discovering", "limit"),
    [
        (Sharing(), 100, 40, False, 100),  # nothing measured: the budget
        (Sharing(Share(0.5, 130.0)), 100, 40, False, 50),  # by use: our measured share of it
        (Sharing(Share(0.005, 130.0)), 100, 40, False, 1),  # ...never nothing
        (Sharing(Share(0.5, 100.0)), 100, 40, False, 100),  # a stale share no longer shapes it
        (Sharing(Share(0.5, 130.0), part=0.25), 25, 10, False, 25),  # by partitions: our part of 100
        (Sharing(part=0.125), 12, 10, False, 13),  # ...rounded up (the pace holds us to 12.5)
        (Sharing(cap=Cap(30, 110.0)), 100, 40, False, 30),  # a cap binds while it lasts
        (Sharing(cap=Cap(130, 110.0)), 100, 40, False, 100),  # ...but never raises the budget
        (Sharing(cap=Cap(30, 100.0)), 100, 40, False, 100),  # ...and then ends
        (Sharing(Share(0.5, 130.0)), 100, 40, True, 41),  # discovering: one more than the window holds
        (Sharing(cap=Cap(30, 110.0)), 100, 40, True, 30),  # ...unless a cap says less
    ],
)
def test_the_window_limit_is_the_budget_shaped_by_share_and_cap(
    sharing: Sharing, budget: int, mine: int, discovering: bool, limit: int
) -> None:
    assert (
        window_limit(sharing, 100.0, budget=budget, maximum=100, mine=mine, discovering=discovering) == limit
    )


@pytest.mark.parametrize(
    ("sharing", "maximum", "step"),
    [
        (Sharing(part=0.5), 50, 0.042),  # 25 sends spread over the guarded window of 1.05 s
        (Sharing(part=0.25), 50, 0.084),  # 12.5 of them: a part need not be a whole number
        (Sharing(part=0.5), 2, 1.05),
        (Sharing(part=1.0), 1, 1.05),
        (Sharing(part=0.5), 0, 0.0),  # no maximum: no pace (the window decides)
        (Sharing(), 50, 0.0),  # not sharing by partitions: no pace
    ],
)
def test_sharing_by_partitions_paces_the_window_evenly(sharing: Sharing, maximum: int, step: float) -> None:
    assert spacing(sharing, maximum=maximum, window_s=1.05) == pytest.approx(step)
