"""S10: SIGTERM mid-stream drains, commits and exits 0; the restarted member re-sends nothing (I11)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import pytest

from tests.conftest import CreateTopic
from tests.fixtures_simulator import StartSim
from tests.integration.harness import ROUTING, TOKEN, committed, end_offsets, produce, signup, sim_config

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def consumer_env(bootstrap: str, topic: str, group: str, sim_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSC_")}
    env.update(
        SSC_ROUTING_FILE=str(ROUTING),
        SSC_KAFKA__BOOTSTRAP_SERVERS=bootstrap,
        SSC_KAFKA__TOPICS=f'["{topic}"]',
        SSC_KAFKA__GROUP_ID=group,
        SSC_HUBSPOT__BASE_URL=sim_url,
        SSC_HUBSPOT__AUTH__TOKEN=TOKEN,
        SSC_HUBSPOT__RATE_LIMIT__REQUESTS_PER_INTERVAL="100000",
        SSC_OBSERVABILITY__PORT="0",
        SSC_OBSERVABILITY__HOST="127.0.0.1",
        SSC_ENGINE__COMMIT_INTERVAL_MS="200",
    )
    return env


async def start_consumer(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "consumer",
        "run",
        *args,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.timeout(150)
async def test_s10_sigterm_drains_and_a_restart_resends_nothing(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic(partitions=3)
    sim = await start_sim(sim_config())
    sim.configure(latency_ms=5)
    # Every 4th event belongs to one busy user: in key order that user's records are sent one after the
    # other and fall behind the rest, so when SIGTERM comes, records wait below records already sent.
    # The drain must finish those (not only what is in flight), or the restart re-sends the ones above.
    events = [{**signup(i), "subject": "busy-user" if i % 4 == 0 else f"user-{i}"} for i in range(6_000)]
    await produce(kafka_bootstrap, topic, events)
    group = f"g.{topic}"
    env = consumer_env(kafka_bootstrap, topic, group, sim.url)

    first = await start_consumer(env)
    async with asyncio.timeout(60):
        while len(sim.state.sends) < 1_500:
            await asyncio.sleep(0.05)
    asked = time.monotonic()
    first.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(first.communicate(), 30)
    stop_s = time.monotonic() - asked
    assert first.returncode == 0, stderr.decode()[-2000:]
    assert stop_s <= 25
    assert b"service.stopped" in stderr
    sent_before_restart = len(sim.state.sends)
    assert sent_before_restart < len(events)  # it really stopped mid-stream

    second = await start_consumer(env, "--until-drained")
    _, stderr = await asyncio.wait_for(second.communicate(), 90)
    assert second.returncode == 0, stderr.decode()[-2000:]

    ledger = sim.state.sends_json()
    assert len(ledger) == len(events)
    assert [s for s in ledger if s["attempts"] != 1] == []  # I11: nothing was attempted twice
    assert sim.state.requests == len(events)
    assert await committed(kafka_bootstrap, group, topic, 3) == await end_offsets(kafka_bootstrap, topic, 3)
