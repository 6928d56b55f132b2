"""A fake Kafka consumer at the worker's seam (:class:`consumer.ports.KafkaConsumer`), shared by the
broker-free worker tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiokafka import ConsumerRecord
from aiokafka import TopicPartition as KafkaTP
from aiokafka.errors import OffsetMetadataTooLargeError
from aiokafka.structs import OffsetAndMetadata

from consumer.ports import KafkaConsumer, OffsetCoordinator

TP = KafkaTP("orders", 0)
POLL_S = 0.005  # how long a fetch waits: short, so tests run fast, but a real await


class NoCommittedOffsets:
    """The group coordinator of a group that has committed nothing: what the worker reads, on
    assignment, for the done offsets an earlier owner left in its commit metadata."""

    async def fetch_committed_offsets(self, tps: Iterable[Any]) -> dict[Any, Any]:
        return {}


class CommittedOffsets:
    """A group coordinator holding ``committed``; it answers once ``answer`` is set (clear it to
    make the coordinator slow)."""

    def __init__(self, committed: Mapping[KafkaTP, OffsetAndMetadata]) -> None:
        self.committed = dict(committed)
        self.answer = asyncio.Event()
        self.answer.set()

    async def fetch_committed_offsets(self, tps: Iterable[KafkaTP]) -> dict[KafkaTP, OffsetAndMetadata]:
        await self.answer.wait()
        return {tp: self.committed[tp] for tp in tps if tp in self.committed}


def message(offset: int, tp: KafkaTP = TP, key: bytes | None = None) -> ConsumerRecord[bytes, bytes]:
    """A record at ``offset``; its key is unique to it unless given (records of one key are ordered)."""
    key = key if key is not None else f"key-{offset}".encode()
    return ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, key, b"{}", None, len(key), 2, [])


class FakeConsumer:
    """A group member's consumer assigned ``assigned``. :meth:`feed` queues records as the broker
    would deliver them; ``getmany`` hands out what is queued for assigned partitions that are not
    paused (a paused partition is not fetched). Pauses, resumes and commits are recorded; a commit
    whose metadata is longer than ``max_metadata`` is refused like a broker's
    ``offset.metadata.max.bytes``. ``on_pause`` runs on the next loop turn after each pause."""

    def __init__(
        self,
        *assigned: KafkaTP,
        coordinator: OffsetCoordinator | None = None,
        max_metadata: int = 4096,
    ) -> None:
        self.assigned = set(assigned or (TP,))
        self.paused: set[KafkaTP] = set()
        self.commits: list[dict[KafkaTP, tuple[int, str]]] = []
        self.high: dict[KafkaTP, int] = {}
        self.max_metadata = max_metadata
        self.on_pause: Callable[[], None] | None = None
        self._coordinator = coordinator or NoCommittedOffsets()
        self._queued: dict[KafkaTP, list[ConsumerRecord[bytes, bytes]]] = {}

    def feed(self, *offsets: int, tp: KafkaTP = TP, key: bytes | None = None) -> None:
        self._queued.setdefault(tp, []).extend(message(o, tp, key) for o in offsets)

    def assignment(self) -> set[KafkaTP]:
        return set(self.assigned)

    async def getmany(self, timeout_ms: int = 0) -> dict[KafkaTP, list[ConsumerRecord[bytes, bytes]]]:
        await asyncio.sleep(POLL_S)
        ready = [tp for tp, q in self._queued.items() if q and tp in self.assigned and tp not in self.paused]
        return {tp: self._queued.pop(tp) for tp in ready}

    def pause(self, *tps: KafkaTP) -> None:
        self.paused.update(tps)
        if self.on_pause is not None:
            asyncio.get_running_loop().call_soon(self.on_pause)

    def resume(self, *tps: KafkaTP) -> None:
        self.paused.difference_update(tps)

    def highwater(self, tp: KafkaTP) -> int | None:
        return self.high.get(tp)

    async def commit(self, offsets: dict[KafkaTP, tuple[int, str]]) -> None:
        if any(len(meta) > self.max_metadata for _, meta in offsets.values()):
            raise OffsetMetadataTooLargeError()
        self.commits.append(dict(offsets))

    @property
    def positions(self) -> list[dict[KafkaTP, int]]:
        """Each commit as ``{tp: position}``."""
        return [positions(c) for c in self.commits]


def positions(offsets: dict[Any, Any]) -> dict[Any, int]:
    """A commit's ``{tp: (position, metadata)}`` as ``{tp: position}``."""
    return {tp: value[0] if isinstance(value, tuple) else value for tp, value in offsets.items()}


_consumer: type[KafkaConsumer] = FakeConsumer  # the fake satisfies the port (.ci/run type-checks it)
