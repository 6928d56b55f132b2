"""A partition's uncommitted window is bounded: the partition is paused when ``partition_window``
records are fetched and not committable, and resumed once the window has drained to half; the
committed position only ever moves over contiguous done offsets. The worker runs against fakes at
the Kafka seam (the consumer) and the record seam (the pipeline)."""

from __future__ import annotations

import asyncio
from typing import Any

from consumer.offset_metadata import decode
from consumer.settings import EngineSettings
from consumer.worker import Worker
from tests.unit.fake_kafka import POLL_S, TP, FakeConsumer
from tests.unit.fakes import GatedPipeline, running, wait_for

FETCHES = POLL_S * 6  # long enough for a few fetches


def held_in_flight(records: int, **engine: Any) -> tuple[FakeConsumer, GatedPipeline, Worker]:
    """A worker whose consumer delivers offsets ``0 .. records - 1``, each held in flight."""
    consumer = FakeConsumer()
    consumer.feed(*range(records))
    pipeline = GatedPipeline()
    for offset in range(records):
        pipeline.hold(offset)
    return consumer, pipeline, Worker(consumer, pipeline, EngineSettings(drain_deadline_s=0.05, **engine))


async def test_a_partition_with_a_full_window_is_not_fetched_until_half_of_it_is_committable() -> None:
    consumer, pipeline, worker = held_in_flight(6, partition_window=4)
    async with running(worker, consumer):
        await wait_for(lambda: TP in consumer.paused)  # 6 fetched, none done: 6 >= 4
        consumer.feed(6)
        pipeline.release(0, 1, 2)
        await wait_for(lambda: worker.counts.done == 3)
        await asyncio.sleep(FETCHES)
        assert TP in consumer.paused  # 3 uncommitted: above half the window
        assert worker.counts.fetched == 6
        pipeline.release(3)
        await wait_for(lambda: TP not in consumer.paused)  # 2 uncommitted: half the window
        await wait_for(lambda: pipeline.started[-1] == 6)


async def test_resuming_the_pipeline_leaves_a_partition_with_a_full_window_paused() -> None:
    consumer, pipeline, worker = held_in_flight(4, partition_window=4)
    async with running(worker, consumer):
        await wait_for(lambda: TP in consumer.paused)
        worker.set_paused(True)  # the pause controller holds the pipeline ...
        worker.set_paused(False)  # ... and resumes it
        assert TP in consumer.paused
        pipeline.release(0, 1)
        await wait_for(lambda: TP not in consumer.paused)


async def test_the_committed_position_moves_only_over_contiguous_done_offsets() -> None:
    consumer, pipeline, worker = held_in_flight(5, commit_every=1)
    pipeline.release(1, 2, 4)
    async with running(worker, consumer):
        await wait_for(lambda: worker.counts.done == 3 and bool(consumer.commits))
        await asyncio.sleep(FETCHES)
        [(position, metadata)] = consumer.commits[-1].values()
        assert position == 0  # 1, 2 and 4 are done; 0 is not
        assert decode(TP.topic, TP.partition, 0, metadata).done.ranges == ((1, 3), (4, 5))
        pipeline.release(0)
        await wait_for(lambda: consumer.positions[-1] == {TP: 3})
        pipeline.release(3)
        await wait_for(lambda: consumer.positions[-1] == {TP: 5})
    assert sorted({p[TP] for p in consumer.positions}) == [0, 3, 5]
