"""Static membership against the real broker: a member that is not coming back leaves its group.

aiokafka sends no LeaveGroup for a static member (``group_instance_id``), so the broker keeps its
partitions assigned to it until the session timeout. The service removes it itself after a run that
finished (``--until-drained``) and on every stop with ``leave_group_on_stop``; ``consumer group
leave`` does the same for stopped pods.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from consumer.kafka import build_consumer
from consumer.membership import leave_after_stop
from consumer.settings import KafkaSettings
from tests.conftest import CreateTopic
from tests.fixtures_simulator import StartSim
from tests.integration.harness import produce, run_until_drained, settings_for, signup, sim_config
from tests.integration.test_ops_support import run_process

pytestmark = pytest.mark.kafka


async def members(bootstrap: str, group: str) -> int:
    """How many members the broker holds for ``group``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    (described,) = response.groups
    fields: list[Any] = list(described)
    return len(fields[5])


async def stopped_static_member(bootstrap: str, create_topic: CreateTopic) -> KafkaSettings:
    """A static member ``pod-0`` that joined a group, got its partitions and stopped."""
    topic = await create_topic(partitions=2)
    settings = KafkaSettings(
        bootstrap_servers=bootstrap,
        topics=(topic,),
        group_id=f"g.{topic}",
        group_instance_id="pod-0",
        session_timeout_ms=30_000,
        heartbeat_interval_ms=1_000,
    )
    consumer = build_consumer(settings)
    consumer.subscribe([topic])
    await consumer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
    finally:
        await consumer.stop()
    return settings


async def test_a_stopped_static_member_keeps_its_place_unless_it_leaves(
    kafka_bootstrap: str, create_topic: CreateTopic
) -> None:
    kept = await stopped_static_member(kafka_bootstrap, create_topic)
    await leave_after_stop(kept, finished=False)  # a restart: it may come back under its id
    assert await members(kafka_bootstrap, kept.group_id) == 1

    leaving = kept.model_copy(update={"leave_group_on_stop": True})
    await leave_after_stop(leaving, finished=False)
    assert await members(kafka_bootstrap, kept.group_id) == 0


async def test_a_static_member_whose_run_finished_leaves_the_group(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic(partitions=2)
    await produce(kafka_bootstrap, topic, [signup(i) for i in range(10)])
    sim = await start_sim(sim_config())
    base = settings_for(kafka_bootstrap, topic, sim)
    settings = base.model_copy(
        update={"kafka": base.kafka.model_copy(update={"group_instance_id": "batch-0"})}
    )

    await run_until_drained(settings, timeout_s=60)

    assert len(sim.state.sends) == 10
    assert await members(kafka_bootstrap, settings.kafka.group_id) == 0


async def test_group_leave_removes_a_stopped_static_member(
    kafka_bootstrap: str, create_topic: CreateTopic
) -> None:
    settings = await stopped_static_member(kafka_bootstrap, create_topic)
    env = {"SSC_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap, "SSC_KAFKA__GROUP_ID": settings.group_id}

    first = await run_process("group", "leave", "pod-0", env=env)
    again = await run_process("group", "leave", "pod-0", env=env)

    assert first == (0, f"pod-0: removed from group {settings.group_id}\n", "")
    assert again == (0, f"pod-0: not a member of group {settings.group_id}\n", "")
    assert await members(kafka_bootstrap, settings.group_id) == 0
