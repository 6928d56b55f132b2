"""The local Apache Kafka broker works the way the service relies on it."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.conftest import CreateTopic

pytestmark = pytest.mark.kafka


async def _consume(consumer: AIOKafkaConsumer, count: int, timeout_s: float = 30.0) -> list[object]:
    got: list[object] = []
    async with asyncio.timeout(timeout_s):
        while len(got) < count:
            batch = await consumer.getmany(timeout_ms=500, max_records=count - len(got))
            for records in batch.values():
                got.extend(records)
    return got


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
async def test_records_round_trip_with_key_and_headers_under_each_codec(
    kafka_bootstrap: str, create_topic: CreateTopic, codec: str
) -> None:
    topic = await create_topic(partitions=1)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, compression_type=codec, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for i in range(50):
            await producer.send(
                topic,
                value=b"x" * 200 + str(i).encode(),
                key=f"k{i}".encode(),
                headers=[("ce_id", f"id-{i}".encode()), ("traceparent", b"00-abc-def-01")],
            )
        await producer.flush()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        records = await _consume(consumer, 50)
    finally:
        await consumer.stop()
    assert [r.key for r in records] == [f"k{i}".encode() for i in range(50)]  # type: ignore[attr-defined]
    assert [r.value[200:] for r in records] == [str(i).encode() for i in range(50)]  # type: ignore[attr-defined]
    assert records[7].headers == (("ce_id", b"id-7"), ("traceparent", b"00-abc-def-01"))  # type: ignore[attr-defined]


async def test_a_restarted_group_member_resumes_exactly_after_the_committed_offset(
    kafka_bootstrap: str, create_topic: CreateTopic, topic_name: str
) -> None:
    topic = await create_topic(partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(20):
            await producer.send(topic, value=str(i).encode())
        await producer.flush()
    finally:
        await producer.stop()

    group = f"g.{topic_name}"
    tp = TopicPartition(topic, 0)

    def member() -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka_bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )

    first = member()
    await first.start()
    try:
        records = await _consume(first, 20)
        await first.commit({tp: records[11].offset + 1})  # type: ignore[attr-defined]
    finally:
        await first.stop()

    second = member()
    await second.start()
    try:
        assert await second.committed(tp) == 12
        resumed = await _consume(second, 8)
    finally:
        await second.stop()
    assert [r.value for r in resumed] == [str(i).encode() for i in range(12, 20)]  # type: ignore[attr-defined]
