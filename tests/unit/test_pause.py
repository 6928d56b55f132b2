"""The pause controller holds the pipeline on systemic failures and resumes only on healthy answers."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable

import orjson
import pytest
from structlog.testing import capture_logs

from consumer import logs
from consumer.metrics import BREAKER_OPEN, PAUSED, REGISTRY
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.pause import DLQ_UNWRITABLE, MASS_DLQ, TRANSIENT, PauseController, Probe
from tests.unit.fakes import FakeGate

UNAUTHORIZED = Outcome(OutcomeClass.PAUSE, Reason.UNAUTHORIZED, http_status=401)
MIGRATING = Outcome(OutcomeClass.PAUSE, Reason.MIGRATING, http_status=477, retry_after_s=120.0)
DOWN = Outcome(OutcomeClass.RETRY, Reason.SERVER_ERROR, http_status=503)
OK = Outcome(OutcomeClass.SENT, Reason.SENT, http_status=200)
BAD = Outcome(OutcomeClass.PERMANENT, Reason.BAD_REQUEST, http_status=400)


class Clock:
    """A fake clock whose sleep advances time instantly (and yields to the loop)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def controller(
    gate: FakeGate, clock: Clock, changes: list[bool], refreshes: list[int] | None = None
) -> PauseController:
    async def before_probe() -> None:
        if refreshes is not None:
            refreshes.append(1)

    return PauseController(
        gate=gate,
        transient_threshold=3,
        probe_interval_s=5.0,
        max_probe_interval_s=40.0,
        on_change=changes.append,
        before_probe=before_probe,
        sleep=clock.sleep,
        clock=clock,
    )


async def test_a_401_holds_the_gate_at_once_and_a_probe_after_a_token_fix_resumes() -> None:
    gate, clock, changes, refreshes = FakeGate(), Clock(), [], []
    pc = controller(gate, clock, changes, refreshes)
    pc.observe(UNAUTHORIZED, started_at=clock())
    assert pc.paused
    assert gate.held == {"unauthorized"}
    assert changes == [True]

    answers = iter([UNAUTHORIZED, UNAUTHORIZED, OK])

    async def probe() -> Outcome:
        return next(answers)

    result = await pc.block("unauthorized", UNAUTHORIZED, probe)
    assert result == OK
    assert not pc.paused
    assert gate.held == set()
    assert changes == [True, False]
    assert clock.sleeps == [5.0, 10.0, 20.0]  # doubling probe interval
    assert len(refreshes) == 3  # the token file is re-read before every probe


async def test_retry_after_sets_the_first_probe_delay() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)

    async def probe() -> Outcome:
        return OK

    assert await pc.block("portal_migrating", MIGRATING, probe) == OK
    assert clock.sleeps == [120.0]


async def test_concurrent_blockers_wait_for_the_single_prober() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    calls = 0

    async def probe() -> Outcome:
        nonlocal calls
        calls += 1
        return OK

    results = await asyncio.gather(*(pc.block("unauthorized", UNAUTHORIZED, probe) for _ in range(10)))
    assert calls == 1
    assert results.count(OK) == 1
    assert results.count(None) == 9


async def test_consecutive_retry_attempts_open_the_transient_breaker_and_the_offered_request_probes() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    probes: list[str] = []

    async def probe() -> Outcome:
        probes.append("p")
        return OK if len(probes) >= 2 else DOWN

    pc.offer_probe(probe)
    for _ in range(3):
        pc.observe(DOWN, started_at=clock())
    assert gate.held == {TRANSIENT}
    await asyncio.wait_for(pc.wait_resumed(), timeout=5)
    assert probes == ["p", "p"]
    assert not pc.paused


async def test_an_answer_to_an_attempt_started_before_the_hold_does_not_resume() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    before = clock()
    clock.now += 1
    pc.observe(UNAUTHORIZED, started_at=clock())
    pc.observe(OK, started_at=before)  # a slow response from before the outage
    assert pc.paused
    pc.observe(OK, started_at=clock())  # e.g. the client's own retry after re-reading the token
    assert not pc.paused


async def test_a_permanent_probe_result_keeps_the_mass_dlq_breaker_open() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    answers = iter([BAD, BAD, OK])

    async def probe() -> Outcome:
        return next(answers)

    assert await pc.block(MASS_DLQ, BAD, probe) == OK
    assert len(clock.sleeps) == 3
    pc.observe(OK, started_at=clock())
    assert not pc.paused


async def test_healthy_answers_do_not_release_the_mass_dlq_breaker() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    pc.open_mass_dlq(BAD)
    clock.now += 1
    pc.observe(OK, started_at=clock())
    assert pc.paused
    assert MASS_DLQ in pc.causes


async def test_the_prober_takes_every_blocked_request_in_turn() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    tried: list[str] = []

    def candidate(name: str, answer: Outcome) -> Probe:
        async def probe() -> Outcome:
            tried.append(name)
            return answer

        return probe

    bad = pc.block(MASS_DLQ, BAD, candidate("bad", BAD))  # this record is bad on its own
    good = pc.block(MASS_DLQ, BAD, candidate("good", OK))  # this one was only refused by the config error
    results = await asyncio.gather(bad, good)
    assert "good" in tried  # the bad record alone could never have resumed the pipeline
    assert results[0] is None  # the prober never takes another record's answer as its own
    assert not pc.paused


UNWRITABLE = Outcome(OutcomeClass.PAUSE, Reason.DLQ_UNWRITABLE, "too_large")


async def test_a_cancelled_prober_hands_probing_to_the_remaining_blocked_callers() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    healthy = asyncio.Event()
    calls: list[str] = []

    def probe(name: str) -> Probe:
        async def run() -> Outcome:
            calls.append(name)
            return BAD if healthy.is_set() else UNWRITABLE

        return run

    first = asyncio.create_task(pc.block(DLQ_UNWRITABLE, UNWRITABLE, probe("first")))
    await asyncio.sleep(0)
    second = asyncio.create_task(pc.block(DLQ_UNWRITABLE, UNWRITABLE, probe("second")))
    await asyncio.sleep(0)
    first.cancel()  # its partition was revoked
    await asyncio.gather(first, return_exceptions=True)
    assert pc.paused
    healthy.set()
    assert await asyncio.wait_for(second, 5) is None  # resumed by the probe that took over
    assert not pc.paused
    assert "second" in calls


async def test_a_cancelled_prober_with_no_one_left_to_probe_releases_its_cause() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)

    async def never_healthy() -> Outcome:
        return UNWRITABLE

    only = asyncio.create_task(pc.block(DLQ_UNWRITABLE, UNWRITABLE, never_healthy))
    for _ in range(3):
        await asyncio.sleep(0)
    assert pc.causes.keys() == {DLQ_UNWRITABLE}
    only.cancel()
    await asyncio.gather(only, return_exceptions=True)
    assert not pc.paused
    assert changes == [True, False]


async def test_no_hubspot_answer_releases_an_unwritable_dead_letter() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)

    async def never_healthy() -> Outcome:
        return UNWRITABLE

    blocked = asyncio.create_task(pc.block(DLQ_UNWRITABLE, UNWRITABLE, never_healthy))
    await asyncio.sleep(0)
    pc.observe(OK, started_at=clock() + 1)  # a send that started after the hold was answered
    assert pc.causes.keys() == {DLQ_UNWRITABLE}
    blocked.cancel()
    await asyncio.gather(blocked, return_exceptions=True)


TERMINAL = Outcome(OutcomeClass.TERMINAL, Reason.TERMINAL, http_status=200, send_result="PREVIOUSLY_BOUNCED")
DAILY = Outcome(OutcomeClass.PAUSE, Reason.DAILY_LIMIT, http_status=429, retry_after_s=300.0)


def answering(*answers: Outcome) -> Probe:
    pending = iter(answers)

    async def probe() -> Outcome:
        return next(pending)

    return probe


def paused_gauge(cause: str) -> float | None:
    return REGISTRY.get_sample_value("ssc_paused", {"cause": cause})


def breaker_gauge(breaker: str) -> float | None:
    return REGISTRY.get_sample_value("ssc_breaker_open", {"breaker": breaker})


async def test_a_fresh_controller_is_running_and_has_not_probed() -> None:
    pc = controller(FakeGate(), Clock(), [])
    assert not pc.paused
    assert pc.causes == {}
    assert pc.probes == 0
    await asyncio.wait_for(pc.wait_resumed(), timeout=1)


async def test_while_paused_waiters_block_until_the_last_cause_is_released() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    pc.observe(UNAUTHORIZED, started_at=clock())
    pc.open_mass_dlq(BAD)
    assert changes == [True]  # one change for the pipeline, however many causes
    assert pc.causes == {"unauthorized": UNAUTHORIZED, MASS_DLQ: BAD}
    waiter = asyncio.create_task(pc.wait_resumed())
    await asyncio.sleep(0)
    assert not waiter.done()
    pc.observe(OK, started_at=clock())  # releases the 401, not the mass-DLQ breaker
    await asyncio.sleep(0)
    assert not waiter.done()
    assert changes == [True]
    assert gate.held == {MASS_DLQ}
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)


async def test_an_answer_to_an_attempt_started_exactly_when_the_hold_began_resumes() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    pc.observe(UNAUTHORIZED, started_at=clock())
    pc.observe(OK, started_at=clock() - 0.001)
    assert pc.paused
    pc.observe(OK)  # no start time: cannot prove it started after the hold
    assert pc.paused
    pc.observe(OK, started_at=clock())
    assert not pc.paused
    assert changes == [True, False]


@pytest.mark.parametrize("answer", [TERMINAL, BAD], ids=["terminal", "permanent"])
async def test_any_per_event_answer_proves_hubspot_healthy(answer: Outcome) -> None:
    pc = controller(FakeGate(), Clock(), [])
    pc.observe(UNAUTHORIZED, started_at=0.0)
    pc.observe(DOWN, started_at=2000.0)  # a retryable failure proves nothing
    assert pc.paused
    pc.observe(answer, started_at=2000.0)
    assert not pc.paused


async def test_a_repeated_pause_answer_keeps_the_time_the_hold_began() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    pc.observe(UNAUTHORIZED, started_at=clock())
    began = clock()
    clock.now += 10
    pc.observe(UNAUTHORIZED, started_at=clock())  # another attempt refused for the same cause
    assert changes == [True]
    pc.observe(OK, started_at=began + 5)  # started after the hold began, before the repeat
    assert not pc.paused


async def test_the_pause_and_breaker_gauges_follow_each_cause() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    pc.observe(UNAUTHORIZED, started_at=clock())
    pc.open_mass_dlq(BAD)
    assert paused_gauge("unauthorized") == 1.0
    assert paused_gauge(MASS_DLQ) == 1.0
    assert breaker_gauge(MASS_DLQ) == 1.0
    pc.observe(OK, started_at=clock())
    assert paused_gauge("unauthorized") == 0.0
    assert paused_gauge(MASS_DLQ) == 1.0
    pc.offer_probe(answering(OK))
    for _ in range(3):
        pc.observe(DOWN, started_at=clock())
    assert paused_gauge(TRANSIENT) == 1.0
    assert breaker_gauge(TRANSIENT) == 1.0
    await asyncio.wait_for(pc.block(MASS_DLQ, BAD, answering(OK)), timeout=5)
    await asyncio.wait_for(pc.wait_resumed(), timeout=5)
    assert paused_gauge(TRANSIENT) == 0.0
    assert breaker_gauge(TRANSIENT) == 0.0
    assert paused_gauge(MASS_DLQ) == 0.0
    assert breaker_gauge(MASS_DLQ) == 0.0


async def test_a_pause_cause_is_not_a_breaker() -> None:
    pc = controller(FakeGate(), Clock(), [])
    pc.observe(DAILY, started_at=0.0)
    assert paused_gauge("daily_limit") == 1.0
    assert breaker_gauge("daily_limit") is None
    pc.observe(OK, started_at=0.0)
    assert breaker_gauge("daily_limit") is None


async def test_the_pause_and_resume_events_name_the_cause_and_the_answer() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    suspended = Outcome(
        OutcomeClass.PAUSE,
        Reason.PORTAL_UNAVAILABLE,
        "the portal cannot send",
        http_status=200,
        send_result="PORTAL_SUSPENDED",
        retry_after_s=300.0,
    )
    with capture_logs() as events:
        pc.observe(suspended, started_at=clock())
        clock.now += 12.3456
        pc.observe(OK, started_at=clock())
    paused = {k: v for k, v in events[0].items() if k != "timestamp"}
    assert paused == {
        "event": "pipeline.paused",
        "log_level": "warning",
        "cause": "portal_unavailable",
        "reason": "portal_unavailable",
        "http_status": 200,
        "send_result": "PORTAL_SUSPENDED",
        "retry_after_s": 300.0,
        "detail": "the portal cannot send",
    }
    resumed = {k: v for k, v in events[1].items() if k != "timestamp"}
    assert resumed == {
        "event": "pipeline.resumed",
        "log_level": "info",
        "cause": "portal_unavailable",
        "paused_s": 12.346,
    }
    assert len(events) == 2


async def test_each_probe_is_logged_with_its_cause_verdict_and_result() -> None:
    pc = controller(FakeGate(), Clock(), [])
    with capture_logs() as events:
        await pc.block("unauthorized", UNAUTHORIZED, answering(UNAUTHORIZED, TERMINAL))
    probes = [
        {k: v for k, v in e.items() if k != "timestamp"} for e in events if e["event"] == "pipeline.probe"
    ]
    assert probes == [
        {
            "event": "pipeline.probe",
            "log_level": "info",
            "cause": "unauthorized",
            "healthy": False,
            "result": "unauthorized",
        },
        {
            "event": "pipeline.probe",
            "log_level": "info",
            "cause": "unauthorized",
            "healthy": True,
            "result": "PREVIOUSLY_BOUNCED",
        },
    ]


async def test_the_transient_breaker_opens_again_after_a_recovery() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    pc.offer_probe(answering(OK, OK))
    for _ in range(3):
        pc.observe(DOWN, started_at=clock())
    await asyncio.wait_for(pc.wait_resumed(), timeout=5)
    for _ in range(2):
        pc.observe(DOWN, started_at=clock())
    assert not pc.paused  # the count started again at the recovery
    pc.observe(DOWN, started_at=clock())
    assert gate.held == {TRANSIENT}
    await asyncio.wait_for(pc.wait_resumed(), timeout=5)
    assert changes == [True, False, True, False]
    assert pc.probes == 2


async def test_releasing_another_cause_does_not_reset_the_transient_count() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    pc.open_mass_dlq(BAD)
    pc.observe(DOWN, started_at=clock())
    pc.observe(DOWN, started_at=clock())
    await pc.block(MASS_DLQ, BAD, answering(OK))  # the mass-DLQ breaker's own probe releases it
    assert not pc.paused
    pc.observe(DOWN, started_at=clock())
    assert gate.held == {TRANSIENT}


async def test_without_an_offered_request_the_open_transient_breaker_waits_for_an_answer() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    for _ in range(3):
        pc.observe(DOWN, started_at=clock())
    assert gate.held == {TRANSIENT}
    for _ in range(3):
        await asyncio.sleep(0)
    assert pc.probes == 0
    assert clock.sleeps == []
    pc.observe(OK, started_at=clock())
    assert not pc.paused


async def test_a_breaker_that_reopens_while_its_prober_waits_keeps_that_single_prober() -> None:
    clock, sleeps = Clock(), []
    pc = waiting_controller(sleeps, resume := asyncio.Event(), clock)
    pc.offer_probe(answering(OK, OK))
    for _ in range(3):
        pc.observe(DOWN, started_at=clock())
    await asyncio.sleep(0)
    pc.observe(OK, started_at=clock())  # recovered before the probe ran
    assert not pc.paused
    for _ in range(3):
        pc.observe(DOWN, started_at=clock())  # and down again
    await asyncio.sleep(0)
    assert pc.causes.keys() == {TRANSIENT}
    assert sleeps == [5.0]  # the waiting prober serves the new opening
    resume.set()
    await asyncio.wait_for(pc.wait_resumed(), timeout=5)
    assert pc.probes == 1
    await pc.close()


async def probe_waits(*answers: Outcome, probe_interval_s: float, **cap: float) -> list[float]:
    """The waits before each probe of a 401 until ``answers`` runs out (its last must be healthy)."""
    clock = Clock()
    pc = PauseController(
        gate=FakeGate(),
        transient_threshold=3,
        probe_interval_s=probe_interval_s,
        sleep=clock.sleep,
        clock=clock,
        **cap,
    )
    await pc.block("unauthorized", UNAUTHORIZED, answering(*answers))
    assert pc.probes == len(answers)
    return clock.sleeps


async def test_the_probe_interval_doubles_up_to_its_cap_and_never_below_the_first_interval() -> None:
    waits = await probe_waits(UNAUTHORIZED, UNAUTHORIZED, OK, probe_interval_s=5.0, max_probe_interval_s=2.0)
    assert waits == [5.0, 5.0, 5.0]  # a cap below the interval is the interval


async def test_the_default_cap_of_the_probe_interval_is_a_minute() -> None:
    waits = await probe_waits(*[UNAUTHORIZED] * 6, OK, probe_interval_s=5.0)
    assert waits == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0, 60.0]


async def test_a_probe_interval_reaches_the_configured_cap_exactly() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    await pc.block("unauthorized", UNAUTHORIZED, answering(*[UNAUTHORIZED] * 4, OK))
    assert clock.sleeps == [5.0, 10.0, 20.0, 40.0, 40.0]


async def test_retry_after_is_a_floor_of_each_wait_and_is_capped_at_a_day() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    far = Outcome(OutcomeClass.PAUSE, Reason.DAILY_LIMIT, http_status=429, retry_after_s=10.0**6)
    short = Outcome(OutcomeClass.PAUSE, Reason.DAILY_LIMIT, http_status=429, retry_after_s=2.0)
    await pc.block("daily_limit", far, answering(short, DAILY, UNAUTHORIZED, OK))
    # a day; then the interval beats a 2 s Retry-After; then 300 s; then no Retry-After: the interval
    assert clock.sleeps == [86400.0, 10.0, 300.0, 40.0]


async def test_without_retry_after_a_short_probe_interval_alone_sets_the_wait() -> None:
    waits = await probe_waits(UNAUTHORIZED, OK, probe_interval_s=0.25, max_probe_interval_s=0.5)
    assert waits == [0.25, 0.5]


async def test_a_cause_released_while_its_prober_waits_is_not_probed() -> None:
    gate, clock = FakeGate(), Clock()
    waiting = asyncio.Event()
    resume = asyncio.Event()

    async def sleep(seconds: float) -> None:
        waiting.set()
        await resume.wait()

    pc = PauseController(gate=gate, transient_threshold=3, probe_interval_s=5.0, sleep=sleep, clock=clock)
    probed: list[int] = []

    async def probe() -> Outcome:
        probed.append(1)
        return OK

    blocked = asyncio.create_task(pc.block("unauthorized", UNAUTHORIZED, probe))
    await waiting.wait()
    clock.now += 1
    pc.observe(OK, started_at=clock())  # another send answered meanwhile
    resume.set()
    assert await asyncio.wait_for(blocked, 5) is None  # re-send: this record's request was not sent
    assert probed == []
    assert pc.probes == 0


async def test_an_unwritable_dead_letter_is_probed_without_re_reading_credentials() -> None:
    gate, clock, changes, refreshes = FakeGate(), Clock(), [], []
    pc = controller(gate, clock, changes, refreshes)
    assert await pc.block(DLQ_UNWRITABLE, UNWRITABLE, answering(UNWRITABLE, BAD)) == BAD
    assert refreshes == []
    assert pc.probes == 2


async def test_a_permanent_or_terminal_probe_answer_releases_a_pause_cause() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    assert await pc.block("unauthorized", UNAUTHORIZED, answering(BAD)) == BAD
    assert await pc.block("unauthorized", UNAUTHORIZED, answering(TERMINAL)) == TERMINAL
    assert await pc.block(MASS_DLQ, BAD, answering(TERMINAL)) == TERMINAL
    assert pc.probes == 3
    assert not pc.paused


async def test_a_retryable_probe_answer_keeps_the_cause_and_sets_the_next_wait() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    throttled = Outcome(OutcomeClass.THROTTLE, Reason.RATE_LIMITED, http_status=429, retry_after_s=7.0)
    assert await pc.block("unauthorized", UNAUTHORIZED, answering(DOWN, throttled, OK)) == OK
    assert clock.sleeps == [5.0, 10.0, 20.0]
    assert pc.probes == 3


async def test_the_prober_takes_the_blocked_requests_in_a_fixed_rotation() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    tried: list[str] = []
    answers = {"a": iter([BAD, BAD, BAD]), "b": iter([BAD, BAD, OK])}

    def candidate(name: str) -> Probe:
        async def probe() -> Outcome:
            tried.append(name)
            return next(answers[name])

        return probe

    results = await asyncio.gather(
        pc.block(MASS_DLQ, BAD, candidate("a")), pc.block(MASS_DLQ, BAD, candidate("b"))
    )
    assert tried == ["b", "a", "b", "a", "b"]  # probe n takes candidate n mod 2
    assert results == [None, None]  # "b" answered, not the prober's own request: both re-send
    assert pc.probes == 5


async def test_the_defaults_sleep_and_read_the_monotonic_clock() -> None:
    pc = PauseController(gate=FakeGate(), transient_threshold=3, probe_interval_s=0.0)
    assert await asyncio.wait_for(pc.block("unauthorized", UNAUTHORIZED, answering(OK)), 5) == OK
    assert not pc.paused


async def test_close_cancels_a_running_probe_and_waits_for_it_to_end() -> None:
    clock, sleeps = Clock(), []
    pc = waiting_controller(sleeps, asyncio.Event(), clock)
    pc.offer_probe(answering(OK))
    for _ in range(3):
        pc.observe(DOWN, started_at=clock())
    await asyncio.sleep(0)
    await pc.close()
    assert sleeps == [5.0, -1.0]  # cancelled, and ended before close returned
    assert pc.paused  # nothing released it: the task was cancelled, not completed
    assert pc.probes == 0


def blocking_sleep(sleeps: list[float], resume: asyncio.Event) -> Callable[[float], Awaitable[None]]:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        try:
            await resume.wait()
        except asyncio.CancelledError:
            sleeps.append(-1.0)  # cancelled while waiting
            raise

    return sleep


def waiting_controller(sleeps: list[float], resume: asyncio.Event, clock: Clock) -> PauseController:
    """A controller whose probe waits last until ``resume`` is set."""
    return PauseController(
        gate=FakeGate(),
        transient_threshold=3,
        probe_interval_s=5.0,
        sleep=blocking_sleep(sleeps, resume),
        clock=clock,
    )


async def prober_and_waiter(
    pc: PauseController,
) -> tuple[asyncio.Task[Outcome | None], asyncio.Task[Outcome | None]]:
    """Two callers blocked on an unwritable dead letter: the first probes (never healthy), the second
    waits (its request would be answered)."""
    first = asyncio.create_task(pc.block(DLQ_UNWRITABLE, UNWRITABLE, answering(UNWRITABLE)))
    await asyncio.sleep(0)
    second = asyncio.create_task(pc.block(DLQ_UNWRITABLE, UNWRITABLE, answering(BAD)))
    await asyncio.sleep(0)
    return first, second


async def test_a_caller_blocking_while_probing_is_handed_over_does_not_probe_as_well() -> None:
    sleeps: list[float] = []
    resume = asyncio.Event()
    pc = waiting_controller(sleeps, resume, Clock())
    first, second = await prober_and_waiter(pc)
    assert sleeps == [5.0]
    first.cancel()
    third = asyncio.create_task(pc.block(DLQ_UNWRITABLE, UNWRITABLE, answering(BAD)))  # runs right after
    for _ in range(5):
        await asyncio.sleep(0)
    assert sleeps == [5.0, -1.0, 5.0]  # the cancelled prober's wait and its successor's, no third prober
    resume.set()
    assert await asyncio.wait_for(asyncio.gather(second, third), 5) == [None, None]
    assert pc.probes == 1
    assert not pc.paused


async def test_a_probe_handed_over_keeps_probing_when_every_blocked_caller_is_gone() -> None:
    sleeps: list[float] = []
    resume = asyncio.Event()
    pc = waiting_controller(sleeps, resume, Clock())
    first, second = await prober_and_waiter(pc)
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    second.cancel()  # the successor probes with this caller's request
    await asyncio.gather(second, return_exceptions=True)
    assert pc.paused
    resume.set()
    await asyncio.wait_for(pc.wait_resumed(), 5)
    assert pc.probes == 1


async def test_close_cancels_a_probe_handed_over_by_a_cancelled_prober() -> None:
    sleeps: list[float] = []
    pc = waiting_controller(sleeps, asyncio.Event(), Clock())
    first, second = await prober_and_waiter(pc)
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    for _ in range(3):
        await asyncio.sleep(0)
    assert sleeps == [5.0, -1.0, 5.0]
    await pc.close()
    assert sleeps == [5.0, -1.0, 5.0, -1.0]
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    assert pc.paused  # the successor was cancelled: it neither probed nor released
    assert pc.probes == 0


async def test_a_caller_whose_cause_was_released_meanwhile_waits_while_another_cause_holds() -> None:
    sleeps: list[float] = []
    resume = asyncio.Event()
    clock = Clock()
    pc = waiting_controller(sleeps, resume, clock)
    blocked = asyncio.create_task(pc.block("unauthorized", UNAUTHORIZED, answering(OK)))
    await asyncio.sleep(0)
    pc.open_mass_dlq(BAD)
    clock.now += 1
    pc.observe(OK, started_at=clock())  # releases the 401 while its prober waits
    assert pc.causes.keys() == {MASS_DLQ}
    resume.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert not blocked.done()  # the pipeline is still paused: no record may be re-sent yet
    assert pc.probes == 0
    await asyncio.wait_for(pc.block(MASS_DLQ, BAD, answering(OK)), 5)
    assert await asyncio.wait_for(blocked, 5) is None


async def test_a_cause_that_pauses_again_while_another_cause_holds_is_probed_again() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    pc.open_mass_dlq(BAD)
    first = asyncio.create_task(pc.block("unauthorized", UNAUTHORIZED, answering(OK)))
    waiter = asyncio.create_task(pc.block("unauthorized", UNAUTHORIZED, answering(OK, OK)))
    await asyncio.wait_for(first, 5)
    assert pc.causes.keys() == {MASS_DLQ}
    assert not waiter.done()  # waits for the mass-DLQ breaker too
    again = Outcome(OutcomeClass.PAUSE, Reason.UNAUTHORIZED, http_status=401, detail="again")
    await asyncio.wait_for(pc.block("unauthorized", again, answering(OK)), 5)  # probes, is not left waiting
    assert pc.causes.keys() == {MASS_DLQ}
    assert pc.probes == 2
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    await pc.close()


async def test_probes_end_without_errors_in_the_event_loop() -> None:
    errors: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context))
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    pc.offer_probe(answering(OK))
    for _ in range(3):
        pc.observe(DOWN, started_at=clock())
    await asyncio.wait_for(pc.wait_resumed(), timeout=5)
    first, second = await prober_and_waiter(pc)
    first.cancel()  # the handed-over probe runs as a task of its own
    assert await asyncio.wait_for(second, 5) is None
    for _ in range(5):
        await asyncio.sleep(0)
    assert errors == []


async def test_a_probe_answered_after_its_cause_was_released_meanwhile_ends_quietly() -> None:
    gate, clock, changes = FakeGate(), Clock(), []
    pc = controller(gate, clock, changes)
    answered = asyncio.Event()

    async def probe() -> Outcome:
        await answered.wait()
        return OK

    blocked = asyncio.create_task(pc.block("unauthorized", UNAUTHORIZED, probe))
    for _ in range(3):
        await asyncio.sleep(0)
    assert pc.probes == 1  # the probe request is in flight
    clock.now += 1
    pc.observe(OK, started_at=clock())  # another send, answered first
    assert not pc.paused
    answered.set()
    assert await asyncio.wait_for(blocked, 5) == OK
    assert changes == [True, False]


def test_a_cause_is_a_reason_and_shows_as_its_plain_code_in_logs_and_metrics() -> None:
    """Causes are Reason members; log lines, metric labels and /readyz see the same text as ever."""
    stream = io.StringIO()
    logs.configure("INFO", "json", stream=stream)
    pc = controller(FakeGate(), Clock(), [])
    pc.observe(UNAUTHORIZED)
    pc.open_mass_dlq(BAD)
    assert pc.causes.keys() == {Reason.UNAUTHORIZED, MASS_DLQ}
    assert MASS_DLQ is Reason.MASS_DLQ_BREAKER
    assert TRANSIENT is Reason.TRANSIENT_BREAKER
    assert DLQ_UNWRITABLE is Reason.DLQ_UNWRITABLE
    paused = [line for line in stream.getvalue().splitlines() if '"pipeline.paused"' in line]
    assert [orjson.loads(line)["cause"] for line in paused] == ["unauthorized", "mass_dlq_breaker"]
    assert all('"cause":"unauthorized"' in line or '"cause":"mass_dlq_breaker"' in line for line in paused)
    samples = {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for metric in (PAUSED, BREAKER_OPEN)
        for family in metric.collect()
        for s in family.samples
    }
    assert ("ssc_paused", (("cause", "unauthorized"),), 1.0) in samples
    assert ("ssc_breaker_open", (("breaker", "mass_dlq_breaker"),), 1.0) in samples
    assert orjson.dumps(sorted(pc.causes)) == b'["mass_dlq_breaker","unauthorized"]'
