"""Under a backlog the worker refills its concurrency slots in groups (``start_batch``); a record that
has room never waits.

The worker runs against a fake aiokafka consumer (the seam); the pipeline is a fake that holds every
record in flight until the test releases it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.records import Record
from consumer.settings import EngineSettings
from consumer.worker import Worker
from tests.unit.fake_kafka import FakeConsumer


class Held:
    """Every record stays in flight until :meth:`release` lets it finish."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self._gates: dict[int, asyncio.Event] = {}

    async def process(self, record: Record) -> Outcome:
        self.started.append(record.offset)
        await self._gates.setdefault(record.offset, asyncio.Event()).wait()
        return Outcome(OutcomeClass.SENT, Reason.SENT)

    def release(self, offset: int) -> None:
        self._gates.setdefault(offset, asyncio.Event()).set()


async def settle() -> None:
    """Long enough for finished records to free their slots and for several fetch polls."""
    await asyncio.sleep(0.1)


@asynccontextmanager
async def running(consumer: FakeConsumer, pipeline: Held, settings: EngineSettings) -> AsyncIterator[Worker]:
    worker = Worker(consumer, pipeline, settings)
    await worker.on_partitions_assigned(consumer.assignment())
    stop = asyncio.Event()
    run = asyncio.create_task(worker.run(stop))
    try:
        yield worker
    finally:
        for offset in range(100):
            pipeline.release(offset)
        stop.set()
        await asyncio.wait_for(run, 10)


async def test_under_a_backlog_the_free_slots_refill_only_once_a_group_of_them_is_free() -> None:
    pipeline, consumer = Held(), FakeConsumer()
    consumer.feed(*range(10))
    async with running(consumer, pipeline, EngineSettings(max_in_flight=4, start_batch=2)) as worker:
        await settle()
        assert pipeline.started == [0, 1, 2, 3]
        pipeline.release(0)
        await settle()
        assert pipeline.started == [0, 1, 2, 3], "one free slot of a group of two waits"
        assert worker.in_flight == 3
        pipeline.release(1)
        await settle()
        assert pipeline.started == [0, 1, 2, 3, 4, 5]
        assert worker.in_flight == 4


async def test_ready_records_that_all_fit_start_at_once() -> None:
    pipeline, consumer = Held(), FakeConsumer()
    consumer.feed(*range(5))
    async with running(consumer, pipeline, EngineSettings(max_in_flight=4, start_batch=4)):
        await settle()
        assert pipeline.started == [0, 1, 2, 3]
        pipeline.release(0)
        await settle()
        assert pipeline.started == [0, 1, 2, 3, 4], "the last ready record has a slot: it starts"


async def test_a_start_batch_of_one_refills_each_slot_as_it_frees() -> None:
    pipeline, consumer = Held(), FakeConsumer()
    consumer.feed(*range(10))
    async with running(consumer, pipeline, EngineSettings(max_in_flight=4, start_batch=1)):
        await settle()
        pipeline.release(0)
        await settle()
        assert pipeline.started == [0, 1, 2, 3, 4]


async def test_the_group_divides_the_slots_so_none_is_left_waiting() -> None:
    pipeline, consumer = Held(), FakeConsumer()
    consumer.feed(*range(10))
    # 3 slots, a batch of 2: groups of one (the largest divisor of 3 up to 2)
    async with running(consumer, pipeline, EngineSettings(max_in_flight=3, start_batch=2)):
        await settle()
        pipeline.release(0)
        await settle()
        assert pipeline.started == [0, 1, 2, 3]
