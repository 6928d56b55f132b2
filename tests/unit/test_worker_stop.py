"""A graceful stop drains in-flight records up to the deadline — also while the pipeline is paused —
and commits past everything that finished. Fakes stand in at the Kafka seam (the consumer) and the
HubSpot seam (the pipeline); the worker's stop path itself is real."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka.structs import ConsumerRecord
from aiokafka.structs import TopicPartition as KafkaTP

from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.records import Record
from consumer.settings import EngineSettings
from consumer.worker import Worker
from tests.unit.fake_kafka import NoCommittedOffsets, positions

TP = KafkaTP("orders", 0)
SENT = Outcome(OutcomeClass.SENT, Reason.SENT, http_status=200)


def message(offset: int) -> ConsumerRecord[bytes, bytes]:
    key = f"key-{offset}".encode()
    return ConsumerRecord(TP.topic, TP.partition, offset, 0, 0, key, b"{}", None, len(key), 2, [])


class FakeConsumer:
    """Hands out one batch of partition 0, then nothing; records commits. ``on_stop_pause`` runs (on
    the next loop turn) when the worker pauses its partitions after the stop was requested."""

    def __init__(self, offsets: list[int], stop: asyncio.Event) -> None:
        self._batches = [{TP: [message(o) for o in offsets]}]
        self._stop = stop
        self.commits: list[dict[KafkaTP, int]] = []
        self.on_stop_pause: Callable[[], None] = lambda: None

    def assignment(self) -> set[KafkaTP]:
        return {TP}

    async def getmany(self, timeout_ms: int = 0) -> dict[KafkaTP, list[ConsumerRecord[bytes, bytes]]]:
        await asyncio.sleep(0.005)
        return self._batches.pop(0) if self._batches else {}

    def pause(self, *tps: KafkaTP) -> None:
        if self._stop.is_set():
            asyncio.get_running_loop().call_soon(self.on_stop_pause)

    def resume(self, *tps: KafkaTP) -> None:
        pass

    def highwater(self, tp: KafkaTP) -> int | None:
        return None

    _coordinator = NoCommittedOffsets()

    async def commit(self, offsets: dict[KafkaTP, tuple[int, str]]) -> None:
        self.commits.append(positions(offsets))


class HeldPipeline:
    """Every record is sent at once except ``held``, whose send completes when ``healthy`` is set
    (a send waiting for the pause controller's probe to succeed)."""

    def __init__(self, held: int) -> None:
        self.held = held
        self.healthy = asyncio.Event()

    async def process(self, record: Record) -> Outcome:
        if record.offset == self.held:
            await self.healthy.wait()
        return SENT


async def wait_for(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.005)


async def stop_while_paused(deadline_s: float, *, resumes_after_stop: bool) -> FakeConsumer:
    """Records 0-2 in flight; 1 and 2 finish, 0 waits on a probe; the pipeline is paused; then the stop."""
    stop = asyncio.Event()
    consumer = FakeConsumer([0, 1, 2], stop)
    pipeline = HeldPipeline(held=0)
    worker = Worker(consumer, pipeline, EngineSettings(drain_deadline_s=deadline_s))  # type: ignore[arg-type]

    def probe_succeeds() -> None:
        worker.set_paused(False)
        pipeline.healthy.set()

    if resumes_after_stop:
        consumer.on_stop_pause = probe_succeeds
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
    assert consumer.commits[-1] == {TP: 3}  # 0 finished during the drain: nothing is sent again


async def test_a_stop_while_paused_cancels_what_is_still_held_at_the_deadline() -> None:
    consumer = await stop_while_paused(0.05, resumes_after_stop=False)
    assert consumer.commits[-1] == {TP: 0}  # never past the unfinished record
