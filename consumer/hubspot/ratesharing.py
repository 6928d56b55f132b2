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
* **By partitions** (the group's ownership known): the cap is our part of what senders outside the
  group leave (:func:`claim_by_partitions`), and the budget already is our part of the maximum.
* **A full window** (a refusal without ``Retry-After``): the cap is what is in our window now.
* **Pace** (by partitions): the sends the window may hold are spread evenly over it (:func:`spacing`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

# below this share of the maximum used, an answer does not re-measure our share of the app's usage
MIN_SAMPLE_RATIO = 0.2
# how long our last measured share of the app's usage shapes the budget without fresh answers
SHARE_TTL_INTERVALS = 3
# with senders outside the group, the group leaves them this much more than they used, and one request
OUTSIDE_MARGIN = 0.03
# by partitions, a send that comes up to this part of the window late after its paced slot may take
# the slots it missed: a loaded event loop wakes late, and a pace that never catches up runs slow
PACE_CREDIT = 0.1


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


class Cap(NamedTuple):
    """At most ``sends`` of ours in the window until ``until``."""

    sends: int
    until: float


@dataclass(frozen=True, slots=True)
class Sharing:
    """The estimator's state: our measured share of the app, our part of the group's partitions
    (None until known), the cap the last answer set, and the send time of the newest answer taken
    (an answer to an older send says less and is ignored)."""

    share: Share = Share()
    part: float | None = None
    cap: Cap | None = None
    newest: float = float("-inf")

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


def claim_by_partitions(answer: Answer, part: float) -> int:
    """How many of our sends the window may hold when we own ``part`` of the group's partitions:
    that part of what the senders outside the group leave. Outside use is what HubSpot counted
    minus the group's, estimated as ours ÷ ``part`` (every member busy with its share). The members'
    claims add up to the window, whoever else sends (alone, a part that is no whole number of
    requests is rounded up: the pace, not the claim, holds each member to its part)."""
    used = max(0, answer.maximum - max(0, answer.remaining))
    outside = used - answer.accepted / part
    if outside < 1:  # the group alone: our part, rounded up (the pace keeps the rate at the part)
        return math.ceil(part * answer.maximum)
    # a sender outside the group races us for every slot that frees: leave it room
    outside = min(float(answer.maximum), outside * (1 + OUTSIDE_MARGIN) + 1)
    return math.floor(part * (answer.maximum - outside))


def answered(
    state: Sharing, answer: Answer, *, sent_at: float, now: float, mine: int, interval_s: float
) -> Sharing:
    """Take one answer with ``Remaining`` to a send at ``sent_at``; ``mine`` is our sends in the
    (guarded) window up to it. The cap it sets lasts one interval."""
    if sent_at < state.newest:
        return state  # an older answer overtaken by a newer one
    share = measure(state.share, answer, now, interval_s)
    if state.part is None:
        sends = claim(mine, answer.remaining, share.at(now))
    else:
        sends = claim_by_partitions(answer, state.part)
    return Sharing(share=share, part=state.part, cap=Cap(sends, now + interval_s), newest=sent_at)


def window_full(state: Sharing, *, now: float, mine: int, interval_s: float) -> Sharing:
    """HubSpot refused a send because the app's window is full and said not for how long: no more
    of ours in the window than ``mine`` now, for one interval."""
    return Sharing(share=state.share, part=state.part, cap=Cap(mine, now + interval_s), newest=now)


def spacing(state: Sharing, *, maximum: int, window_s: float) -> float:
    """The time between two of our sends: with the group's partition share known, our part of the
    ``maximum`` (a whole number of requests or not) spreads evenly over the window rather than going
    out together whenever slots free (a cap still bounds how many the window holds). A burst
    takes every slot that frees before a sender outside the group gets one (it is refused, its use
    looks smaller, we claim more: the window fills in spikes and idles between them), and crowds
    HubSpot's window when answers come late. Zero (no pace) otherwise."""
    return window_s / (state.part * maximum) if state.part is not None and maximum > 0 else 0.0


def window_limit(
    state: Sharing, now: float, *, budget: int, maximum: int, mine: int, discovering: bool
) -> int:
    """How many of our sends the rolling window may hold now (a pace aside), given the static
    ``budget``, HubSpot's ``maximum`` and ``mine`` in the window. By partitions, our part of the
    maximum rounded up (the pace holds the rate to the part). Discovering, only a cap bounds the
    window: one more than it holds is always allowed."""
    if discovering:
        limit = mine + 1
    elif state.part is not None:
        limit = math.ceil(state.part * maximum)
    else:  # our measured share of the budget (all of it unmeasured), never nothing
        limit = max(1, math.floor(budget * state.share.at(now)))
    cap = state.cap_at(now)
    return limit if cap is None else min(limit, cap.sends)
