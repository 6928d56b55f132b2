"""The retry policy of one send, decision by decision, with exact values (no I/O, no clock, no sleep).

Limits: backoff 0.5 s doubling to a 4 s cap, a 30 s budget, Retry-After capped at 100 s. The jitter
draw is injected: a fake ``uniform`` that records its bounds and returns a fixed fraction of the span.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from consumer.hubspot.retry import Action, Decision, RetryPolicy, SendState, exhausted
from consumer.outcome import Outcome, OutcomeClass, Reason

NOW = 1_000.0


@dataclass(frozen=True)
class Limits:
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 4.0
    budget_s: float = 30.0
    max_retry_after_s: float = 100.0
    jitter: bool = False


@dataclass
class Draw:
    """``uniform(a, b)``: records ``(a, b)`` and returns ``a + fraction * (b - a)``."""

    fraction: float = 0.25
    calls: list[tuple[float, float]] = field(default_factory=list)

    def __call__(self, a: float, b: float) -> float:
        self.calls.append((a, b))
        return a + self.fraction * (b - a)


def policy(draw: Draw | None = None, **limits: float | bool) -> RetryPolicy:
    return RetryPolicy(Limits(**limits), draw or Draw())  # type: ignore[arg-type]


def answer(cls: OutcomeClass, status: int | None = None, retry_after: float | None = None) -> Outcome:
    reason = {
        OutcomeClass.SENT: Reason.SENT,
        OutcomeClass.TERMINAL: Reason.TERMINAL,
        OutcomeClass.PERMANENT: Reason.BAD_REQUEST,
        OutcomeClass.RETRY: Reason.SERVER_ERROR,
        OutcomeClass.THROTTLE: Reason.RATE_LIMITED,
        OutcomeClass.PAUSE: Reason.UNAUTHORIZED if status == 401 else Reason.FORBIDDEN,
    }[cls]
    return Outcome(cls, reason, f"HTTP {status}", http_status=status, retry_after_s=retry_after)


SENT = answer(OutcomeClass.SENT, 200)
E503 = answer(OutcomeClass.RETRY, 503)
E429 = answer(OutcomeClass.THROTTLE, 429)
E401 = answer(OutcomeClass.PAUSE, 401)


def final(outcome: Outcome, attempts: int) -> Outcome:
    return Outcome(
        outcome.cls,
        outcome.reason,
        outcome.detail,
        http_status=outcome.http_status,
        retry_after_s=outcome.retry_after_s,
        attempts=attempts,
    )


# -- the start ---------------------------------------------------------------------------------------------


def test_a_send_starts_with_nothing_spent_and_only_a_probe_passes_the_holds() -> None:
    assert SendState.start() == SendState(False, 0, 0, False, None, False)
    assert SendState.start(probe=False) == SendState()
    assert SendState.start(probe=True) == SendState(probe=True, passes_hold=True)


# -- backoff -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_no", "expected"),
    # past a float's range (about a thousand throttled answers in a row) the cap still applies
    [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (9, 4.0), (1_100, 4.0), (100_000, 4.0)],
)
def test_backoff_without_jitter_doubles_from_the_initial_wait_up_to_the_cap(
    retry_no: int, expected: float
) -> None:
    draw = Draw()
    assert policy(draw).backoff(retry_no, None) == expected
    assert draw.calls == []


@pytest.mark.parametrize(
    ("retry_no", "fraction", "cap", "expected"),
    [
        (1, 0.25, 0.5, 0.125),
        (2, 0.5, 1.0, 0.5),
        (3, 0.0, 2.0, 0.0),
        (4, 1.0, 4.0, 4.0),
        (6, 0.75, 4.0, 3.0),
    ],
)
def test_backoff_with_full_jitter_draws_uniformly_between_zero_and_the_capped_wait(
    retry_no: int, fraction: float, cap: float, expected: float
) -> None:
    draw = Draw(fraction)
    assert policy(draw, jitter=True).backoff(retry_no, None) == expected
    assert draw.calls == [(0, cap)]


@pytest.mark.parametrize(
    ("retry_no", "retry_after", "expected"),
    [
        (1, None, 0.5),
        (1, 0.0, 0.5),  # a zero Retry-After is no wait, not "no Retry-After"
        (3, 1.5, 2.0),  # shorter than the backoff: the backoff wins
        (3, 2.0, 2.0),
        (3, 2.5, 2.5),  # longer: Retry-After wins
        (1, 7.0, 7.0),  # above the backoff cap: still honoured
        (1, 99.5, 99.5),
        (1, 100.0, 100.0),
        (1, 100.5, 100.0),  # capped at max_retry_after_s
        (1, 5_000.0, 100.0),
    ],
)
def test_backoff_waits_at_least_the_capped_retry_after(
    retry_no: int, retry_after: float | None, expected: float
) -> None:
    assert policy().backoff(retry_no, retry_after) == expected


def test_a_jittered_draw_below_retry_after_waits_retry_after() -> None:
    draw = Draw(0.5)
    assert policy(draw, jitter=True).backoff(4, 3.0) == 3.0  # the draw is 2.0
    assert policy(draw, jitter=True).backoff(4, 1.0) == 2.0
    assert draw.calls == [(0, 4.0), (0, 4.0)]


# -- decisions ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "outcome", "now", "expected"),
    [
        # final answers end the send at once, with the number of attempts made
        (SendState(), SENT, NOW, Decision(Action.FINISH, final(SENT, 1), SendState(attempts=1))),
        (
            SendState(attempts=4, throttled=2, deadline=1_020.0),
            answer(OutcomeClass.TERMINAL, 200),
            NOW,
            Decision(
                Action.FINISH,
                final(answer(OutcomeClass.TERMINAL, 200), 5),
                SendState(attempts=5, throttled=2, deadline=1_020.0),
            ),
        ),
        (
            SendState(),
            answer(OutcomeClass.PERMANENT, 400),
            NOW,
            Decision(Action.FINISH, final(answer(OutcomeClass.PERMANENT, 400), 1), SendState(attempts=1)),
        ),
        (
            SendState(),
            answer(OutcomeClass.PAUSE, 403, 60.0),
            NOW,
            Decision(Action.FINISH, final(answer(OutcomeClass.PAUSE, 403, 60.0), 1), SendState(attempts=1)),
        ),
        # the first RETRY answer starts the budget: deadline = now + 30 s
        (
            SendState(),
            E503,
            NOW,
            Decision(Action.RETRY, E503, SendState(attempts=1, deadline=1_030.0), 0.5),
        ),
        # later ones keep it, and the exponent is the attempt number (throttles count too)
        (
            SendState(attempts=2, throttled=1, deadline=1_010.0),
            E503,
            1_005.0,
            Decision(Action.RETRY, E503, SendState(attempts=3, throttled=1, deadline=1_010.0), 2.0),
        ),
        # a THROTTLE without Retry-After backs off by the number of THROTTLE answers, not attempts,
        # and neither starts nor spends the budget
        (
            SendState(attempts=3, throttled=1),
            E429,
            NOW,
            Decision(Action.THROTTLED, E429, SendState(attempts=4, throttled=2), 1.0),
        ),
        (
            SendState(attempts=1, deadline=900.0),
            E429,
            NOW,
            Decision(Action.THROTTLED, E429, SendState(attempts=2, throttled=1, deadline=900.0), 0.5),
        ),
        # with Retry-After the limiter holds every sender: this request adds no wait of its own
        (
            SendState(attempts=5, throttled=4),
            answer(OutcomeClass.THROTTLE, 429, 20.0),
            NOW,
            Decision(
                Action.THROTTLED,
                answer(OutcomeClass.THROTTLE, 429, 20.0),
                SendState(attempts=6, throttled=5),
                0.0,
            ),
        ),
        # the first 401 refreshes the credential; the retry passes the pause's hold
        (
            SendState(attempts=2, deadline=1_010.0),
            E401,
            NOW,
            Decision(
                Action.REAUTHENTICATE,
                final(E401, 3),
                SendState(attempts=3, reauthed=True, deadline=1_010.0, passes_hold=True),
            ),
        ),
        # a second 401 is final
        (
            SendState(attempts=1, reauthed=True, passes_hold=True),
            E401,
            NOW,
            Decision(Action.FINISH, final(E401, 2), SendState(attempts=2, reauthed=True)),
        ),
        # only a PAUSE 401 refreshes
        (
            SendState(),
            answer(OutcomeClass.PERMANENT, 401),
            NOW,
            Decision(Action.FINISH, final(answer(OutcomeClass.PERMANENT, 401), 1), SendState(attempts=1)),
        ),
    ],
)
def test_decide(state: SendState, outcome: Outcome, now: float, expected: Decision) -> None:
    assert policy().decide(state, outcome, now) == expected


@pytest.mark.parametrize(
    ("state", "now", "retry_after", "action"),
    [
        # deadline 1 030: a retry that would start exactly at it is still made, one later is not
        (SendState(attempts=1, deadline=1_030.0), 1_029.0, None, Action.RETRY),  # 1 029 + 1 = 1 030
        (SendState(attempts=1, deadline=1_030.0), 1_029.5, None, Action.GIVE_UP),  # 1 030.5
        (SendState(attempts=1, deadline=1_030.0), 1_030.0, None, Action.GIVE_UP),
        (SendState(attempts=1, deadline=1_030.0), 1_027.0, 3.0, Action.RETRY),
        (SendState(attempts=1, deadline=1_030.0), 1_027.0, 3.5, Action.GIVE_UP),
        # the first RETRY answer: a Retry-After up to the whole budget is waited, a longer one is not
        (SendState(), NOW, 30.0, Action.RETRY),
        (SendState(), NOW, 30.5, Action.GIVE_UP),
    ],
)
def test_retries_stop_when_the_next_one_would_start_after_the_deadline(
    state: SendState, now: float, retry_after: float | None, action: Action
) -> None:
    decision = policy().decide(state, answer(OutcomeClass.RETRY, 503, retry_after), now)
    assert decision.action is action


def test_giving_up_returns_retries_exhausted_with_the_last_answer() -> None:
    last = dataclasses.replace(
        answer(OutcomeClass.RETRY, 423, 50.0),
        reason=Reason.LOCKED,
        send_result="ATTACHMENT_DOWNLOAD_QUEUE_FULL",
        correlation_id="c-7",
    )
    state = SendState(attempts=6, throttled=2, deadline=1_040.0)
    decision = policy().decide(state, last, NOW)
    assert decision == Decision(
        Action.GIVE_UP,
        Outcome(
            OutcomeClass.RETRY,
            Reason.RETRIES_EXHAUSTED,
            "gave up after 7 attempts; last: HTTP 423",
            http_status=423,
            send_result="ATTACHMENT_DOWNLOAD_QUEUE_FULL",
            correlation_id="c-7",
            retry_after_s=50.0,
            attempts=7,
        ),
        SendState(attempts=7, throttled=2, deadline=1_040.0),
    )
    assert exhausted(last, 7) == decision.outcome


def test_the_retry_wait_is_the_jittered_draw_or_retry_after() -> None:
    draw = Draw(0.5)
    jittered = policy(draw, jitter=True)
    assert jittered.decide(SendState(attempts=2, deadline=1_030.0), E503, NOW).delay_s == 1.0
    assert draw.calls == [(0, 2.0)]
    with_wait = answer(OutcomeClass.RETRY, 503, 7.0)
    assert jittered.decide(SendState(attempts=2, deadline=1_030.0), with_wait, NOW).delay_s == 7.0


def test_a_throttle_without_retry_after_draws_its_own_jitter_and_with_it_draws_nothing() -> None:
    draw = Draw(0.5)
    jittered = policy(draw, jitter=True)
    assert jittered.decide(SendState(throttled=2), E429, NOW).delay_s == 1.0
    assert draw.calls == [(0, 2.0)]
    assert jittered.decide(SendState(), answer(OutcomeClass.THROTTLE, 429, 4.0), NOW).delay_s == 0.0
    assert draw.calls == [(0, 2.0)]


def test_throttling_never_gives_up_however_far_past_the_deadline() -> None:
    state = SendState(attempts=40, throttled=39, deadline=NOW)
    decision = policy().decide(state, E429, NOW + 10_000)
    assert decision == Decision(
        Action.THROTTLED, E429, SendState(attempts=41, throttled=40, deadline=NOW), 4.0
    )


def test_one_refresh_per_send_then_a_401_is_final() -> None:
    p = policy()
    first = p.decide(SendState.start(), E401, NOW)
    assert first.action is Action.REAUTHENTICATE
    retried = p.decide(first.state, E401, NOW)
    assert retried.action is Action.FINISH
    assert retried.outcome == final(E401, 2)
    assert retried.state == SendState(attempts=2, reauthed=True)


def test_only_the_attempt_right_after_a_refresh_passes_the_holds() -> None:
    p = policy()
    first = p.decide(SendState.start(), E401, NOW)
    assert first.state.passes_hold is True
    after = p.decide(first.state, E503, NOW)
    assert after.state.passes_hold is False


# -- probes ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (E503, Decision(Action.RETURN, final(E503, 1), SendState(True, 1, passes_hold=True))),
        (E429, Decision(Action.RETURN, final(E429, 1), SendState(True, 1, passes_hold=True))),
        (
            answer(OutcomeClass.THROTTLE, 429, 9.0),
            Decision(
                Action.RETURN,
                final(answer(OutcomeClass.THROTTLE, 429, 9.0), 1),
                SendState(True, 1, passes_hold=True),
            ),
        ),
        (SENT, Decision(Action.FINISH, final(SENT, 1), SendState(True, 1, passes_hold=True))),
        (
            E401,
            Decision(
                Action.REAUTHENTICATE, final(E401, 1), SendState(True, 1, reauthed=True, passes_hold=True)
            ),
        ),
    ],
)
def test_a_probe_is_one_attempt_and_one_more_after_a_refresh(outcome: Outcome, expected: Decision) -> None:
    assert policy().decide(SendState.start(probe=True), outcome, NOW) == expected


def test_a_probe_after_its_refresh_returns_whatever_the_retry_answers() -> None:
    state = SendState(probe=True, attempts=1, reauthed=True, passes_hold=True)
    decision = policy().decide(state, E503, NOW)
    assert decision == Decision(
        Action.RETURN, final(E503, 2), SendState(True, 2, reauthed=True, passes_hold=True)
    )


def test_a_retrying_probe_draws_its_jitter_as_a_send_does() -> None:
    # the draw is made before the probe returns: the jitter sequence of later sends stays the same
    draw = Draw()
    policy(draw, jitter=True).decide(SendState.start(probe=True), E503, NOW)
    assert draw.calls == [(0, 0.5)]
    policy(draw, jitter=True).decide(SendState.start(probe=True), E429, NOW)
    assert draw.calls == [(0, 0.5)]
