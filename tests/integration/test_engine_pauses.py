"""S4 and S6: config-class answers pause the whole pipeline instead of flooding the DLQ.

The simulator's answers are time-stamped (``Answers``) so the tests can tell what the consumer sent
while it was supposed to be paused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from consumer.routing_loader import load_router
from consumer.service import RunResult, Service
from consumer.settings import Settings
from hubspot_simulator import RunningSimulator, SimulatorConfig
from tests.conftest import CreateTopic
from tests.fixtures_simulator import StartSim
from tests.integration.harness import (
    TOKEN,
    WELCOME_EMAIL_ID,
    committed,
    end_offsets,
    produce,
    read_all,
    settings_for,
    signup,
    sim_config,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@dataclass(frozen=True, slots=True)
class Answer:
    at: float
    status: str
    outcome: str


class Answers(list[Answer]):
    """Every answer the simulator gives, with the loop time it was given at."""

    def first(self, status: str) -> Answer:
        return next(a for a in self if a.status == status)

    def between(self, start: float, end: float, status: str) -> list[Answer]:
        return [a for a in self if start < a.at < end and a.status == status]


def paused(service: Service) -> set[str]:
    """The causes the service is paused for (what /readyz reports)."""
    return set(service.controller.causes) if service.controller else set()


def record_answers(sim: RunningSimulator) -> Answers:
    answers = Answers()
    state = sim.state
    original = state.count
    loop = asyncio.get_running_loop()

    def count(status: int, outcome: str) -> None:
        answers.append(Answer(loop.time(), str(status), outcome))
        original(status, outcome)

    state.count = count  # type: ignore[method-assign]
    return answers


async def wait_for(predicate: object, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.05)


@dataclass(slots=True)
class Scenario:
    topic: str
    sim: RunningSimulator
    answers: Answers
    events: list[dict[str, Any]]
    settings: Settings
    service: Service
    run: asyncio.Task[RunResult]


Launch = Callable[..., Awaitable[Scenario]]


@pytest.fixture
async def launch(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> AsyncIterator[Launch]:
    """``await launch(events=3000, ...)``: topic, simulator (answers time-stamped), events published,
    the service running until drained in a task; cancelled at teardown if a test fails early."""
    tasks: list[asyncio.Task[RunResult]] = []

    async def start(
        *,
        events: int = 3_000,
        partitions: int = 3,
        sim: SimulatorConfig | None = None,
        prepare: Callable[[RunningSimulator], object] | None = None,
        hubspot: dict[str, Any] | None = None,
        **engine: Any,
    ) -> Scenario:
        topic = await create_topic(partitions=partitions)
        simulator = await start_sim(sim or sim_config())
        answers = record_answers(simulator)
        if prepare is not None:
            prepare(simulator)
        sample = [signup(i) for i in range(events)]
        await produce(kafka_bootstrap, topic, sample)
        settings = settings_for(kafka_bootstrap, topic, simulator, hubspot=hubspot, **engine)
        service = Service(settings, load_router(settings))
        run = asyncio.create_task(service.run(until_drained=True))
        tasks.append(run)
        return Scenario(topic, simulator, answers, sample, settings, service, run)

    try:
        yield start
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.timeout(240)
async def test_s4_a_revoked_token_pauses_the_pipeline_until_the_rotated_token_is_mounted(
    kafka_bootstrap: str, launch: Launch, tmp_path: Path
) -> None:
    token_file = tmp_path / "hubspot-token"
    token_file.write_text(TOKEN)
    s = await launch(events=10_000, hubspot={"auth": {"token_file": token_file}})
    topic, sim, answers, events, settings, service, run = (
        s.topic,
        s.sim,
        s.answers,
        s.events,
        s.settings,
        s.service,
        s.run,
    )

    await wait_for(lambda: len(sim.state.sends) >= 2_000, 60)
    sim.state.tokens.discard(TOKEN)  # the private app's token is revoked ...
    await wait_for(lambda: "401" in {a.status for a in answers}, 10)
    first_401 = answers.first("401")
    await asyncio.sleep(1.0)
    health = service.health()
    assert not health.ready
    assert health.detail["paused"] == ["unauthorized"]
    await asyncio.sleep(119.0)  # ... for 120 s, then a new token is created and mounted
    sim.state.tokens.add("rotated-private-app-token")
    token_file.write_text("rotated-private-app-token")
    fixed_at = asyncio.get_running_loop().time()
    result = await asyncio.wait_for(run, 90)

    failing = [a for a in answers if a.status == "401"]
    probes = service.controller.probes if service.controller else 0
    in_flight = settings.engine.max_in_flight
    late = answers.between(first_401.at + 0.25, fixed_at, "401")  # sent after the pause took effect
    assert len(late) <= probes + 3
    assert len(failing) <= in_flight + probes + 3
    first_ok_after = next(a for a in answers if a.at > fixed_at and a.status == "200")
    assert first_ok_after.at - fixed_at <= settings.engine.max_probe_interval_s + 2  # resumed promptly
    assert len(sim.state.sends) == len(events)  # I1
    assert await read_all(kafka_bootstrap, f"{topic}.dlq", idle_ms=500) == []  # 0 DLQ
    assert result.counts.by_outcome == {"SENT": 10_000}
    assert await committed(kafka_bootstrap, settings.kafka.group_id, topic, 3) == await end_offsets(
        kafka_bootstrap, topic, 3
    )


@pytest.mark.timeout(120)
async def test_s6_a_477_with_retry_after_pauses_everything_for_that_long(
    kafka_bootstrap: str, launch: Launch
) -> None:
    s = await launch()
    topic, sim, answers, events, run = s.topic, s.sim, s.answers, s.events, s.run

    await wait_for(lambda: len(sim.state.sends) >= 1_000, 60)
    sim.configure(window={"status": 477, "seconds": 1.0, "retry_after": 4})
    result = await asyncio.wait_for(run, 90)

    t477 = answers.first("477").at
    assert answers.between(t477, t477 + 3.8, "200") == []  # nothing sent before Retry-After passed
    assert len(sim.state.sends) == len(events)
    assert await read_all(kafka_bootstrap, f"{topic}.dlq", idle_ms=500) == []
    assert result.counts.by_outcome == {"SENT": 3_000}


@pytest.mark.timeout(120)
async def test_s6_a_daily_limit_pauses_until_the_reset_and_dead_letters_nothing(
    kafka_bootstrap: str, launch: Launch
) -> None:
    s = await launch(sim=sim_config(daily_limit=2_000, daily_retry_after_s=3.0))  # the reset leaves room
    topic, sim, answers, events, run = s.topic, s.sim, s.answers, s.events, s.run

    await wait_for(lambda: "429" in {a.status for a in answers}, 60)
    t_daily = answers.first("429").at
    await asyncio.sleep(2.0)
    for window in sim.state.rate_windows.values():
        window.day_count = 0  # midnight in the portal's time zone
    result = await asyncio.wait_for(run, 90)

    assert answers.between(t_daily, t_daily + 2.8, "200") == []  # paused for the given time
    assert len(sim.state.sends) == len(events)
    assert await read_all(kafka_bootstrap, f"{topic}.dlq", idle_ms=500) == []
    assert result.counts.by_outcome == {"SENT": 3_000}


@pytest.mark.timeout(120)
async def test_an_unpublished_template_trips_the_mass_dlq_breaker_and_publishing_it_resumes(
    kafka_bootstrap: str, launch: Launch
) -> None:
    unpublished: dict[int, tuple[str, ...]] = {}

    def unpublish(sim: RunningSimulator) -> None:  # the email is not published in this portal
        unpublished[WELCOME_EMAIL_ID] = sim.state.templates.pop(WELCOME_EMAIL_ID)

    s = await launch(prepare=unpublish)
    topic, sim, events, settings, service, run = s.topic, s.sim, s.events, s.settings, s.service, s.run
    welcome = unpublished[WELCOME_EMAIL_ID]

    await wait_for(lambda: "mass_dlq_breaker" in paused(service), 60)
    await asyncio.sleep(3.0)  # paused: nothing more is dead-lettered while it probes
    dead_while_paused = await read_all(kafka_bootstrap, f"{topic}.dlq", idle_ms=500)
    assert len(sim.state.sends) == 0
    sim.state.templates[WELCOME_EMAIL_ID] = welcome  # someone publishes the email in HubSpot
    result = await asyncio.wait_for(run, 90)

    dlq = await read_all(kafka_bootstrap, f"{topic}.dlq", idle_ms=500)
    assert len(dlq) == len(dead_while_paused)  # nothing was dead-lettered after the pause
    assert len(dlq) <= settings.engine.mass_dlq_consecutive  # not a flood: at most one burst's worth
    assert len(sim.state.sends) == len(events) - len(dlq)  # everything else was sent after the fix
    assert result.counts.by_outcome.get("SENT") == len(events) - len(dlq)


async def scrape(port: int) -> str:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as resp:
        return await resp.text()


@pytest.mark.timeout(120)
async def test_a_hubspot_outage_opens_the_transient_breaker_and_dead_letters_nothing(
    kafka_bootstrap: str, launch: Launch
) -> None:
    s = await launch()
    topic, sim, answers, events, service, run = s.topic, s.sim, s.answers, s.events, s.service, s.run

    await wait_for(lambda: len(sim.state.sends) >= 1_000, 60)
    sim.configure(window={"status": 503, "seconds": 8.0})  # HubSpot is down for 8 s
    await wait_for(lambda: "transient_breaker" in paused(service), 10)
    opened = asyncio.get_running_loop().time()
    assert service.http is not None
    metrics = await scrape(service.http.port)
    assert 'ssc_breaker_open{breaker="transient_breaker"} 1.0' in metrics
    assert 'ssc_paused{cause="transient_breaker"} 1.0' in metrics
    result = await asyncio.wait_for(run, 90)

    while_open = answers.between(opened + 0.5, opened + 6.0, "503")  # the breaker holds new sends back
    probes = service.controller.probes if service.controller else 0
    assert len(while_open) <= probes + 1
    assert len(sim.state.sends) == len(events)
    assert await read_all(kafka_bootstrap, f"{topic}.dlq", idle_ms=500) == []  # I6
    assert result.counts.by_outcome == {"SENT": 3_000}


@pytest.mark.timeout(120)
async def test_a_full_partition_window_pauses_that_partition_until_it_drains(launch: Launch) -> None:
    s = await launch(
        events=1_500,
        partitions=1,
        prepare=lambda sim: sim.configure(latency_ms=10),
        max_in_flight=8,
        partition_window=100,
        ordering="unordered",
    )
    sim, events, settings, service, run = s.sim, s.events, s.settings, s.service, s.run
    windows: list[float] = []
    paused_seen = False
    while not run.done():
        worker = service.worker
        if worker is not None:
            windows.append(max((t.window for t in worker._trackers.values()), default=0))
            paused_seen |= bool(worker._window_paused)
        await asyncio.sleep(0.01)
    result = await run

    assert paused_seen  # the window filled and the partition was paused ...
    assert max(windows) <= 100 + settings.kafka.max_poll_records  # ... within one fetch of the bound
    assert len(sim.state.sends) == len(events)  # ... and resumed: everything was sent
    assert result.counts.by_outcome == {"SENT": 1_500}


@pytest.mark.timeout(120)
async def test_a_dev_token_mounted_in_prod_sends_nothing_and_pauses_until_the_prod_token_is_mounted(
    kafka_bootstrap: str, launch: Launch, tmp_path: Path
) -> None:
    prod_portal, dev_portal = 3001, 1001
    token_file = tmp_path / "hubspot-token"
    token_file.write_text(TOKEN)  # the DEV private app's token, in the PROD deployment
    sim = sim_config(
        tokens=(TOKEN, "prod-private-app-token"), portal_id=prod_portal, token_portals=((TOKEN, dev_portal),)
    )
    hubspot = {"portal_id": prod_portal, "auth": {"token_file": token_file}}
    s = await launch(events=200, sim=sim, hubspot=hubspot, probe_interval_s=0.2, max_probe_interval_s=0.5)

    await wait_for(lambda: paused(s.service) == {"wrong_portal"}, 30)
    assert not s.service.health().ready
    await asyncio.sleep(1.0)
    assert s.sim.state.sends == {}  # not a single email
    assert "ACCEPTED" not in s.sim.state.by_outcome
    token_file.write_text("prod-private-app-token")
    result = await asyncio.wait_for(s.run, 60)

    assert len(s.sim.state.sends) == len(s.events)
    assert await read_all(kafka_bootstrap, f"{s.topic}.dlq", idle_ms=500) == []
    assert result.counts.by_outcome == {"SENT": 200}
