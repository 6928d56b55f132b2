"""Records that arrive before the assignment listener has run are kept, not dropped (found by the
failover chaos run: aiokafka can hand out a new partition's records before it awaits
``on_partitions_assigned``; dropping them moved the position past records nobody sent)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from consumer.worker import Worker
from tests.conftest import CreateTopic
from tests.fixtures_simulator import StartSim
from tests.integration.harness import (
    committed,
    end_offsets,
    produce,
    run_until_drained,
    settings_for,
    signup,
    sim_config,
)

pytestmark = pytest.mark.kafka


@pytest.mark.timeout(120)
async def test_records_fetched_before_the_assignment_listener_finishes_are_all_sent(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = await create_topic(partitions=6)
    events = [signup(i) for i in range(3_000)]
    await produce(kafka_bootstrap, topic, events)
    original = Worker._committed

    async def slow_committed(self: Worker, ktp: Any) -> int | None:  # a slow coordinator
        await asyncio.sleep(0.3)
        return await original(self, ktp)

    monkeypatch.setattr(Worker, "_committed", slow_committed)
    sim = await start_sim(sim_config())
    settings = settings_for(kafka_bootstrap, topic, sim)

    await run_until_drained(settings, timeout_s=60)

    assert len(sim.state.sends) == len(events)  # nothing skipped
    assert await committed(kafka_bootstrap, settings.kafka.group_id, topic, 6) == await end_offsets(
        kafka_bootstrap, topic, 6
    )
