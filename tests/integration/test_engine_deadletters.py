"""Dead letters the broker would refuse as they are: cut to the DLQ topic's limit, or a pause.

Against the real broker: a record compressed on the wire (so the source topic accepted it) whose dead
letter would exceed the producer's request limit, a DLQ topic with a small ``max.message.bytes``, and
one too small for even the headers (the pipeline pauses as ``dlq_unwritable`` until it is raised).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from consumer.kafka import PRODUCER_MAX_REQUEST_SIZE
from consumer.routing_loader import load_router
from consumer.service import Service
from tests.conftest import CreateTopic
from tests.fixtures_simulator import StartSim
from tests.integration.harness import committed, end_offsets, read_all, settings_for, signup, sim_config

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

CE = [("content-type", b"application/cloudevents+json")]


@pytest.fixture
async def admin(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


async def publish(
    bootstrap: str, topic: str, records: list[tuple[bytes, bytes]], *, zstd: bool = False
) -> None:
    compression = "zstd" if zstd else None
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", compression_type=compression, max_request_size=5_000_000
    )
    await producer.start()
    try:
        for key, value in records:  # one at a time: their order in the partition is the test's
            await producer.send_and_wait(topic, value=value, key=key, headers=CE)
    finally:
        await producer.stop()


def big_signup() -> bytes:
    """The reproduction: about 1 MiB of JSON, tiny once zstd-compressed."""
    data = {"user_id": "u1", "email": "a@mail.example.com", "pad": "x" * (1024 * 1024)}
    event = {"specversion": "1.0", "id": "big-1", "source": "/identity/signup", "data": data}
    return orjson.dumps({**event, "type": "com.example.user.signed_up.v1"})


def on_wire(key: bytes | None, value: bytes, headers: dict[str, str]) -> int:
    pairs = [(k, v.encode()) for k, v in headers.items()]
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, pairs))


@pytest.mark.timeout(120)
async def test_a_compressed_record_too_large_to_dead_letter_whole_is_cut_and_its_partition_moves_on(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic(partitions=1)
    sim = await start_sim(sim_config())
    big = big_signup()
    after = orjson.dumps(signup(1))
    await publish(kafka_bootstrap, topic, [(b"k", big), (b"k", after)], zstd=True)  # same key: waits behind
    settings = settings_for(kafka_bootstrap, topic, sim)

    result = await asyncio.wait_for(Service(settings, load_router(settings)).run(until_drained=True), 90)

    [letter] = await read_all(kafka_bootstrap, f"{topic}.dlq")
    h = letter.headers
    assert h["ssc.reason"] == "oversize"
    assert h["ssc.original.truncated"] == "true"
    assert h["ssc.original.size"] == str(len(big))
    assert h["ssc.original.sha256"] == hashlib.sha256(big).hexdigest()
    assert (h["__connect.errors.topic"], h["__connect.errors.offset"]) == (topic, "0")  # the original
    assert big.startswith(letter.value)
    assert len(letter.value) > 1_000_000  # as much as fits, not nothing
    assert on_wire(letter.key, letter.value, h) <= PRODUCER_MAX_REQUEST_SIZE
    assert len(sim.state.sends) == 1  # the record behind it on the same key was sent
    assert result.counts.by_outcome == {"PERMANENT": 1, "SENT": 1}
    assert await committed(kafka_bootstrap, settings.kafka.group_id, topic, 1) == {0: 2}


@pytest.mark.timeout(120)
async def test_the_dlq_topics_own_max_message_bytes_is_read_from_the_broker(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim, admin: AIOKafkaAdminClient
) -> None:
    topic = await create_topic(partitions=1)
    await admin.create_topics([NewTopic(f"{topic}.dlq", 1, 1, topic_configs={"max.message.bytes": "4096"})])
    sim = await start_sim(sim_config())
    poison = b'{"specversion":"1.0","id":"p-1","source":' + b" " * 20_000  # bad JSON, 20 kB
    await publish(kafka_bootstrap, topic, [(b"k", poison)])
    settings = settings_for(kafka_bootstrap, topic, sim)

    await asyncio.wait_for(Service(settings, load_router(settings)).run(until_drained=True), 90)

    [letter] = await read_all(kafka_bootstrap, f"{topic}.dlq")
    assert letter.headers["ssc.reason"] == "invalid_json"
    assert letter.headers["ssc.original.truncated"] == "true"
    assert poison.startswith(letter.value)
    assert 0 < on_wire(letter.key, letter.value, letter.headers) <= 4096


@pytest.mark.timeout(180)
async def test_a_dead_letter_the_topic_cannot_hold_pauses_the_pipeline_until_the_topic_is_fixed(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim, admin: AIOKafkaAdminClient
) -> None:
    topic = await create_topic(partitions=1)
    dlq = f"{topic}.dlq"
    await admin.create_topics([NewTopic(dlq, 1, 1, topic_configs={"max.message.bytes": "200"})])
    sim = await start_sim(sim_config())
    await publish(
        kafka_bootstrap,
        topic,
        [(b"k", b"not json at all")] + [(b"v", orjson.dumps(signup(i))) for i in range(20)],
    )
    settings = settings_for(kafka_bootstrap, topic, sim)
    service = Service(settings, load_router(settings))
    run = asyncio.create_task(service.run(until_drained=True))
    try:
        async with asyncio.timeout(60):
            while not (service.controller and "dlq_unwritable" in service.controller.causes):
                await asyncio.sleep(0.05)
        assert service.http is not None
        base = f"http://127.0.0.1:{service.http.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/readyz") as resp:
                assert resp.status == 503
                assert (await resp.json())["paused"] == ["dlq_unwritable"]
            async with http.get(f"{base}/metrics") as resp:
                metrics = await resp.text()
        assert 'ssc_paused{cause="dlq_unwritable"} 1.0' in metrics
        assert 'ssc_dlq_unwritable_total{error="too_large"}' in metrics
        await asyncio.sleep(2.0)
        assert await committed(kafka_bootstrap, settings.kafka.group_id, topic, 1) in ({0: None}, {0: 0})

        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, dlq, configs={"max.message.bytes": "1048588"})]
        )
        result = await asyncio.wait_for(run, 60)  # resumed by a probe write, then drained
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)

    [letter] = await read_all(kafka_bootstrap, dlq)
    assert letter.value == b"not json at all"
    assert letter.headers["ssc.original.truncated"] == "false"
    assert result.counts.by_outcome == {"PERMANENT": 1, "SENT": 20}
    assert await committed(kafka_bootstrap, settings.kafka.group_id, topic, 1) == await end_offsets(
        kafka_bootstrap, topic, 1
    )


@pytest.mark.timeout(120)
async def test_a_dlq_topic_the_broker_refuses_by_name_pauses_instead_of_retrying_in_silence(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic(partitions=1)
    sim = await start_sim(sim_config())
    await publish(kafka_bootstrap, topic, [(b"k", b"not json at all"), (b"v", orjson.dumps(signup(1)))])
    settings = settings_for(kafka_bootstrap, topic, sim, drain_deadline_s=2.0)
    settings = settings.model_copy(update={"dlq": settings.dlq.model_copy(update={"topic": "dead letters!"})})
    service = Service(settings, load_router(settings))
    run = asyncio.create_task(service.run())
    try:
        async with asyncio.timeout(60):
            while not (service.controller and "dlq_unwritable" in service.controller.causes):
                await asyncio.sleep(0.05)
        health = service.health()
        assert (health.ready, health.detail["paused"]) == (False, ["dlq_unwritable"])
        assert "invalid_record" in service.controller.causes["dlq_unwritable"].detail
        stop_asked = asyncio.get_running_loop().time()
        service.stop_event.set()
        await asyncio.wait_for(run, 30)
        # paused: the drain waits its deadline (a probe could still resume), then cancels the held record
        assert asyncio.get_running_loop().time() - stop_asked < 2.0 + 8
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
    assert await committed(kafka_bootstrap, settings.kafka.group_id, topic, 1) in ({0: None}, {0: 0})
