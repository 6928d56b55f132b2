"""A running scenario for the console: the real broker, the simulator, a consumer service and the
console itself, each on a loopback port; and Debian's Chromium driven by Playwright.

The scenario: five sign-ups, two of which the welcome template rejects (it requires ``lastname``) and
are dead-lettered; one of those carries hostile text and a recipient address that must never show.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from consumer.console.app import ConsoleConfig, create_app
from consumer.console.guard import Credentials, Guard
from consumer.routing_loader import load_router
from consumer.service import Service
from hubspot_simulator import RunningSimulator
from tests.conftest import CreateTopic
from tests.fixtures_simulator import StartSim
from tests.integration.harness import produce, read_all, settings_for, signup, sim_config

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / ".artifacts")) / "console"
HOSTILE = "<script>alert('dlq')</script><img src=x onerror=alert(1)>"
VICTIM = "victim.person@example.com"


async def wait_for(predicate: Callable[[], Awaitable[bool] | bool], timeout: float) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            result = predicate()
            if await result if isinstance(result, Awaitable) else result:
                return
            await asyncio.sleep(0.1)


@dataclass
class Scenario:
    topic: str
    dlq: str
    sim: RunningSimulator
    service: Service
    events: list[dict[str, Any]]
    poison: list[dict[str, Any]]


@pytest.fixture
async def scenario(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> AsyncIterator[Scenario]:
    topic = await create_topic(partitions=1)
    dlq = await create_topic(name=f"{topic}.dlq", partitions=1)
    sim = await start_sim(sim_config())
    good = [signup(i) for i in range(3)]
    poison = [signup(10, poison=True), signup(11, email=VICTIM, poison=True)]
    # In an extension attribute: no schema marks it, so the console shows it (as text); a marked field
    # such as first_name would be masked before it reached the page.
    poison[1]["campaign"] = HOSTILE
    events = [*good, *poison]
    await produce(kafka_bootstrap, topic, events)
    settings = settings_for(kafka_bootstrap, topic, sim)
    service = Service(settings, load_router(settings))
    run = asyncio.create_task(service.run(), name="test.console.service")
    try:
        await wait_for(lambda: len(sim.state.sends) == len(good), 60)
        await wait_for(_count(kafka_bootstrap, dlq, len(poison)), 60)
        await wait_for(lambda: service.worker is not None and not service.worker.in_flight, 30)
        yield Scenario(topic, dlq, sim, service, events, poison)
    finally:
        service.stop_event.set()
        await asyncio.wait_for(run, 60)


def _count(bootstrap: str, topic: str, n: int) -> Callable[[], Awaitable[bool]]:
    async def enough() -> bool:
        return len(await read_all(bootstrap, topic, idle_ms=300)) >= n

    return enough


@dataclass
class RunningConsole:
    url: str
    guard: Guard


StartConsole = Callable[..., Awaitable[RunningConsole]]


@pytest.fixture
async def start_console() -> AsyncIterator[StartConsole]:
    runners: list[web.AppRunner] = []

    async def start(
        scenario: Scenario, *, allow_replay: bool = True, credentials: Credentials | None = None
    ) -> RunningConsole:
        assert scenario.service.http is not None
        config = ConsoleConfig(
            settings=scenario.service.settings,
            replicas=(f"http://127.0.0.1:{scenario.service.http.port}",),
            dlq_topics=(scenario.dlq,),
            router=scenario.service.router,
            allow_replay=allow_replay,
            scrape_interval_s=0.5,
            refresh_s=None,  # no reload while a test reads the page
        )
        guard = Guard(credentials)
        runner = web.AppRunner(create_app(config, guard), access_log=None, handle_signals=False)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return RunningConsole(f"http://127.0.0.1:{port}", guard)

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; missing, it fails with the command that installs it (never a skip)."""
    found = CHROMIUM if CHROMIUM.exists() else Path(shutil.which("chromium") or CHROMIUM)
    if not found.exists():
        pytest.fail(f"{CHROMIUM} is missing: run deploy/tools/install.sh (it installs Debian's chromium)")
    return found
