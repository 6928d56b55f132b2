"""Engine scenarios (docs/development/testing.md) on the real broker and the simulator (S1, S2, S7, S11, S12).

Each asserts its invariants from the simulator's ledger, the DLQ topic and the committed offsets:
I1 no loss, I2 one email per sendId, I3 one sendId per event, I4 DLQ == poison, I5 commit safety
(committed == end offsets once drained: every record below was done).
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from consumer.route import send_id
from consumer.routing_loader import load_router
from consumer.service import Service
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

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def expected_send_ids(events: list[dict[str, Any]]) -> set[str]:
    return {send_id(e["source"], e["id"], "welcome") for e in events}


async def assert_all_committed(bootstrap: str, group: str, topic: str, partitions: int) -> None:
    assert await committed(bootstrap, group, topic, partitions) == await end_offsets(
        bootstrap, topic, partitions
    )


@pytest.mark.timeout(180)
async def test_s1_twenty_thousand_events_are_each_sent_once_and_committed(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic(partitions=6)
    sim = await start_sim(sim_config())
    events = [signup(i) for i in range(20_000)]
    await produce(kafka_bootstrap, topic, events)
    settings = settings_for(kafka_bootstrap, topic, sim)

    result = await run_until_drained(settings, timeout_s=150)

    ledger = sim.state.sends_json()
    assert {s["sendId"] for s in ledger} == expected_send_ids(events)  # I1 + I3
    assert all(s["attempts"] == 1 for s in ledger)  # I2 (and no redelivery without faults)
    assert sim.state.duplicates_prevented == 0
    assert await read_all(kafka_bootstrap, f"{topic}.dlq", idle_ms=500) == []  # I4
    assert result.counts.by_outcome == {"SENT": 20_000}
    await assert_all_committed(kafka_bootstrap, settings.kafka.group_id, topic, 6)  # I5


@pytest.mark.timeout(180)
async def test_s2_a_member_joining_mid_stream_resends_no_accepted_event(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic(partitions=6)
    sim = await start_sim(sim_config())
    sim.configure(latency_ms=5)  # keep sends in flight while the group rebalances
    events = [signup(i) for i in range(8_000)]
    await produce(kafka_bootstrap, topic, events)
    settings = settings_for(kafka_bootstrap, topic, sim, max_in_flight=32)
    first, second = Service(settings, load_router(settings)), Service(settings, load_router(settings))
    t1 = asyncio.create_task(first.run())
    async with asyncio.timeout(60):
        while len(sim.state.sends) < 1_500:
            await asyncio.sleep(0.05)
    t2 = asyncio.create_task(second.run())
    async with asyncio.timeout(120):
        while len(sim.state.sends) < len(events) or await committed(
            kafka_bootstrap, settings.kafka.group_id, topic, 6
        ) != await end_offsets(kafka_bootstrap, topic, 6):
            await asyncio.sleep(0.25)
    first.stop_event.set()
    second.stop_event.set()
    r1, r2 = await asyncio.gather(t1, t2)

    ledger = sim.state.sends_json()
    assert {s["sendId"] for s in ledger} == expected_send_ids(events)
    assert [s for s in ledger if s["attempts"] != 1] == []  # the new member re-sent nothing accepted
    assert r1.counts.done > 0
    assert r2.counts.done > 0  # the second member really took partitions over
    await assert_all_committed(kafka_bootstrap, settings.kafka.group_id, topic, 6)


@pytest.mark.timeout(120)
async def test_s7_accept_then_hang_is_retried_with_the_same_send_id_and_sends_one_email(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic(partitions=3)
    sim = await start_sim(sim_config())
    sim.configure(hang_rate=0.02, hang_s=1.5)  # the answer comes after the client's 0.5 s read timeout
    events = [signup(i) for i in range(2_000)]
    await produce(kafka_bootstrap, topic, events)
    settings = settings_for(kafka_bootstrap, topic, sim, hubspot={"read_timeout_s": 0.5})

    await run_until_drained(settings)

    ledger = sim.state.sends_json()
    assert sim.state.hangs > 10
    assert {s["sendId"] for s in ledger} == expected_send_ids(events)  # one email per event
    retried = [s for s in ledger if s["attempts"] > 1]
    assert len(retried) >= sim.state.hangs  # every hung send was retried with the same sendId ...
    assert sim.state.duplicates_prevented >= sim.state.hangs  # ... and HubSpot ignored the retry
    assert await read_all(kafka_bootstrap, f"{topic}.dlq", idle_ms=500) == []


@pytest.mark.timeout(120)
async def test_s11_resetting_the_group_to_earliest_sends_no_new_email(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic(partitions=3)
    sim = await start_sim(sim_config())
    events = [signup(i) for i in range(1_500)]
    await produce(kafka_bootstrap, topic, events)
    settings = settings_for(kafka_bootstrap, topic, sim)
    await run_until_drained(settings)
    assert len(sim.state.sends) == 1_500

    reset = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=settings.kafka.group_id, enable_auto_commit=False
    )
    await reset.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(3)]
        reset.assign(tps)  # like `kafka-consumer-groups --reset-offsets --to-earliest`
        await reset.commit(dict.fromkeys(tps, 0))
    finally:
        await reset.stop()
    await run_until_drained(settings)

    assert len(sim.state.sends) == 1_500  # 0 new emails
    assert sim.state.duplicates_prevented == 1_500  # every re-send answered IDEMPOTENT_IGNORE
    await assert_all_committed(kafka_bootstrap, settings.kafka.group_id, topic, 3)


def malicious(i: int) -> bytes:
    """One of many kinds of hostile or broken records (all must be dead-lettered, none may crash)."""
    base = signup(100_000 + i)
    kind = i % 14
    if kind == 0:
        return b"[" * 5_000 + b"]" * 5_000
    if kind == 1:
        return orjson.dumps({**base, "data": {**base["data"], "pad": "x" * 70_000}})
    if kind == 2:
        return b'{"specversion":"1.0","id":"\xff\xfe","source":"s","type":"t"}'
    if kind == 3:
        return orjson.dumps({**base, "id": "evt\r\nX-Injected: yes"})
    if kind == 4:
        return orjson.dumps({**base, "data": {**base["data"], "first_name": "A\x00B"}})
    if kind == 5:
        return orjson.dumps({**base, "data": {**base["data"], **{f"p{j}": j for j in range(10_000)}}})
    if kind == 6:
        return (
            b'{"specversion":"1.0","id":"x","source":"s","type":"'
            + base["type"].encode()
            + b'","data":'
            + b"9" * 5_000
            + b"}"
        )
    if kind == 7:
        return b'"just a string"'
    if kind == 8:
        return orjson.dumps({k: v for k, v in base.items() if k != "source"})
    if kind == 9:
        return orjson.dumps({**base, "data": {**base["data"], "email": "not-an-address"}})
    if kind == 10:
        return orjson.dumps({**base, "type": "com.example.unknown.v9"})
    if kind == 11:
        return b"\x00\x01\x02 binary garbage"
    if kind == 12:
        return orjson.dumps({**base, "specversion": "0.3"})
    return b'{"specversion":"1.0","id":"a","source":"b","type":"c",'  # truncated JSON


@pytest.mark.timeout(180)
async def test_s12_a_thousand_malicious_records_among_ten_thousand_are_exactly_the_dlq(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic(partitions=4)
    sim = await start_sim(sim_config())
    valid = [signup(i) for i in range(10_000)]
    bad = [malicious(i) for i in range(1_000)]
    mixed: list[dict[str, Any] | bytes] = [*valid, *bad]
    random.Random(12).shuffle(mixed)
    await produce(kafka_bootstrap, topic, mixed)
    settings = settings_for(kafka_bootstrap, topic, sim)

    result = await run_until_drained(settings, timeout_s=150)

    assert {s["sendId"] for s in sim.state.sends_json()} == expected_send_ids(valid)
    dlq = await read_all(kafka_bootstrap, f"{topic}.dlq")
    assert sorted(r.value for r in dlq) == sorted(bad)  # exactly the malicious ones, byte for byte
    assert all(r.headers["ssc.outcome"] == "PERMANENT" for r in dlq)
    assert result.counts.by_outcome == {"SENT": 10_000, "PERMANENT": 1_000}
    await assert_all_committed(kafka_bootstrap, settings.kafka.group_id, topic, 4)
