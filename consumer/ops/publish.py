"""Publishing: validated CloudEvents -> a topic, through the producer the DLQ writer uses.

There is one way to publish, whoever publishes: :func:`consumer.ops.publish_input.prepare_records`
encodes every event in the chosen binding mode and runs it through the consumer's own decoding and
validation, one invalid event stopping the batch before anything is sent
(:class:`~consumer.ops.publish_input.InvalidEvents`); then :func:`publish` sends the records through
an idempotent, ``acks="all"``, compressed producer (:func:`consumer.kafka.build_producer`), awaiting
every acknowledgement, in chunks so memory stays bounded and the summary only counts records the
broker confirmed.

A service publishes events built by :mod:`schemas.envelope`::

    async with Publisher(KafkaSettings(bootstrap_servers="kafka:9092")) as publisher:
        await publisher.publish("events", build(UserSignedUpV1(...), source="/identity/signup"))

``consumer publish`` and the demo prepare JSON / NDJSON text instead and call the same :func:`publish`.
A failed publish raises (:class:`KafkaUnavailable`, or :class:`ConsumerError` for a missing topic);
publishing the same facts again is safe because their ids are derived from the facts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiokafka import AIOKafkaProducer

from consumer.errors import ConsumerError
from consumer.logs import get_logger
from consumer.ops import connect
from consumer.ops.output import Output
from consumer.ops.publish_input import Mode, Options, Outgoing, prepare_records
from consumer.ports import RecordProducer
from consumer.settings import DecodeSettings, KafkaSettings
from schemas.envelope import Envelope

log = get_logger("consumer.ops.publish")

CHUNK = 500
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class PublishSummary:
    """What the broker acknowledged."""

    topic: str
    mode: str
    published: int
    invalid: int  # of ``published``: events the consumer will dead-letter (--allow-invalid)
    partitions: Mapping[int, int] = field(default_factory=dict)  # partition -> records
    bytes: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "mode": self.mode,
            "published": self.published,
            "invalid_published": self.invalid,
            "partitions": {str(p): n for p, n in sorted(self.partitions.items())},
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
        }


async def publish(
    target: KafkaSettings | RecordProducer,
    topic: str,
    records: Sequence[Outgoing],
    *,
    mode: Mode,
    progress: Progress | None = None,
    timeout_s: float = 30.0,
) -> PublishSummary:
    """Send prepared ``records`` to ``topic`` in order and wait for every acknowledgement.

    ``target`` is a started producer, or Kafka settings: then a producer is started and stopped here,
    and broker failures leave as :class:`KafkaUnavailable` with a one-line message.
    """
    if isinstance(target, KafkaSettings):
        bootstrap = target.bootstrap_servers
        async with connect.started(connect.producer(target), bootstrap, timeout_s) as producer:
            with connect.kafka_errors(bootstrap, f"publishing to {topic}"):
                return await publish(
                    producer, topic, records, mode=mode, progress=progress, timeout_s=timeout_s
                )
    started = time.monotonic()
    await connect.require_topic(target, topic, timeout_s)
    partitions: Counter[int] = Counter()
    size = 0
    for begin in range(0, len(records), CHUNK):
        chunk = records[begin : begin + CHUNK]
        futures = [await target.send(topic, value=r.value, key=r.key, headers=list(r.headers)) for r in chunk]
        for metadata in await asyncio.gather(*futures):
            partitions[int(metadata.partition)] += 1
        size += sum(r.size for r in chunk)
        if progress is not None:
            progress(len(chunk))
    summary = PublishSummary(
        topic=topic,
        mode=mode,
        published=sum(partitions.values()),
        invalid=sum(1 for r in records if r.problem is not None),
        partitions=dict(partitions),
        bytes=size,
        seconds=time.monotonic() - started,
    )
    log.info("publish.done", **summary.to_json())
    return summary


class Publisher:
    """Publishes built events for a service: one started producer (idempotent, ``acks="all"``,
    compressed), every event validated as the consumer will validate it before anything is sent.

    ``publish`` raises :class:`InvalidEvents` (nothing sent), :class:`KafkaUnavailable` (the broker
    failed or did not acknowledge: publishing the same facts again is safe) or :class:`ConsumerError`
    (the topic does not exist).
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        *,
        mode: Mode = "structured",
        decode_settings: DecodeSettings | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self._kafka = kafka
        self._options = Options(mode=mode, decode=decode_settings or DecodeSettings())
        self._timeout_s = timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Self:
        bootstrap = self._kafka.bootstrap_servers
        self._producer = await self._stack.enter_async_context(
            connect.started(connect.producer(self._kafka), bootstrap, self._timeout_s)
        )
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._producer = None
        await self._stack.aclose()

    async def publish(self, topic: str, *events: Envelope) -> PublishSummary:
        """Validate ``events``, send them in order, and return once the broker acknowledged them all."""
        if self._producer is None:
            raise ConsumerError("Publisher.publish outside 'async with Publisher(...)'", reason="usage")
        records = prepare_records(events, self._options)
        with connect.kafka_errors(self._kafka.bootstrap_servers, f"publishing to {topic}"):
            return await publish(
                self._producer, topic, records, mode=self._options.mode, timeout_s=self._timeout_s
            )


def render_summary(out: Output, summary: PublishSummary) -> None:
    if not out.human:
        out.json(summary.to_json())
        return
    parts = ", ".join(f"{p}: {n}" for p, n in sorted(summary.partitions.items()))
    out.pairs(
        [
            ("partitions", parts),
            ("bytes", summary.bytes),
            ("invalid", summary.invalid),
            ("seconds", f"{summary.seconds:.2f}"),
        ],
        title=f"published {summary.published} events to {summary.topic} ({summary.mode} mode)",
    )
    if summary.invalid:
        out.note(f"note: {summary.invalid} of them are invalid: the consumer will dead-letter them")
