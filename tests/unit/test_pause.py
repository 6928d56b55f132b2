"""The pause controller holds the pipeline on systemic failures and resumes only on healthy answers."""

from __future__ import annotations

import asyncio

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
