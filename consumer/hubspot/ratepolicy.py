"""The rate limiter's policies: discover HubSpot's limit from its answers when it publishes no
rate-limit headers, and measure our share of the app's window when it does.

Pure: no I/O and no clock of its own (every step takes ``now``), frozen values in and out, so the
policies are tested with tables of answers. :class:`consumer.hubspot.ratelimit.RateLimiter` is the shell
that paces sends at :attr:`Discovery.rate` and feeds the answers in.

* **Ramp.** From a safe start rate, while HubSpot accepts and the pace is what holds sends back
  (``limited``), the rate grows by ``ramp_per_s`` per second (1.25 times per second by default).
* **Pushback** (a 429, a ``THROTTLED`` or ``PORTAL_OVER_LIMIT`` result) sets the *ceiling* to the
  rate HubSpot accepted just before (``measured``: our sends in the last interval ÷ the interval; at
  a refusal a rolling window is full, so that is the hidden limit when the intervals match) and the
  rate to ``margin`` under it (never above ``rate * (1 - margin)``: a pushback always slows down).
  Further pushbacks within ``settle_s`` belong to the same episode and change nothing: the answers
  to what was in flight before the cut say nothing about the new rate.
* **Hold and probe.** Below the ceiling the rate ramps back to ``(1 - margin) * ceiling``, then
  creeps up by ``probe_per_s`` of the ceiling per second, so a limit that rose is found again; once
  the rate is ``forget_above`` over the ceiling without pushback, the ceiling is forgotten and the
  ramp starts again.
* Idle time is no evidence: an answer to a send that did not wait for the pace does not raise it,
  and at most one second of growth is credited between two answers.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tuning:
    """The policy's constants; rates in requests per second."""

    start_rate: float
    max_rate: float
    min_rate: float = 0.1
    ramp_per_s: float = 0.25
    probe_per_s: float = 0.005
    margin: float = 0.02
    settle_s: float = 10.0
    forget_above: float = 0.1


@dataclass(frozen=True, slots=True)
class Discovery:
    """The discovered pace: ``rate`` now, ``ceiling`` the limit found at the last pushback."""

    rate: float
    ceiling: float | None = None
    grown_at: float | None = None  # when growth was last credited
    settle_until: float = float("-inf")  # no growth and no new cut before

    @classmethod
    def start(cls, tuning: Tuning) -> Discovery:
        return cls(rate=min(max(tuning.start_rate, tuning.min_rate), tuning.max_rate))


def accepted(state: Discovery, tuning: Tuning, now: float, *, limited: bool) -> Discovery:
    """HubSpot accepted a send (``limited``: it had waited for the pace)."""
    elapsed = 0.0 if state.grown_at is None else min(1.0, max(0.0, now - state.grown_at))
    if not limited or now < state.settle_until:
        return dataclasses.replace(state, grown_at=now)
    rate, ceiling = state.rate, state.ceiling
    if ceiling is not None and rate > ceiling * (1 + tuning.forget_above):
        ceiling = None  # no pushback well above the old limit: it has gone up, find it again
    ramped = rate * (1 + tuning.ramp_per_s) ** elapsed
    if ceiling is None:
        rate = ramped
    else:
        hold = ceiling * (1 - tuning.margin)
        rate = min(ramped, hold) if rate < hold else rate + tuning.probe_per_s * ceiling * elapsed
    rate = min(rate, tuning.max_rate)
    return Discovery(rate=rate, ceiling=ceiling, grown_at=now, settle_until=state.settle_until)


def pushback(state: Discovery, tuning: Tuning, now: float, *, measured: float | None) -> Discovery:
    """HubSpot pushed back; ``measured`` is the rate it accepted from us over the last interval."""
    if now < state.settle_until:
        return state
    ceiling = state.rate if measured is None or measured <= 0 else min(measured, state.rate)
    rate = min(state.rate, ceiling) * (1 - tuning.margin)
    rate = max(rate, tuning.min_rate)
    return Discovery(rate=rate, ceiling=ceiling, grown_at=now, settle_until=now + tuning.settle_s)


# -- sharing the app's window (with rate-limit headers) -------------------------------------------------
# below this share of the maximum used, an answer does not re-measure our share of the app's usage
MIN_SAMPLE_RATIO = 0.2
# how long our last measured share of the app's usage shapes the budget without fresh answers
SHARE_TTL_INTERVALS = 3
# with senders outside the group, the group leaves this much of the window (and of their use) free
OUTSIDE_MARGIN = 0.03


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
    claims add up to the window, whoever else sends."""
    used = max(0, answer.maximum - max(0, answer.remaining))
    outside = max(0.0, used - answer.accepted / part)
    if outside >= 1:  # a sender outside the group races us for every slot that frees: leave it room
        outside = min(float(answer.maximum), outside * (1 + OUTSIDE_MARGIN) + answer.maximum * OUTSIDE_MARGIN)
    return math.floor(part * (answer.maximum - outside))
