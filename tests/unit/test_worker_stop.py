"""A graceful stop drains in-flight records up to the deadline — also while the pipeline is paused —
and commits past everything that finished. Fakes stand in at the Kafka seam (the consumer) and the
HubSpot seam (the pipeline); the worker's stop path itself is real."""

from __future__ import annotations

import asyncio

from consumer.offset_metadata import decode
from consumer.settings import EngineSettings
from consumer.worker import Worker
from tests.unit.fake_kafka import TP, FakeConsumer
from tests.unit.fakes import GatedPipeline, running, wait_for


async def stop_while_paused(deadline_s: float, *, resumes_after_stop: bool) -> FakeConsumer:
    """Records 0-2 in flight; 1 and 2 finish, 0 waits on a probe; the pipeline is paused; then the stop."""
    stop = asyncio.Event()
    consumer = FakeConsumer()
    consumer.feed(0, 1, 2)
    pipeline = GatedPipeline()
    pipeline.hold(0)  # a send waiting for the pause controller's probe to succeed
    worker = Worker(consumer, pipeline, EngineSettings(drain_deadline_s=deadline_s))

    def probe_succeeds() -> None:
        if stop.is_set():  # the worker paused its partitions to drain
            worker.set_paused(False)
            pipeline.release(0)

    if resumes_after_stop:
        consumer.on_pause = probe_succeeds
    await worker.on_partitions_assigned(consumer.assignment())
    run = asyncio.create_task(worker.run(stop))
    await wait_for(lambda: worker.counts.done == 2)
    worker.set_paused(True)
    stop.set()
    async with asyncio.timeout(5):
        await run
    return consumer


async def test_a_stop_while_paused_drains_records_that_resume_within_the_deadline() -> None:
    consumer = await stop_while_paused(5.0, resumes_after_stop=True)
    assert consumer.positions[-1] == {TP: 3}  # 0 finished during the drain: nothing is sent again


async def test_a_stop_while_paused_cancels_what_is_still_held_at_the_deadline() -> None:
    consumer = await stop_while_paused(0.05, resumes_after_stop=False)
    assert consumer.positions[-1] == {TP: 0}  # never past the unfinished record


async def test_a_stop_lets_records_in_flight_finish_starts_nothing_new_and_commits_them() -> None:
    consumer = FakeConsumer()
    consumer.feed(0, 1, 2, 3)
    pipeline = GatedPipeline()
    pipeline.hold(0)
    pipeline.hold(1)
    worker = Worker(consumer, pipeline, EngineSettings(max_in_flight=2, drain_deadline_s=5.0))
    async with running(worker, consumer):
        await wait_for(lambda: pipeline.started == [0, 1])
        consumer.on_pause = lambda: pipeline.release(0, 1)  # they finish while the worker drains
    assert pipeline.started == [0, 1]  # 2 and 3 were queued: the next run starts them
    assert worker.counts.cancelled == 0
    assert consumer.positions[-1] == {TP: 2}


async def test_a_stop_cancels_what_is_unfinished_at_the_deadline_and_commits_below_it() -> None:
    consumer = FakeConsumer()
    consumer.feed(0, 1, 2)
    pipeline = GatedPipeline()
    pipeline.hold(0)
    worker = Worker(consumer, pipeline, EngineSettings(drain_deadline_s=0.05))
    async with running(worker, consumer):
        await wait_for(lambda: worker.counts.done == 2)
    assert worker.counts.cancelled == 1
    [(position, metadata)] = consumer.commits[-1].values()
    assert position == 0  # never past the unfinished record
    assert decode(TP.topic, TP.partition, 0, metadata).done.ranges == ((1, 3),)  # 1 and 2 are not sent again
