"""Sharing the app's window as tables of answers: our measured share, the claims by use and by
partitions, the cap an answer sets and the window's limit."""

from __future__ import annotations

import dataclasses
import struct

import pytest

from consumer.hubspot.ratesharing import (
    SEAT_TAG,
    VOTE_TAG,
    Answer,
    Cap,
    Group,
    Share,
    Sharing,
    adopt,
    agree,
    allowance,
    answered,
    claim,
    measure,
    paced_rate,
    read_vote,
    refused,
    seat,
    spacing,
    start,
    steer,
    vote,
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
    ("before", "remaining", "maximum", "part", "rate"),
    [
        # room above the target (2 % of the maximum, at least one request) raises the group's rate
        # by half of it per interval, each answer weighing the time since the one before
        (Group(40.0, 99.0), 5, 50, 0.5, 42.0),
        (Group(40.0, 99.5), 5, 50, 0.5, 41.0),  # half an interval: half as much
        (Group(40.0, 90.0), 5, 50, 0.5, 42.0),  # never more than one interval's worth
        (Group(40.0, 100.5), 5, 50, 0.5, 40.0),  # an answer from before the last: no weight
        (Group(40.0, 99.0), 2, 50, 0.5, 40.5),
        (Group(40.0, 99.0), 1, 100, 0.5, 39.5),  # below the target but not full: a little less
        (Group(40.0, 99.0), 2, 100, 0.5, 40.0),  # at the target (2 of 100): kept
        (Group(8.0, 99.0), 1, 10, 1.0, 8.0),  # the target is one request at least
        (Group(8.0, 99.0), 2, 10, 1.0, 8.5),
        # a request that filled the window lowers the rate by a fifth of it per interval
        (Group(40.0, 99.0), 0, 50, 0.5, 32.0),
        (Group(40.0, 99.5), 0, 50, 0.5, 36.0),
        (Group(40.0, 90.0), 0, 50, 0.5, 32.0),
        (Group(40.0, 99.0), -2, 50, 0.5, 32.0),
        # between one request and the whole window for our part alone
        (Group(48.0, 99.0), 40, 50, 1.0, 50.0),
        (Group(48.0, 99.0), 40, 50, 0.5, 67.5),  # the other half idle: more than the maximum
        (Group(98.0, 99.0), 40, 50, 0.5, 100.0),
        (Group(1.2, 99.0), 0, 50, 0.5, 1.0),
    ],
)
def test_an_answer_steers_the_groups_rate_toward_a_window_just_under_full(
    before: Group, remaining: int, maximum: int, part: float, rate: float
) -> None:
    after = steer(before, maximum=maximum, remaining=remaining, part=part, now=100.0, interval_s=1.0)
    assert after == Group(pytest.approx(rate), 100.0, before.cut_until)


@pytest.mark.parametrize(
    ("part", "remaining", "mine", "rate"),
    [
        (1.0, 34, 1, 32.5),  # alone in the group, another app used 15 of 50: 95 % of 50 less 15
        (1.0, 49, 1, 47.5),  # alone in the group and in the app: 95 % of the maximum
        (1.0, 40, 12, 47.5),  # ours counted in a longer window than HubSpot's: nobody else
        (1.0, 0, 0, 1.0),  # a full window of others': one request
        (1.0, 0, 20, 17.5),  # a full window, 20 of it ours: 95 % of 50 less the other app's 30
        (1.0, -3, 2, 1.0),  # below zero left counts as nothing left
        # with other members, the group's sends are taken for ours over our part
        (0.5, 40, 5, 47.5),  # the other half as busy as we are, nobody else: 95 % of the maximum
        (0.5, 34, 1, 33.5),  # 16 counted, the group's 2 of them: another app's 14
        (0.25, 30, 2, 35.5),  # 20 counted, the group's 8: another app's 12
        (0.5, 30, 15, 47.5),  # the others behind us: never above 95 % of the maximum
    ],
)
def test_the_groups_rate_starts_under_what_another_app_leaves(
    part: float, remaining: int, mine: int, rate: float
) -> None:
    seen = answer(remaining=remaining, accepted=mine, maximum=50)
    assert start(seen, part=part, mine=mine, now=100.0) == Group(pytest.approx(rate), 100.0)


def test_the_steering_is_per_interval_whatever_its_length_and_keeps_the_refusal_hold() -> None:
    before = Group(40.0, 95.0, 101.0)
    after = steer(before, maximum=50, remaining=5, part=0.5, now=100.0, interval_s=10.0)
    assert after == Group(pytest.approx(41.0), 100.0, 101.0)


def group_rate(state: Sharing) -> float:
    assert state.group is not None
    return state.group.rate


def first_interval(
    state: Sharing, seen: list[tuple[int, int]], *, step: float = 0.2, maximum: int = 50
) -> Sharing:
    """Answers (remaining, ours in the window) to sends of our first interval, ``step`` apart."""
    for n, (remaining, mine) in enumerate(seen):
        now = 100.0 + step * n
        reply = answer(remaining=remaining, accepted=mine, maximum=maximum, warming=True)
        state = answered(state, reply, sent_at=now, now=now, mine=mine, interval_s=1.0)
    return state


def test_a_cold_start_holds_its_start_while_its_window_fills_and_steers_after() -> None:
    # another app uses 15 of 50: the group starts at 95 % of 50 less 15; the room of our first
    # interval is room our own sends have not reached yet, and does not raise it
    state = first_interval(Sharing(part=1.0), [(34, 1), (28, 7), (22, 13), (16, 19), (10, 25)])
    assert group_rate(state) == pytest.approx(32.5)
    reply = answer(remaining=4, accepted=33, maximum=50)
    later = answered(state, reply, sent_at=101.0, now=101.0, mine=33, interval_s=1.0)
    assert group_rate(later) == pytest.approx(32.5 + 0.5 * (4 - 1) * 0.2)


def test_a_start_pinned_low_by_a_predecessors_sends_rises_as_they_roll_out() -> None:
    # HubSpot's window is full of a replaced pod's sends: one request; as they roll out, the start
    # re-taken from each answer (95 % of 50 less what is not ours) raises it
    state = first_interval(Sharing(part=1.0), [(0, 1), (20, 3), (40, 6)], step=0.3)
    assert group_rate(state) == pytest.approx(47.5 - (10 - 6))
    # little room is no sign of the group's rate either: kept, where a steer would lower it
    little = first_interval(Sharing(part=1.0, group=Group(40.0, 99.9)), [(1, 5)], maximum=100)
    assert group_rate(little) == 40.0
    # a full window in the first interval is full all the same: a fifth less per interval
    full = first_interval(Sharing(part=1.0, group=Group(40.0, 99.9)), [(0, 5)])
    assert group_rate(full) == pytest.approx(40.0 * (1 - 0.2 * 0.1))


def test_a_refusal_cuts_the_members_pace_once_per_half_interval_and_keeps_the_groups_rate() -> None:
    cut = refused(Group(40.0, 99.0), now=100.0, interval_s=2.0)
    assert cut == Group(40.0, 99.0, 101.0, pytest.approx(0.9))
    assert refused(cut, now=100.99, interval_s=2.0) is cut  # the same overload
    assert refused(cut, now=101.0, interval_s=2.0) == Group(40.0, 99.0, 102.0, pytest.approx(0.81))
    assert paced_rate(Sharing(part=0.5, group=cut), 50) == pytest.approx(36.0)
    tiny = refused(Group(1.05, 99.0), now=100.0, interval_s=2.0)
    assert paced_rate(Sharing(part=0.5, group=tiny), 50) == 1.0  # never under one request


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Group(40.0, 99.0, backoff=0.9), 0.91),  # a hundredth of the rate back per interval
        (Group(40.0, 99.5, backoff=0.9), 0.905),  # half an interval: half as much
        (Group(40.0, 90.0, backoff=0.9), 0.91),  # never more than one interval's worth per answer
        (Group(40.0, 99.0, backoff=0.995), 1.0),  # never above the group's rate
        (Group(40.0, 100.5, backoff=0.9), 0.9),  # an answer from before the last: no weight
    ],
)
def test_a_refusals_back_off_wears_off_as_answers_come(before: Group, after: float) -> None:
    steered = steer(before, maximum=50, remaining=0, part=0.5, now=100.0, interval_s=1.0)
    assert steered.backoff == pytest.approx(after)


def test_members_refused_unequally_pace_equal_parts_again_before_the_next_rebalance() -> None:
    # two members of one group with the same estimate: one refused three times in an overload, the
    # other once. Both then see the same answers; within a few intervals they pace alike again (a
    # cut of the estimate itself would have left the first about a sixth behind the second for good)
    start_group = Group(40.0, 99.0)
    often, once = start_group, start_group
    for k in range(3):
        often = refused(often, now=100.0 + k, interval_s=1.0)
    once = refused(once, now=100.0, interval_s=1.0)
    assert paced_rate(Sharing(part=0.5, group=often), 50) < 0.85 * paced_rate(
        Sharing(part=0.5, group=once), 50
    )
    now = 102.0
    for _ in range(200):  # five answers an interval for forty intervals, the window at the target
        now += 0.2
        often = steer(often, maximum=50, remaining=2, part=0.5, now=now, interval_s=1.0)
        once = steer(once, maximum=50, remaining=2, part=0.5, now=now, interval_s=1.0)
    assert paced_rate(Sharing(part=0.5, group=often), 50) == pytest.approx(
        paced_rate(Sharing(part=0.5, group=once), 50)
    )


@pytest.mark.parametrize("accepted", [0, 5, 25, 40])
def test_a_members_own_use_does_not_move_the_groups_rate(accepted: int) -> None:
    # two members with the same part see the same answer: one behind (it started late, or its
    # partitions were idle), one ahead. Both steer the group's rate alike: the one behind is not
    # taken for a sign of use outside the group and held behind (only its window's count differs,
    # and its window may grow by its half of the 5 left, rounded up)
    before = Sharing(part=0.5, group=Group(40.0, 99.0))
    seen = answer(remaining=5, accepted=accepted, maximum=50)
    after = answered(before, seen, sent_at=99.9, now=100.0, mine=accepted, interval_s=1.0)
    assert after.group == Group(pytest.approx(42.0), 100.0)
    assert after.cap == Cap(accepted + 3, 100.25)  # for a quarter interval


def test_an_answer_below_zero_left_lets_the_window_grow_by_nothing() -> None:
    before = Sharing(part=0.5, group=Group(40.0, 99.0))
    seen = answer(remaining=-3, accepted=10, maximum=50)
    after = answered(before, seen, sent_at=99.9, now=100.0, mine=10, interval_s=1.0)
    assert after.group == Group(pytest.approx(32.0), 100.0)
    assert after.cap == Cap(10, 100.25)


def test_sharing_by_use_keeps_the_groups_rate_for_when_the_partitions_are_known() -> None:
    before = Sharing(group=Group(40.0, 99.0))
    after = answered(
        before, answer(remaining=50, accepted=50), sent_at=99.9, now=100.0, mine=50, interval_s=1.0
    )
    assert after.group == Group(40.0, 99.0)


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
        # by partitions, the first answer: the group's rate starts at 95 % of the maximum, and our
        # window may grow by our part of what is left, for a quarter interval
        (
            Sharing(part=0.5),
            answer(remaining=50, accepted=25),
            99.0,
            25,
            Sharing(Share(0.5, 130.0), 0.5, Cap(50, 102.5), 99.0, Group(95.0, 100.0)),
        ),
        # ...alone in the group, below what another app leaves free (95 of 100 less its 30)
        (
            Sharing(part=1.0),
            answer(remaining=50, accepted=20),
            99.0,
            20,
            Sharing(Share(0.4, 130.0), 1.0, Cap(70, 102.5), 99.0, Group(65.0, 100.0)),
        ),
        # ...and the next ones steer it (a full window, half an interval after the last answer: a
        # tenth less)
        (
            Sharing(part=0.5, group=Group(80.0, 95.0)),
            answer(remaining=0, accepted=50),
            99.0,
            50,
            Sharing(Share(0.5, 130.0), 0.5, Cap(50, 102.5), 99.0, Group(72.0, 100.0)),
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


def test_a_full_window_caps_it_at_what_it_holds_and_backs_the_member_off() -> None:
    before = Sharing(Share(0.5, 130.0), 0.25, Cap(40, 105.0), 99.0)
    after = window_full(before, now=100.0, mine=7, interval_s=10.0)
    assert after == Sharing(
        Share(0.5, 130.0), 0.25, Cap(7, 102.5), 100.0
    )  # by partitions: a quarter interval
    by_use = Sharing(Share(0.5, 130.0), None, Cap(40, 105.0), 99.0)
    assert window_full(by_use, now=100.0, mine=7, interval_s=10.0) == Sharing(
        Share(0.5, 130.0), None, Cap(7, 110.0), 100.0
    )
    before = Sharing(Share(0.5, 130.0), 0.25, Cap(40, 105.0), 99.0, Group(40.0, 99.0))
    after = window_full(before, now=100.0, mine=7, interval_s=10.0)
    assert after == Sharing(
        Share(0.5, 130.0), 0.25, Cap(7, 102.5), 100.0, Group(40.0, 99.0, 105.0, pytest.approx(0.9))
    )


def test_a_full_window_in_the_first_interval_of_a_new_part_does_not_back_the_member_off() -> None:
    # HubSpot's window still holds what the group sent at its former parts: whichever member sends
    # into it first is refused, whatever its pace (its window is held all the same)
    before = Sharing(part=0.25, group=Group(40.0, 99.0), parted_at=99.5)
    early = window_full(before, now=100.0, mine=3, interval_s=1.0)
    assert early.group == Group(40.0, 99.0)
    assert early.cap == Cap(3, 100.25)
    later = window_full(before, now=100.5, mine=3, interval_s=1.0)
    assert later.group == Group(40.0, 99.0, 101.0, pytest.approx(0.9))
    assert later.parted_at == 99.5


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
        # by partitions: our part of the group's rate over our window (1.5 intervals here)
        (Sharing(Share(0.5, 130.0), part=0.25, group=Group(40.0, 99.0)), 25, 10, False, 15),
        (Sharing(part=0.125, group=Group(40.0, 99.0)), 12, 10, False, 8),  # ...rounded up (7.5)
        (Sharing(part=0.25, group=Group(40.0, 99.0, backoff=0.5)), 25, 10, False, 8),  # ...backed off
        (Sharing(part=0.5), 50, 10, False, 72),  # ...95 % of the maximum before any answer (71.25)
        # seated, our whole sends over our window: 9 of 34 (not 8.5), 23 of 95 before any answer
        (Sharing(part=0.25, owned=3, total=12, seat=3, group=Group(34.0, 99.0)), 25, 10, False, 14),
        (Sharing(part=0.25, owned=3, total=12, seat=0), 25, 10, False, 35),
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
        window_limit(
            sharing, 100.0, budget=budget, maximum=100, mine=mine, discovering=discovering, stretch=1.5
        )
        == limit
    )


@pytest.mark.parametrize(
    ("sharing", "maximum", "step"),
    [
        (Sharing(part=0.5, group=Group(40.0, 99.0)), 50, 0.05),  # half of 40 per second
        (Sharing(part=0.25, group=Group(30.0, 99.0)), 50, 0.4 / 3),  # 7.5 of them: not a whole number
        (Sharing(part=0.5, group=Group(40.0, 99.0, backoff=0.8)), 50, 1 / 16),  # backed off a fifth
        (Sharing(part=0.5), 50, 1 / 23.75),  # before any answer: half of 95 % of the maximum
        (Sharing(part=1.0), 1, 1 / 0.95),
        (Sharing(part=0.5), 0, 0.0),  # no maximum: no pace (the window decides)
        (Sharing(), 50, 0.0),  # not sharing by partitions: no pace
    ],
)
def test_sharing_by_partitions_paces_the_groups_rate_evenly(
    sharing: Sharing, maximum: int, step: float
) -> None:
    assert spacing(sharing, maximum=maximum, interval_s=1.0) == pytest.approx(step)


def test_the_pace_follows_the_interval() -> None:
    sharing = Sharing(part=0.5, group=Group(40.0, 99.0))
    assert spacing(sharing, maximum=50, interval_s=10.0) == pytest.approx(0.5)


def rate(value: float) -> bytes:
    return VOTE_TAG + struct.pack(">d", value)


def test_a_member_votes_its_estimate_of_the_groups_rate_once_it_has_one() -> None:
    assert vote(Sharing(part=0.5)) == b""
    assert vote(Sharing(part=0.5, group=Group(42.5, 99.0))) == rate(42.5)
    assert read_vote(vote(Sharing(group=Group(42.5, 99.0)))) == 42.5


@pytest.mark.parametrize(
    ("data", "read"),
    [
        (rate(42.5), 42.5),
        (rate(1.0), 1.0),
        (None, None),
        (b"", None),
        (b"\x00\x01range-assignor-data", None),  # another client's user data
        (rate(42.5)[:-1], None),  # cut short
        (rate(42.5) + b"\x00", None),
        (b"ssc-group-rate/2:" + struct.pack(">d", 42.5), None),  # a version this one does not know
        (rate(0.99), None),  # under one request: not a rate the group steers to
        (rate(float("nan")), None),
        (rate(float("inf")), None),
        (rate(-5.0), None),
    ],
)
def test_a_vote_is_read_only_when_it_is_one_of_ours_and_a_sane_rate(
    data: bytes | None, read: float | None
) -> None:
    assert read_vote(data) == read


@pytest.mark.parametrize(
    ("votes", "agreed"),
    [
        ([rate(40.0), rate(44.0)], rate(42.0)),  # the mean of the members' estimates
        ([rate(40.0), None, b"", b"junk"], rate(40.0)),  # members that joined without one do not count
        ([rate(30.0)], rate(30.0)),  # one member that steered, the others new: theirs for all
        ([None, b""], b""),  # nobody has steered yet: nothing agreed
        ([], b""),
    ],
)
def test_the_leader_agrees_on_the_mean_of_the_rates_its_members_stated(
    votes: list[bytes | None], agreed: bytes
) -> None:
    assert agree(votes) == agreed


def test_a_member_steers_from_the_agreed_rate_of_a_new_generation() -> None:
    before = Sharing(Share(0.5, 130.0), 0.5, Cap(7, 110.0), 99.0, Group(30.0, 90.0, 95.0))
    after = adopt(before, rate(42.0), now=100.0)
    assert after == Sharing(Share(0.5, 130.0), 0.5, Cap(7, 110.0), 99.0, Group(42.0, 100.0))
    assert adopt(Sharing(part=0.5), rate(42.0), now=100.0).group == Group(42.0, 100.0)  # a new member
    for nothing in (b"", None, b"junk"):  # nothing agreed: its own estimate stays
        assert adopt(before, nothing, now=100.0) is before


def dealt(rate: float, first: int) -> bytes:
    return SEAT_TAG + struct.pack(">dI", rate, first)


def test_the_leader_hands_each_member_the_agreed_rate_and_its_seat() -> None:
    assert seat(rate(42.5), 7) == dealt(42.5, 7)
    assert seat(b"", 0) == dealt(0.0, 0)  # nothing agreed: the seat alone
    assert seat(rate(42.5), 2**32 - 1) == dealt(42.5, 2**32 - 1)


def test_a_member_takes_its_seat_and_the_agreed_rate_from_what_the_leader_dealt() -> None:
    before = Sharing(part=0.25, group=Group(30.0, 90.0), seat=3)
    assert adopt(before, dealt(42.0, 6), now=100.0) == Sharing(part=0.25, group=Group(42.0, 100.0), seat=6)
    assert adopt(before, dealt(0.0, 6), now=100.0) == Sharing(part=0.25, group=Group(30.0, 90.0), seat=6)
    # a leader of a version that deals no seat: the agreed rate, and no seat (its old one is stale)
    assert adopt(before, rate(42.0), now=100.0) == Sharing(part=0.25, group=Group(42.0, 100.0))
    assert adopt(before, dealt(0.0, 2**32 - 1), now=100.0).seat == 2**32 - 1  # unsigned
    for other in (b"", None, dealt(42.0, 6)[:-1], dealt(42.0, 6) + b"\x00", b"x" + dealt(42.0, 6)[1:]):
        assert adopt(before, other, now=100.0) == Sharing(part=0.25, group=Group(30.0, 90.0))
    unseated = Sharing(part=0.25, group=Group(30.0, 90.0))
    assert adopt(unseated, None, now=100.0) is unseated


def seated(rate: float, first: int, owned: int, total: int = 12) -> Sharing:
    return Sharing(part=owned / total, owned=owned, total=total, seat=first, group=Group(rate, 0.0))


@pytest.mark.parametrize(
    "owned", [[12], [6, 6], [4, 4, 4], [3, 3, 3, 3], [5, 4, 3], [2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]]
)
@pytest.mark.parametrize("group_rate", [33.0, 33.99, 34.5, 47.2, 95.0])
def test_seated_members_pace_whole_sends_that_add_up_to_the_groups_rate(
    owned: list[int], group_rate: float
) -> None:
    firsts = [sum(owned[:n]) for n in range(len(owned))]
    wholes = [
        allowance(seated(group_rate, first, mine), 50) for first, mine in zip(firsts, owned, strict=True)
    ]
    assert sum(w or 0 for w in wholes) == int(group_rate)
    for whole, mine in zip(wholes, owned, strict=True):
        assert whole in (int(group_rate) * mine // 12, -(-int(group_rate) * mine // 12))


def test_a_seated_member_paces_its_whole_sends_over_a_slightly_longer_span_than_the_interval() -> None:
    member = seated(34.5, 3, 3)  # of 34 sends per interval, the second quarter: 17 - 8 = 9
    assert allowance(member, 50) == 9
    assert spacing(member, maximum=50, interval_s=1.0) == pytest.approx(1.01 / 9)
    assert spacing(member, maximum=50, interval_s=10.0) == pytest.approx(10.1 / 9)
    backed_off = dataclasses.replace(member, group=Group(34.5, 0.0, backoff=0.9))  # 31 of the group's
    assert allowance(backed_off, 50) == (6 * 31) // 12 - (3 * 31) // 12
    assert allowance(seated(2.0, 3, 3), 50) == 1
    assert allowance(seated(2.0, 0, 3), 50) is None  # no whole send of 2 for us: a fractional pace
    assert spacing(seated(2.0, 0, 3), maximum=50, interval_s=1.0) == pytest.approx(1 / (0.25 * 2))
    unagreed = Sharing(part=0.25, owned=3, total=12, seat=3)  # 95 % of 50 before any answer: 47
    assert allowance(unagreed, 50) == (6 * 47) // 12 - (3 * 47) // 12
    assert spacing(unagreed, maximum=50, interval_s=1.0) == pytest.approx(1.01 / 12)
    assert allowance(Sharing(owned=3, total=12, seat=3), 50) is None  # no part: not by partitions
    assert allowance(dataclasses.replace(member, seat=None), 50) is None  # no seat: a fractional pace
    assert allowance(dataclasses.replace(member, seat=10), 50) is None  # a seat our partitions do not fit
    assert allowance(dataclasses.replace(member, seat=9), 50) == 34 - (9 * 34) // 12
