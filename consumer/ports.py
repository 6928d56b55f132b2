"""The engine's seams: every interface it calls but does not implement, each a narrow Protocol.

The production adapter satisfies each port structurally; the unit tests hand the engine small fakes
that satisfy it too (``tests/unit/fakes.py``, ``tests/unit/fake_kafka.py``), so the worker's and the
pipeline's logic runs without a broker or HubSpot.

- :class:`KafkaConsumer` (with :class:`OffsetCoordinator`): what the worker uses of aiokafka's
  ``AIOKafkaConsumer``.
- :class:`RecordProcessor`: what the worker runs per record (the pipeline).
- :class:`EmailSender`: what the pipeline sends through (the HubSpot client).
- :class:`DeadLetterSink`: where the pipeline dead-letters (the dead-letter writer).
- :class:`DeadLetterTarget` and :class:`Blocker`: the dead-letter writer's Kafka edge (the
  dead-letter producer) and pause hook (the pause controller).
- :class:`Holdable`: the pause controller's gate (the rate limiter).
- :class:`AuthProvider`: the HubSpot client's credential (the auth providers).
- :class:`RecordProducer`: the Kafka edge of ``consumer publish`` (aiokafka's ``AIOKafkaProducer``).

This module holds no logic and imports nothing of the project at run time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from aiokafka import ConsumerRecord
    from aiokafka import TopicPartition as KafkaTP
    from aiokafka.structs import OffsetAndMetadata

    from consumer.deadletters.format import FailureContext, Headers
    from consumer.hubspot.request import SingleSendRequest
    from consumer.outcome import Outcome, Reason
    from consumer.records import Record

# ---------------------------------------------------------------------------------------- Kafka


class OffsetCoordinator(Protocol):
    """The group coordinator's read of committed offsets: position *and* metadata (the consumer's
    public ``committed()`` returns the position alone)."""

    async def fetch_committed_offsets(
        self, partitions: Iterable[KafkaTP]
    ) -> Mapping[KafkaTP, OffsetAndMetadata]: ...


class KafkaConsumer(Protocol):
    """What :class:`consumer.worker.Worker` uses of a group member's consumer (``AIOKafkaConsumer``).

    ``commit`` is only ever called with explicit ``{tp: (position, metadata)}``."""

    @property
    def _coordinator(self) -> OffsetCoordinator:
        """aiokafka's own attribute: the committed metadata is read through it."""
        ...

    def assignment(self) -> set[KafkaTP]: ...

    async def getmany(
        self, *, timeout_ms: int
    ) -> Mapping[KafkaTP, Sequence[ConsumerRecord[bytes, bytes]]]: ...

    def pause(self, *partitions: KafkaTP) -> None: ...

    def resume(self, *partitions: KafkaTP) -> None: ...

    def highwater(self, partition: KafkaTP) -> int | None: ...

    async def commit(self, offsets: dict[KafkaTP, tuple[int, str]]) -> None: ...


class RecordProducer(Protocol):
    """The part of ``AIOKafkaProducer`` publishing needs: ``send`` returns a delivery future."""

    async def send(
        self, topic: str, *, value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> Awaitable[Any]: ...

    async def partitions_for(self, topic: str) -> set[int]: ...


# ---------------------------------------------------------------------------------------- engine


class RecordProcessor(Protocol):
    """Runs one record until it is done and returns its final outcome; only ``CancelledError``
    escapes (the record is then not done)."""

    async def process(self, record: Record) -> Outcome: ...


class EmailSender(Protocol):
    """Sends one Single Send request and returns the final outcome (retries, and honouring a
    request's Retry-After in all its later attempts, are the sender's job)."""

    async def send(self, request: SingleSendRequest, *, probe: bool = False) -> Outcome: ...


class DeadLetterSink(Protocol):
    async def write(self, record: Record, outcome: Outcome, ctx: FailureContext) -> None: ...


class DeadLetterTarget(Protocol):
    """The Kafka edge of dead-lettering (the dead-letter producer).

    ``limit`` and ``send`` raise :class:`~consumer.errors.DeadLetterUnwritable` when no retry can
    succeed and any other exception when a retry may."""

    async def limit(self, topic: str) -> int: ...
    def size(self, key: bytes | None, value: bytes | None, headers: Headers) -> int: ...
    async def send(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers) -> None: ...
    def forget(self, topic: str) -> None:
        """Read the topic's limit (and existence) from the broker again on the next write."""


class Blocker(Protocol):
    """The pause controller's ``block``: hold the pipeline for ``cause`` until ``probe`` is healthy."""

    async def block(
        self, cause: Reason, outcome: Outcome, probe: Callable[[], Awaitable[Outcome]]
    ) -> Outcome | None: ...


class Holdable(Protocol):
    """The rate limiter's gate: while any cause holds, no new send attempt starts (probes excepted)."""

    def hold(self, cause: Reason) -> None: ...
    def release(self, cause: Reason) -> None: ...


# ---------------------------------------------------------------------------------------- HubSpot


class AuthProvider(Protocol):
    """Adds the credential to a request; :meth:`refresh` is called once after a 401."""

    async def apply(self, headers: dict[str, str], params: dict[str, str]) -> None: ...

    async def refresh(self) -> bool:
        """Re-read the secret / refresh the token; True when the credential changed."""
        ...
