"""A record whose processing crashes (a bug, not bad input) runs again later, within the bounds.

The worker runs against a fake aiokafka consumer (the seam) that hands out one batch; the pipeline is
a fake that crashes on its first run of one record and holds another in flight.
"""

from __future__ import annotations

import asyncio

import pytest

from consumer import worker as worker_module
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.records import Record
from consumer.settings import EngineSettings
from consumer.worker import Worker
from tests.unit.fake_kafka import FakeConsumer


class CrashOnceThenHold:
    """Offset 0 crashes on its first run; offset 1 stays in flight until ``release`` is set."""

    def __init__(self) -> None:
        self.running = 0
        self.most_running = 0
        self.runs: list[tuple[int, str]] = []  # (offset, task name)
        self.release = asyncio.Event()
        self.retried = asyncio.Event()

    async def process(self, record: Record) -> Outcome:
        task = asyncio.current_task()
        assert task is not None
        self.runs.append((record.offset, task.get_name()))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            if record.offset == 0 and len([r for r in self.runs if r[0] == 0]) == 1:
                raise RuntimeError("a bug")
            if record.offset == 0:
                self.retried.set()
            if record.offset == 1:
                await self.release.wait()
            return Outcome(OutcomeClass.SENT, Reason.SENT)
        finally:
            self.running -= 1


async def test_a_crashed_record_runs_again_only_in_a_free_slot_and_under_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker_module, "CRASH_RETRY_S", 0.3)  # longer than one fetch poll
    pipeline = CrashOnceThenHold()
    consumer = FakeConsumer()
    consumer.feed(0, 1)
    worker = Worker(consumer, pipeline, EngineSettings(max_in_flight=1))
    stop = asyncio.Event()
    await worker.on_partitions_assigned(consumer.assignment())
    run = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(10):
            while not any(offset == 1 for offset, _ in pipeline.runs):
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.8)  # well past the crash retry delay, while offset 1 holds the slot
            assert pipeline.most_running == 1, "the retry must wait for a free concurrency slot"
            assert not pipeline.retried.is_set()
            pipeline.release.set()
            await pipeline.retried.wait()
    finally:
        stop.set()
        counts = await asyncio.wait_for(run, 10)
    assert pipeline.most_running == 1
    assert [name for offset, name in pipeline.runs if offset == 0] == [
        "record orders-0@0",
        "record orders-0@0",
    ]
    assert counts.done == 2
