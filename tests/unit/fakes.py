"""Fakes of the engine's seams (``consumer/ports.py``) for broker-free unit tests, and the helpers
that run a worker against them. The Kafka consumer's fake is in ``tests/unit/fake_kafka.py``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from consumer.deadletters.format import FailureContext
from consumer.hubspot.request import SingleSendRequest
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.ports import DeadLetterSink, EmailSender, Holdable, RecordProcessor
from consumer.records import Record
from consumer.worker import Worker
from tests.unit.fake_kafka import FakeConsumer

SENT = Outcome(OutcomeClass.SENT, Reason.SENT, http_status=200)


class GatedPipeline:
    """The worker's record processor: a record finishes with SENT at once unless it is held; a held
    record finishes when its gate is set. A *stubborn* hold outlives one cancellation: the record
    finishes when its gate is set all the same (a send whose answer was already on its way)."""

    def __init__(self) -> None:
        self.started: list[int] = []  # offsets, in the order their runs started
        self._gates: dict[int, asyncio.Event] = {}
        self._stubborn: set[asyncio.Event] = set()

    def hold(self, offset: int, *, stubborn: bool = False) -> asyncio.Event:
        """Hold the next run of ``offset`` until the returned gate is set."""
        gate = self._gates[offset] = asyncio.Event()
        if stubborn:
            self._stubborn.add(gate)
        return gate

    def release(self, *offsets: int) -> None:
        for offset in offsets:
            self._gates.pop(offset).set()

    async def process(self, record: Record) -> Outcome:
        self.started.append(record.offset)
        gate = self._gates.get(record.offset)
        if gate is not None:
            try:
                await gate.wait()
            except asyncio.CancelledError:
                if gate not in self._stubborn:
                    raise
                await gate.wait()
        return SENT


class ScriptedSender:
    """Answers the sends with ``script`` in turn (the last answer repeats) and records each request's
    ``sendId`` and whether it was a probe."""

    def __init__(self, *script: Outcome) -> None:
        self._script = list(script)
        self.calls: list[tuple[str | None, bool]] = []

    async def send(self, request: SingleSendRequest, *, probe: bool = False) -> Outcome:
        self.calls.append((request.send_id, probe))
        return self._script.pop(0) if len(self._script) > 1 else self._script[0]


class RecordingSink:
    """A dead-letter sink that acknowledges every write at once and keeps what was written."""

    def __init__(self) -> None:
        self.written: list[tuple[Record, Outcome, FailureContext]] = []

    async def write(self, record: Record, outcome: Outcome, ctx: FailureContext) -> None:
        self.written.append((record, outcome, ctx))


class FakeGate:
    """The rate limiter's gate: the causes currently held."""

    def __init__(self) -> None:
        self.held: set[str] = set()

    def hold(self, cause: str) -> None:
        self.held.add(cause)

    def release(self, cause: str) -> None:
        self.held.discard(cause)


async def wait_for(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def running(worker: Worker, consumer: FakeConsumer, *, assign: bool = True) -> AsyncIterator[None]:
    """``worker`` running (assigned ``consumer``'s partitions first unless ``assign`` is False); on
    leaving the block it is stopped and its drain has ended."""
    stop = asyncio.Event()
    if assign:
        await worker.on_partitions_assigned(consumer.assignment())
    run = asyncio.create_task(worker.run(stop))
    try:
        yield
    finally:
        stop.set()
        async with asyncio.timeout(5):
            await run


# Each fake satisfies its port (.ci/run type-checks this module).
_processor: type[RecordProcessor] = GatedPipeline
_sender: type[EmailSender] = ScriptedSender
_sink: type[DeadLetterSink] = RecordingSink
_gate: type[Holdable] = FakeGate
