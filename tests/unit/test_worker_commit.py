"""What the worker commits: the position with the done offsets above it in the metadata, within the
budget; positions alone when the broker refuses the metadata as too large."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition as KafkaTP

from consumer.offset_metadata import decode
from consumer.offsets import PartitionTracker
from consumer.records import TopicPartition
from consumer.settings import EngineSettings
from consumer.worker import Worker
from tests.unit.fake_kafka import FakeConsumer
from tests.unit.fakes import GatedPipeline

TP = TopicPartition("events", 0)


def worker_with(consumer: FakeConsumer, **engine: Any) -> Worker:
    return Worker(consumer, GatedPipeline(), EngineSettings(**engine))


def tracker_with_alternating_done(n: int) -> PartitionTracker:
    t = PartitionTracker(generation=1)
    for off in range(n):
        t.track(off)
    for off in range(1, n, 2):
        t.done(off)
    return t


async def test_a_commit_carries_the_done_offsets_above_the_position() -> None:
    consumer = FakeConsumer()
    t = tracker_with_alternating_done(10)
    await worker_with(consumer)._commit({TP: t})
    [(position, metadata)] = consumer.commits[0].values()
    assert position == 0
    assert decode(TP.topic, TP.partition, 0, metadata).done.ranges == (
        (1, 2),
        (3, 4),
        (5, 6),
        (7, 8),
        (9, 10),
    )


async def test_a_position_that_did_not_move_is_committed_again_when_more_is_done_above_it() -> None:
    consumer = FakeConsumer()
    worker = worker_with(consumer)
    t = PartitionTracker(generation=1)
    for off in range(3):
        t.track(off)
    t.done(1)
    await worker._commit({TP: t})
    await worker._commit({TP: t})  # nothing changed: nothing to commit
    t.done(2)
    await worker._commit({TP: t})
    assert [c[KafkaTP(TP.topic, TP.partition)][0] for c in consumer.commits] == [0, 0]
    assert (
        decode(TP.topic, TP.partition, 0, consumer.commits[-1][KafkaTP(TP.topic, TP.partition)][1]).done.count
        == 2
    )


async def test_metadata_stays_within_the_configured_budget() -> None:
    consumer = FakeConsumer()
    await worker_with(consumer, commit_metadata_max_bytes=100)._commit(
        {TP: tracker_with_alternating_done(2_000)}
    )
    [(_, metadata)] = consumer.commits[0].values()
    assert 0 < len(metadata) <= 100


async def test_a_broker_refusing_the_metadata_as_too_large_still_gets_the_positions() -> None:
    consumer = FakeConsumer(max_metadata=50)  # the broker's offset.metadata.max.bytes is below the budget
    worker = worker_with(consumer)
    t = tracker_with_alternating_done(2_000)
    await worker._commit({TP: t})
    assert list(consumer.commits[0].values()) == [(0, "")]
    assert worker.counts.commit_failures == 0
    t.done(0)
    await worker._commit({TP: t})  # later commits no longer try
    assert list(consumer.commits[1].values()) == [(2, "")]


async def test_a_budget_of_zero_commits_no_metadata() -> None:
    consumer = FakeConsumer()
    await worker_with(consumer, commit_metadata_max_bytes=0)._commit({TP: tracker_with_alternating_done(10)})
    assert list(consumer.commits[0].values()) == [(0, "")]
