"""How one replica shares its app's HubSpot window with the other senders of the same credential.

HubSpot counts requests per app, and its ``X-HubSpot-RateLimit-Remaining`` says what the whole app
has left, so every answer tells a replica what the others used. This module turns those answers,
the replica's own use and its part of its group's partitions into a cap on its window: how many of
its sends the rolling window may hold now. Pure: no I/O, no clock of its own (every step takes
``now``), frozen values in and out, so the estimator is tested with tables of answers.
:class:`consumer.hubspot.ratelimit.RateLimiter` is the shell that counts its sends and feeds the
answers in.

* **By use** (no partition share known): after an answer, the cap is ``mine + remaining * share``
  for one interval, where ``share`` is our part of what HubSpot counted (:func:`measure`); in the
  following windows the budget stays at that share until answers show the others have gone.
* **By partitions** (the group's ownership known): every member steers one estimate of the group's
  rate with the app-wide ``Remaining`` of its answers (:func:`steer`), the same for every member
  whatever its own use, and paces its part of it; after an answer, the cap lets our window grow by
  our part of what HubSpot has left. In a member's first interval the window does not yet hold an
  interval of the group's sends: its room does not raise the rate, which follows the start instead
  (:func:`warm`). A refusal backs the refused member off alone (:func:`refused`)
  and the back-off wears off with time, so members refused unequally pace equal parts again.
* **A full window** (a refusal without ``Retry-After``): the cap is what is in our window now.
* **Pace** (by partitions): our part of the group's rate, spread evenly (:func:`spacing`). With a
  seat (how many of the group's partitions the leader dealt to the members before us), a whole
  number of sends per interval (:func:`allowance`): the members' whole numbers add up to the
  group's rate rounded down, and no more of ours fall in HubSpot's window, so the group's count
  there holds still instead of moving by up to one request per member as fractional paces drift
  against each other.
* **A rebalance** (by partitions): every member states its estimate of the group's rate when it
  joins (:func:`vote`), the group's leader hands the mean of them to every member with its
  partitions and its seat (:func:`agree`, :func:`seat`), and every member steers from it
  (:func:`adopt`): a member that joins takes the rate the others steered to, and estimates that
  drifted apart start the new generation together.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

# below this share of the maximum used, an answer does not re-measure our share of the app's usage
MIN_SAMPLE_RATIO = 0.2
# how long our last measured share of the app's usage shapes the budget without fresh answers
SHARE_TTL_INTERVALS = 3
# by partitions, the group aims to leave this part of HubSpot's maximum (at least one request) free
TARGET_REMAINING = 0.02
# by partitions, the group's rate moves by this part of the room above the target per interval
GAIN = 0.5
# by partitions, answers that find the window full cut the group's rate by this part of itself
# per interval
FULL_CUT = 0.2
# by partitions, a refusal for a full window cuts the refused member's pace by this part of itself
REFUSAL_CUT = 0.1
# by partitions, a member's pace regains this part of the group's rate per interval after a refusal
REFUSAL_RECOVERY = 0.01
# by partitions, how long the cap an answer sets holds, as a part of the interval
CAP_HOLD = 0.25
# by partitions, the group's rate starts at this part of the maximum
START = 0.95
# a member's estimate of the group's rate as it travels in the group's rebalance (Kafka's user data
# of the join and of the assignment): this tag, then the rate as a big-endian double
VOTE_TAG = b"ssc-group-rate/1:"
# by partitions, a send that comes up to this part of the window late after its paced slot may take
# the slots it missed: a loaded event loop wakes late, and a pace that never catches up runs slow
PACE_CREDIT = 0.1
# by partitions with a seat, a member's whole sends per interval go out over this much more than the
# interval, and no more of them fall in it: HubSpot's window holds exactly that many of ours unless
# two of them reach it this much more unevenly than they left
PACE_SLACK = 0.01
# what the group's leader hands one member at a rebalance: this tag, the agreed rate as a big-endian
# double (0 when none was agreed), then the member's seat as a big-endian unsigned 32-bit number
SEAT_TAG = b"ssc-group-seat/1:"


@dataclass(frozen=True, slots=True)
class Share:
    """Our share of what HubSpot counted for the whole app, valid until ``until``."""

    fraction: float = 1.0
    until: float = float("-inf")

    def at(self, now: float) -> float:
        """The share that shapes the budget now (all of it once the measurement is stale)."""
        return self.fraction if now < self.until else 1.0


@dataclass(frozen=True, slots=True)
class Answer:
    """What one answer's headers say about the app's window, at the time its request was sent."""

    maximum: int  # X-HubSpot-RateLimit-Max
    remaining: int  # X-HubSpot-RateLimit-Remaining
    accepted: int  # our sends HubSpot counted in the bare interval up to that request
    warming: bool  # the request went out in our first interval


@dataclass(frozen=True, slots=True)
class Group:
    """By partitions: the sends per interval this member takes the whole group to make (``rate``;
    a member makes its part of them), when an answer last moved it, until when a refusal cuts
    no further, and the part of the rate this member paces after its refusals (``backoff``, 1
    without). The rate is the group's, not the member's: a new part (a rebalance) keeps it."""

    rate: float
    at: float
    cut_until: float = float("-inf")
    backoff: float = 1.0


class Cap(NamedTuple):
    """At most ``sends`` of ours in the window until ``until``."""

    sends: int
    until: float


@dataclass(frozen=True, slots=True)
class Sharing:
    """The estimator's state: our measured share of the app, our part of the group's partitions
    (None until known), the cap the last answer set, the send time of the newest answer taken
    (an answer to an older send says less and is ignored), by partitions the group's rate
    (None until the first answer), when our part last changed (a rebalance), the partitions we own
    of the group's (``owned`` of ``total``) and our seat: how many of the group's partitions the
    leader dealt to the members before us (None until a leader of this version told us)."""

    share: Share = Share()
    part: float | None = None
    cap: Cap | None = None
    newest: float = float("-inf")
    group: Group | None = None
    parted_at: float = float("-inf")
    owned: int = 0
    total: int = 0
    seat: int | None = None

    def cap_at(self, now: float) -> Cap | None:
        """The cap while it lasts."""
        return self.cap if self.cap is not None and now < self.cap.until else None


def measure(share: Share, answer: Answer, now: float, interval_s: float) -> Share:
    """Re-measure our share from one answer. Other senders of the app race us for what is left; we
    claim the part of it that matches our part of what was used (all of it alone). Two answers say
    little about who uses the app and keep the share measured before, without prolonging it: one
    from a nearly empty window (it just rolled over: a few sends in flight would decide the ratio,
    and two replicas would both claim most of the window), and one to a send made in our first
    interval (HubSpot's window still holds what others sent before we started, a replaced pod's
    sends included: that ratio is not our share)."""
    used = max(1, answer.maximum - max(0, answer.remaining))  # what HubSpot counted at that request
    sparse = used < answer.maximum * MIN_SAMPLE_RATIO and now < share.until
    if sparse or answer.warming:
        return share
    return Share(min(1.0, max(0, answer.accepted) / used), now + SHARE_TTL_INTERVALS * interval_s)


def claim(mine: int, remaining: int, fraction: float) -> int:
    """How many of our sends the window may hold until the next answer: ours in it plus our share
    of what HubSpot has left."""
    return mine + math.floor(max(0, remaining) * fraction)


def steer(group: Group, *, maximum: int, remaining: int, part: float, now: float, interval_s: float) -> Group:
    """Move the group's rate with one answer (``Remaining`` after our request). Every member sees
    the same app-wide ``Remaining``, so every member moves its estimate alike, whatever its own
    use: no member estimates the others' use from its own, and one that fell behind is not held
    behind. Room above the target raises the rate by ``GAIN`` of it per interval; a request that
    filled the window (``Remaining`` 0; a refused one too) lowers it by ``FULL_CUT`` of itself per
    interval. Each answer weighs as much as the time since the one before (at most one interval),
    so members that send more often do not move faster or further. The rate stays between one
    request and what our part may hold alone (``maximum ÷ part``: the whole window when the other
    members are idle). A refusal's back-off wears off by ``REFUSAL_RECOVERY`` per interval of the
    same weight."""
    elapsed = min(1.0, max(0.0, (now - group.at) / interval_s))
    if remaining > 0:
        target = max(1.0, TARGET_REMAINING * maximum)
        rate = group.rate + GAIN * (remaining - target) * elapsed
    else:
        rate = group.rate * (1 - FULL_CUT * elapsed)
    backoff = min(1.0, group.backoff + REFUSAL_RECOVERY * elapsed)
    return Group(min(max(rate, 1.0), maximum / part), now, group.cut_until, backoff)


def start(answer: Answer, *, part: float, mine: int, now: float) -> Group:
    """The group's rate at its first answer (:func:`start_rate`)."""
    return Group(start_rate(answer, part=part, mine=mine), now)


def start_rate(answer: Answer, *, part: float, mine: int) -> float:
    """The group's rate an answer starts it at: ``START`` of the maximum less what HubSpot counted
    beyond the group's sends (at least one request), taking the group's sends for ``mine`` ÷
    ``part`` (the others started with us). A member that owns every partition is the whole group,
    so the rest is another app's use; with other members the rest is mostly another app's too, and
    a group that started above what that app leaves free would be refused until its cuts caught up.
    Members that sent more than we did before our first answer make the start lower, never higher;
    the steering raises it within a few intervals."""
    beyond = answer.maximum - max(0, answer.remaining) - mine / part
    return max(1.0, START * answer.maximum - max(0.0, beyond))


def warm(group: Group, answer: Answer, *, part: float, mine: int, now: float) -> Group:
    """An answer with room to a send in our first interval: the group's sends of the rest of the
    interval are not in HubSpot's window yet, so its room says nothing about the group's rate (a
    cold start steered by it overshoots at the end of its first interval). The rate follows the
    start (:func:`start_rate`) re-taken from each such answer instead, never falling: a cold start
    holds its start while its window fills, and a start pinned low by a predecessor's sends (a
    replaced pod's, still in HubSpot's window) rises as they roll out."""
    rate = max(group.rate, start_rate(answer, part=part, mine=mine))
    return dataclasses.replace(group, rate=rate, at=now)


def refused(group: Group, *, now: float, interval_s: float) -> Group:
    """HubSpot refused one of our sends for a full window: cut this member's pace by
    ``REFUSAL_CUT``, once per half interval (the refusals of sends already in flight belong to the
    same overload). The group's rate stays: only the refused member knows of the refusal, and a cut
    of its own estimate would leave it behind the others until the next rebalance; the answers that
    found the window full steer every member's estimate alike (:func:`steer`), and the back-off
    wears off as answers come."""
    if now < group.cut_until:
        return group
    backoff = group.backoff * (1 - REFUSAL_CUT)
    return dataclasses.replace(group, cut_until=now + interval_s / 2, backoff=backoff)


def answered(
    state: Sharing, answer: Answer, *, sent_at: float, now: float, mine: int, interval_s: float
) -> Sharing:
    """Take one answer with ``Remaining`` to a send at ``sent_at``; ``mine`` is our sends in the
    (guarded) window up to it. The cap it sets lasts one interval."""
    if sent_at < state.newest:
        return state  # an older answer overtaken by a newer one
    share = measure(state.share, answer, now, interval_s)
    if state.part is None:
        cap = Cap(claim(mine, answer.remaining, share.at(now)), now + interval_s)
        return Sharing(share=share, cap=cap, newest=sent_at, group=state.group)
    group = state.group or start(answer, part=state.part, mine=mine, now=now)
    if answer.warming and answer.remaining > 0:
        group = warm(group, answer, part=state.part, mine=mine, now=now)
    else:
        group = steer(
            group,
            maximum=answer.maximum,
            remaining=answer.remaining,
            part=state.part,
            now=now,
            interval_s=interval_s,
        )
    # our window grows by at most our part of what is left per answer: a member that starts fills
    # a window others use step by step. For CAP_HOLD of the interval only: the others' sends roll
    # out of HubSpot's window meanwhile, and a member whose cap said "nothing left" sends no request
    # that could tell it so (after a rebalance, every member waited out a whole interval)
    cap = Cap(mine + math.ceil(state.part * max(0, answer.remaining)), now + CAP_HOLD * interval_s)
    return dataclasses.replace(state, share=share, cap=cap, newest=sent_at, group=group)


def window_full(state: Sharing, *, now: float, mine: int, interval_s: float) -> Sharing:
    """HubSpot refused a send because the app's window is full and said not for how long: no more
    of ours in the window than ``mine`` now, for one interval; by partitions for ``CAP_HOLD`` of it
    (the group's sends roll out of the window at the group's pace), and our pace backs off
    (:func:`refused`) unless our part changed less than an interval ago: HubSpot's window then
    still holds what the group sent at its former parts, and whichever member sends into it first
    is refused, whatever its pace."""
    group = state.group
    if group is not None and now >= state.parted_at + interval_s:
        group = refused(group, now=now, interval_s=interval_s)
    cap = Cap(mine, now + (interval_s if state.part is None else CAP_HOLD * interval_s))
    return dataclasses.replace(state, cap=cap, newest=now, group=group)


def vote(state: Sharing) -> bytes:
    """What this member states when its group rebalances: its estimate of the group's rate, or
    nothing before its first answer by partitions."""
    return b"" if state.group is None else stating(state.group.rate)


def stating(rate: float) -> bytes:
    """A vote (or an agreement) that carries ``rate``: ``VOTE_TAG`` and the rate as a big-endian
    double."""
    return VOTE_TAG + struct.pack(">d", rate)


def read_vote(data: bytes | None) -> float | None:
    """The rate a :func:`vote` (or an :func:`agree`) carries; None for anything else: nothing, another
    client's user data, a corrupt one, or a rate that is not a finite number of at least one."""
    if data is None or len(data) != len(VOTE_TAG) + 8 or not data.startswith(VOTE_TAG):
        return None
    (rate,) = struct.unpack(">d", data[len(VOTE_TAG) :])
    return sane(rate)


def sane(rate: float) -> float | None:
    """A rate the group steers to: a finite number of at least one request; None otherwise."""
    return rate if math.isfinite(rate) and rate >= 1.0 else None


def agree(votes: Iterable[bytes | None]) -> bytes:
    """The group's leader at a rebalance: the mean of the rates its members stated, for every member
    (nothing when none stated one: each keeps its own)."""
    rates = [rate for data in votes if (rate := read_vote(data)) is not None]
    return stating(sum(rates) / len(rates)) if rates else b""


def seat(agreed: bytes, first: int) -> bytes:
    """The group's leader at a rebalance: what it hands one member, the rate it agreed on
    (:func:`agree`) and the member's seat, ``first``: how many of the group's partitions it dealt to
    the members before that one."""
    return SEAT_TAG + struct.pack(">dI", read_vote(agreed) or 0.0, first)


def adopt(state: Sharing, dealt: bytes | None, *, now: float) -> Sharing:
    """What a new generation's leader handed this member: its seat (:func:`seat`; none from a leader
    that deals none) and the agreed rate, which replaces this member's estimate so that every member
    steers from the same one (nothing agreed keeps it; an agreement alone, :func:`agree`, is read as
    well)."""
    if dealt is not None and len(dealt) == len(SEAT_TAG) + 12 and dealt.startswith(SEAT_TAG):
        agreed, place = struct.unpack(">dI", dealt[len(SEAT_TAG) :])
        rate = sane(agreed)
    else:
        rate, place = read_vote(dealt), None
    group = state.group if rate is None else Group(rate, now)
    if group is state.group and place == state.seat:
        return state
    return dataclasses.replace(state, group=group, seat=place)


def paced_rate(state: Sharing, maximum: int) -> float:
    """By partitions, the sends per interval this member takes the group to make as it paces its
    part: the group's rate as the last answer steered it less this member's refusal back-off (at
    least one request), ``START`` of the ``maximum`` before any answer."""
    if state.group is None:
        return START * maximum
    return max(1.0, state.group.rate * state.group.backoff)


def allowance(state: Sharing, maximum: int) -> int | None:
    """By partitions with a seat, this member's whole sends per interval: of the group's rate
    rounded down to ``N``, the members before us take ``floor(N·seat/total)`` and we take up to
    ``floor(N·(seat+owned)/total)``. The members' whole numbers add up to ``N``, each within one of
    its part of it. None without a seat, with one our ownership does not fit, or when our part
    rounds to no whole send (fewer whole sends than members: we pace our fraction, and make
    progress, without taking a whole send per interval the group does not have)."""
    if state.part is None or state.seat is None or state.seat + state.owned > state.total:
        return None
    whole = math.floor(paced_rate(state, maximum))
    ours = (state.seat + state.owned) * whole // state.total - state.seat * whole // state.total
    return ours or None


def spacing(state: Sharing, *, maximum: int, interval_s: float) -> float:
    """The time between two of our sends: with the group's partition share known, our part of the
    group's rate (:func:`paced_rate`; a whole number of requests or not) spreads evenly over the
    interval rather than going out together whenever slots free (a cap still bounds how many the
    window holds). A burst takes every slot that frees before a sender outside the group gets one
    (it is refused, the window fills in spikes and idles between them), and crowds HubSpot's window
    when answers come late. Zero (no pace) otherwise."""
    if state.part is None or maximum <= 0:
        return 0.0
    whole = allowance(state, maximum)
    if whole is not None:
        return interval_s * (1 + PACE_SLACK) / whole
    return interval_s / (state.part * paced_rate(state, maximum))


def window_limit(
    state: Sharing,
    now: float,
    *,
    budget: int,
    maximum: int,
    mine: int,
    discovering: bool,
    stretch: float,
) -> int:
    """How many of our sends the rolling window may hold now (a pace aside), given the static
    ``budget``, HubSpot's ``maximum``, ``mine`` in the window and how much longer than HubSpot's
    interval our window counts a send (``stretch``, 1 and more). By partitions, our part of the
    group's rate (with a seat, our whole sends) over our window, rounded up (the pace holds the rate
    to it; this bounds the slots a late pace catches up). Discovering, only a cap bounds the window:
    one more than it holds is always allowed."""
    if discovering:
        limit = mine + 1
    elif state.part is not None:
        whole = allowance(state, maximum)
        rate = state.part * paced_rate(state, maximum) if whole is None else whole
        limit = math.ceil(rate * stretch)
    else:  # our measured share of the budget (all of it unmeasured), never nothing
        limit = max(1, math.floor(budget * state.share.at(now)))
    cap = state.cap_at(now)
    return limit if cap is None else min(limit, cap.sends)
