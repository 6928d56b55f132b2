"""Partitions changing hands. On revoke, records in flight get ``revoke_wait_s`` to finish, the done
position is committed, queued records are dropped, and what finishes later is fenced off: it neither
counts nor disturbs the partition's next assignment. On assignment, records fetched before the
listener has read the committed metadata are held, not dropped, then sent unless an earlier owner
finished them. The worker runs against fakes at the Kafka seam (the consumer and its group
coordinator) and the record seam (the pipeline)."""

from __future__ import annotations

import asyncio

from aiokafka.structs import OffsetAndMetadata

from consumer.offset_metadata import DoneOffsets, encode
from consumer.settings import EngineSettings
from consumer.worker import Worker
from tests.unit.fake_kafka import POLL_S, TP, CommittedOffsets, FakeConsumer
from tests.unit.fakes import GatedPipeline, running, wait_for

SAME_KEY = b"user-1"  # records of one key run one at a time, in offset order


async def test_a_revoke_waits_for_records_in_flight_commits_them_and_drops_the_queued_ones() -> None:
    consumer = FakeConsumer()
    consumer.feed(0, 1, key=SAME_KEY)
    pipeline = GatedPipeline()
    pipeline.hold(0)
    worker = Worker(consumer, pipeline, EngineSettings(revoke_wait_s=5.0))
    async with running(worker, consumer):
        await wait_for(lambda: pipeline.started == [0])
        revoking = asyncio.create_task(worker.on_partitions_revoked({TP}))
        await asyncio.sleep(POLL_S * 4)
        assert not revoking.done()  # waiting for 0
        pipeline.release(0)
        async with asyncio.timeout(5):
            await revoking
        consumer.assigned.clear()
        assert consumer.positions == [{TP: 1}]
        assert worker.assigned == []
    assert pipeline.started == [0]  # 1 is the next owner's
    assert consumer.positions == [{TP: 1}]


async def test_a_record_finishing_after_its_partition_was_revoked_does_not_touch_the_next_assignment() -> (
    None
):
    consumer = FakeConsumer()
    consumer.feed(0, 1, key=SAME_KEY)
    pipeline = GatedPipeline()
    late = pipeline.hold(0, stubborn=True)
    worker = Worker(consumer, pipeline, EngineSettings(revoke_wait_s=0.01, commit_every=1))
    async with running(worker, consumer):
        await wait_for(lambda: pipeline.started == [0])
        await worker.on_partitions_revoked({TP})  # 0 is still in flight: cancelled, but it carries on
        # The partition comes back to this member, which fetches again from the committed position.
        pipeline.hold(0)
        await worker.on_partitions_assigned({TP})
        consumer.feed(0, 1, key=SAME_KEY)
        await wait_for(lambda: pipeline.started == [0, 0])
        late.set()  # the revoked run of 0 finishes now
        await asyncio.sleep(POLL_S * 6)
        assert worker.counts.done == 0
        assert pipeline.started == [0, 0]  # 1 still waits for the new run of 0, the head of its key
        assert all(p == {TP: 0} for p in consumer.positions)
        pipeline.release(0)
        await wait_for(lambda: consumer.positions[-1] == {TP: 2})
    assert pipeline.started == [0, 0, 1]
    assert worker.counts.done == 2


async def test_records_fetched_before_the_assignment_listener_finished_are_held_then_sent() -> None:
    # aiokafka may hand out a new partition's records before it has awaited on_partitions_assigned;
    # the group coordinator answers slowly; the previous owner finished offset 1.
    metadata = encode(TP.topic, TP.partition, 0, DoneOffsets(((1, 2),)))
    coordinator = CommittedOffsets({TP: OffsetAndMetadata(0, metadata)})
    coordinator.answer.clear()
    consumer = FakeConsumer(coordinator=coordinator)
    consumer.feed(0, 1, 2)
    pipeline = GatedPipeline()
    worker = Worker(consumer, pipeline, EngineSettings(commit_every=1))
    async with running(worker, consumer, assign=False):
        await wait_for(lambda: worker.counts.fetched == 3)
        assigning = asyncio.create_task(worker.on_partitions_assigned(consumer.assignment()))
        consumer.feed(3)
        await wait_for(lambda: worker.counts.fetched == 4)
        await asyncio.sleep(POLL_S * 4)
        assert pipeline.started == []  # held until the committed metadata is read
        coordinator.answer.set()
        async with asyncio.timeout(5):
            await assigning
        await wait_for(lambda: consumer.positions[-1:] == [{TP: 4}])
    assert pipeline.started == [0, 2, 3]  # nothing dropped; 1 is not sent again
    assert worker.counts.skipped == 1


async def test_the_assignment_hook_runs_at_once_with_the_new_assignment_in_place() -> None:
    # the limiter's part follows the group's partitions through this hook: it must not wait for the
    # group coordinator (slow here) to tell the committed metadata
    coordinator = CommittedOffsets({})
    coordinator.answer.clear()
    consumer = FakeConsumer(coordinator=coordinator)
    seen: list[set[object]] = []
    worker = Worker(
        consumer,
        GatedPipeline(),
        EngineSettings(),
        on_assigned=lambda: seen.append(set(consumer.assignment())),
    )
    assigning = asyncio.create_task(worker.on_partitions_assigned(consumer.assignment()))
    await asyncio.sleep(POLL_S)
    assert seen == [{TP}]
    assert not assigning.done()  # still reading the committed metadata
    coordinator.answer.set()
    async with asyncio.timeout(5):
        await assigning
    assert seen == [{TP}]  # once per assignment
