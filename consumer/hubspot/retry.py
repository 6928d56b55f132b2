"""The retry policy of one send, apart from its I/O (pure).

:meth:`RetryPolicy.decide` takes what is known after an attempt — the :class:`SendState` of the send,
the attempt's classified :class:`~consumer.outcome.Outcome` and the clock reading — and returns a
:class:`Decision`: what the client does next and the state of the send after it.
:meth:`consumer.hubspot.client.HubSpotClient.send` only carries decisions out (sleeps, refreshes the
credential, throttles the limiter, logs). The random draw of the jitter is injected (``uniform``), so
the policy is deterministic under test.

| answer                                  | decision                                                  |
|-----------------------------------------|-----------------------------------------------------------|
| THROTTLE                                | ``THROTTLED``: send again, after the request's own backoff|
|                                         | when there is no ``Retry-After`` (the limiter holds       |
|                                         | everyone when there is one); no retry budget is spent     |
| RETRY, within the budget                | ``RETRY``: send again after the backoff                   |
| RETRY, the backoff would end past it    | ``GIVE_UP``: ``Outcome(RETRY, RETRIES_EXHAUSTED)``        |
| the first 401 of the send               | ``REAUTHENTICATE``: refresh the credential; when it       |
|                                         | changed, send again at once, passing the limiter's holds  |
| anything else (a second 401 too)        | ``FINISH``: the final outcome                             |
| THROTTLE or RETRY of a probe            | ``RETURN``: a probe makes one attempt (and one more after |
|                                         | a credential refresh)                                     |

Backoff: the n-th retry waits ``uniform(0, min(max_backoff_s, initial_backoff_s * 2**(n-1)))`` (the cap
itself without jitter), and at least ``Retry-After`` capped at ``max_retry_after_s``. A RETRY counts n
by attempts, a THROTTLE by THROTTLE answers. The time budget (``budget_s``) starts at the first
RETRY-class answer, so time spent waiting for the rate limiter before it does not count.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from consumer.outcome import Outcome, OutcomeClass, Reason


class RetryLimits(Protocol):
    """The numbers the policy follows. ``HubSpotSettings.retry`` satisfies it, and so does any frozen
    value with these fields: the policy depends on their shape, not on the settings' loader."""

    @property
    def initial_backoff_s(self) -> float: ...

    @property
    def max_backoff_s(self) -> float: ...

    @property
    def budget_s(self) -> float: ...

    @property
    def max_retry_after_s(self) -> float: ...

    @property
    def jitter(self) -> bool: ...


class Action(Enum):
    """What the client does after an attempt."""

    RETRY = "retry"  # send the same body again after ``delay_s`` (a RETRY-class answer)
    THROTTLED = "throttled"  # send the same body again after ``delay_s`` (flow control)
    REAUTHENTICATE = "reauthenticate"  # refresh the credential; changed: send again, else return
    GIVE_UP = "give_up"  # the retry budget is spent: return ``outcome`` (RETRIES_EXHAUSTED)
    FINISH = "finish"  # ``outcome`` is final: apply its holds, return it
    RETURN = "return"  # a probe's one attempt: return ``outcome`` as it is


@dataclass(frozen=True, slots=True)
class SendState:
    """What one send has been through so far."""

    probe: bool = False  # the pause controller's check: one attempt, passing the limiter's holds
    attempts: int = 0  # attempts answered
    throttled: int = 0  # THROTTLE answers (the backoff exponent of a refused request)
    reauthed: bool = False  # the one credential refresh of this send is used
    deadline: float | None = None  # the clock time the retry budget ends (set by the first RETRY)
    passes_hold: bool = False  # the next attempt passes the limiter's holds

    @classmethod
    def start(cls, *, probe: bool = False) -> SendState:
        return cls(probe=probe, passes_hold=probe)


@dataclass(frozen=True, slots=True)
class Decision:
    """The next step: ``outcome`` is the answer (RETRY, THROTTLED: for the logs) or the final outcome
    with its ``attempts``; ``state`` is the send's state for its next attempt."""

    action: Action
    outcome: Outcome
    state: SendState
    delay_s: float = 0.0


def exhausted(last: Outcome, attempts: int) -> Outcome:
    """The final outcome of a send whose retry budget is spent; ``last`` is its last answer."""
    return Outcome(
        OutcomeClass.RETRY,
        Reason.RETRIES_EXHAUSTED,
        f"gave up after {attempts} attempts; last: {last.detail}",
        http_status=last.http_status,
        send_result=last.send_result,
        correlation_id=last.correlation_id,
        retry_after_s=last.retry_after_s,
        attempts=attempts,
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The retry policy (see the module docstring); ``uniform(a, b)`` draws the jitter."""

    limits: RetryLimits
    uniform: Callable[[float, float], float]

    def backoff(self, retry_no: int, retry_after_s: float | None) -> float:
        """The wait before the ``retry_no``-th retry (1-based), at least the capped ``Retry-After``."""
        limits = self.limits
        try:
            exponential = limits.initial_backoff_s * 2 ** (retry_no - 1)
        except OverflowError:  # beyond a float after about a thousand doublings: the cap applies
            exponential = math.inf
        cap = min(limits.max_backoff_s, exponential)
        delay = self.uniform(0, cap) if limits.jitter else cap
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, limits.max_retry_after_s))
        return delay

    def decide(self, state: SendState, outcome: Outcome, now: float) -> Decision:
        """What to do after an attempt of the send in ``state`` was answered with ``outcome`` at ``now``."""
        attempts = state.attempts + 1
        answered = dataclasses.replace(state, attempts=attempts, passes_hold=state.probe)
        final = dataclasses.replace(outcome, attempts=attempts)
        if outcome.cls is OutcomeClass.THROTTLE:
            if state.probe:
                return Decision(Action.RETURN, final, answered)
            throttled = state.throttled + 1
            own = outcome.retry_after_s is None  # with Retry-After the limiter holds every sender
            delay = self.backoff(throttled, None) if own else 0.0
            return Decision(
                Action.THROTTLED, outcome, dataclasses.replace(answered, throttled=throttled), delay
            )
        if outcome.cls is OutcomeClass.RETRY:
            delay = self.backoff(attempts, outcome.retry_after_s)
            if state.probe:
                return Decision(Action.RETURN, final, answered)
            deadline = now + self.limits.budget_s if state.deadline is None else state.deadline
            after = dataclasses.replace(answered, deadline=deadline)
            if now + delay > deadline:
                return Decision(Action.GIVE_UP, exhausted(outcome, attempts), after)
            return Decision(Action.RETRY, outcome, after, delay)
        if outcome.cls is OutcomeClass.PAUSE and outcome.http_status == 401 and not state.reauthed:
            # the retry checks the new credential: it passes the pause's hold
            reauth = dataclasses.replace(answered, reauthed=True, passes_hold=True)
            return Decision(Action.REAUTHENTICATE, final, reauth)
        return Decision(Action.FINISH, final, answered)


__all__ = ["Action", "Decision", "RetryLimits", "RetryPolicy", "SendState", "exhausted"]
