"""S3: DLQ exactness — one always-400 event, one 503-once event, the rest sent, offsets committed."""

from __future__ import annotations

import pytest

from tests.conftest import CreateTopic
from tests.fixtures_simulator import StartSim
from tests.integration.harness import (
    committed,
    end_offsets,
    produce,
    read_all,
    run_until_drained,
    settings_for,
    signup,
    sim_config,
)

pytestmark = pytest.mark.kafka


async def test_s3_exactly_the_rejected_event_is_dead_lettered_with_context_headers(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic(partitions=2)
    sim = await start_sim(sim_config())
    events = [signup(i) for i in range(20)]
    events[7] = signup(7, email="reject@example.com", poison=True)
    await produce(kafka_bootstrap, topic, events)
    settings = settings_for(kafka_bootstrap, topic, sim)
    sim.configure(error_rate=0.25, error_statuses=[503])  # a quarter of all attempts fail transiently

    result = await run_until_drained(settings)

    sends = {s["sendId"]: s for s in sim.state.sends_json()}
    assert len(sends) == 19
    assert sim.state.by_status["503"] > 0  # transient failures happened and were retried, not dead-lettered
    dlq = await read_all(kafka_bootstrap, f"{topic}.dlq")
    assert len(dlq) == 1
    h = dlq[0].headers
    assert h["ssc.event.id"] == "evt-000007"
    assert h["ssc.outcome"] == "PERMANENT"
    assert h["__connect.errors.topic"] == topic
    assert "reject@example.com" not in str(h)
    assert result.counts.by_outcome == {"SENT": 19, "PERMANENT": 1}
    assert await committed(kafka_bootstrap, settings.kafka.group_id, topic, 2) == await end_offsets(
        kafka_bootstrap, topic, 2
    )
