"""The rate limiter's discovery policy: find HubSpot's limit from its answers when it publishes no
rate-limit headers (with them, :mod:`consumer.hubspot.ratesharing` shares the app's window).

Pure: no I/O and no clock of its own (every step takes ``now``), frozen values in and out, so the
policy is tested with tables of answers. :class:`consumer.hubspot.ratelimit.RateLimiter` is the shell
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
    return Discovery(rate=rate, ceiling=ceiling, grown_at=now)  # (growth only once settled)


def pushback(state: Discovery, tuning: Tuning, now: float, *, measured: float | None) -> Discovery:
    """HubSpot pushed back; ``measured`` is the rate it accepted from us over the last interval."""
    if now < state.settle_until:
        return state
    ceiling = state.rate if measured is None or measured <= 0 else min(measured, state.rate)
    rate = min(state.rate, ceiling) * (1 - tuning.margin)
    rate = max(rate, tuning.min_rate)
    return Discovery(rate=rate, ceiling=ceiling, grown_at=now, settle_until=now + tuning.settle_s)
