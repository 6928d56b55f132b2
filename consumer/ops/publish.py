"""``consumer publish``: events -> a topic through the idempotent, ``acks="all"`` producer.

Every event is prepared and validated first (:mod:`consumer.ops.events`); one invalid event stops the
run before anything is sent (:class:`InvalidEvents`) unless invalid events are explicitly allowed
(for testing the DLQ). Records are sent in chunks and each chunk's acknowledgements are awaited, so
memory stays bounded and the summary only counts records the broker confirmed.

From Python (the demo)::

    summary = await publish_events(settings.kafka, "events", events, mode="binary")
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from consumer.errors import ConsumerError
from consumer.logs import get_logger
from consumer.ops import connect
from consumer.ops.events import InvalidEvents, Mode, Options, Outgoing, SourceEvent, prepare, read_events
from consumer.ops.render import Output
from consumer.settings import DecodeSettings, KafkaSettings

log = get_logger("consumer.ops.publish")

CHUNK = 500
Progress = Callable[[int], None]


class RecordProducer(Protocol):
    """The part of ``AIOKafkaProducer`` publishing needs: ``send`` returns a delivery future."""

    async def send(
        self, topic: str, *, value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> Awaitable[Any]: ...

    async def partitions_for(self, topic: str) -> set[int]: ...


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


def prepare_all(
    items: Iterable[SourceEvent], options: Options, *, allow_invalid: bool, now: datetime
) -> list[Outgoing]:
    """Prepare every event; :class:`InvalidEvents` (listing all problems) unless ``allow_invalid``."""
    records = [prepare(item, options, now=now) for item in items]
    problems = [r.problem for r in records if r.problem is not None]
    if problems and not allow_invalid:
        raise InvalidEvents(problems)
    if not records:
        raise ConsumerError("the input holds no events", reason="bad_input")
    return records


async def send_records(
    producer: RecordProducer,
    topic: str,
    records: Sequence[Outgoing],
    *,
    mode: str,
    progress: Progress | None = None,
    timeout_s: float = 30.0,
) -> PublishSummary:
    """Send ``records`` in order and wait for every acknowledgement (chunks of :data:`CHUNK`)."""
    started = time.monotonic()
    await connect.require_topic(producer, topic, timeout_s)
    partitions: Counter[int] = Counter()
    size = 0
    for begin in range(0, len(records), CHUNK):
        chunk = records[begin : begin + CHUNK]
        futures = [
            await producer.send(topic, value=r.value, key=r.key, headers=list(r.headers)) for r in chunk
        ]
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


async def publish_events(
    target: KafkaSettings | RecordProducer,
    topic: str,
    events: Iterable[Mapping[str, Any]],
    *,
    mode: Mode = "structured",
    key_field: str | None = None,
    fill_id: bool = False,
    fill_time: bool = False,
    allow_invalid: bool = False,
    decode_settings: DecodeSettings | None = None,
    progress: Progress | None = None,
    timeout_s: float = 30.0,
) -> PublishSummary:
    """Validate and publish ``events`` (CloudEvents as dicts) to ``topic``.

    ``target`` is either Kafka settings (a producer is started and stopped here) or a started
    producer. Raises :class:`InvalidEvents` before sending anything when an event is invalid (unless
    ``allow_invalid``), :class:`KafkaUnavailable` when the broker cannot be reached.
    """
    now = datetime.now(UTC)
    items = [SourceEvent(n, dict(ev), orjson.dumps(ev)) for n, ev in enumerate(events, start=1)]
    options = Options(mode, key_field, fill_id, fill_time, decode_settings or DecodeSettings())
    records = prepare_all(items, options, allow_invalid=allow_invalid, now=now)
    if isinstance(target, KafkaSettings):
        return await publish_records(
            target, topic, records, mode=mode, progress=progress, timeout_s=timeout_s
        )
    return await send_records(target, topic, records, mode=mode, progress=progress, timeout_s=timeout_s)


def prepare_input(
    data: bytes, options: Options, *, allow_invalid: bool = False, expand_time: bool = True
) -> list[Outgoing]:
    """The command's first half: parse ``data`` (JSON / NDJSON), prepare and validate every event."""
    now = datetime.now(UTC)
    items = read_events(data, now=now, expand_time=expand_time)
    return prepare_all(items, options, allow_invalid=allow_invalid, now=now)


async def publish_records(
    kafka: KafkaSettings,
    topic: str,
    records: Sequence[Outgoing],
    *,
    mode: str,
    progress: Progress | None = None,
    timeout_s: float = 30.0,
) -> PublishSummary:
    """The command's second half: start a producer, send, wait for every acknowledgement, stop."""
    bootstrap = kafka.bootstrap_servers
    async with connect.started(connect.producer(kafka), bootstrap, timeout_s) as producer:
        with connect.kafka_errors(bootstrap, f"publishing to {topic}"):
            return await send_records(
                producer, topic, records, mode=mode, progress=progress, timeout_s=timeout_s
            )


def render_summary(out: Output, summary: PublishSummary) -> None:
    if not out.human:
        out.json(summary.to_json())
        return
    parts = ", ".join(f"{p}: {n}" for p, n in sorted(summary.partitions.items()))
    out.pairs(
        [("partitions", parts), ("bytes", summary.bytes), ("invalid", summary.invalid),
         ("seconds", f"{summary.seconds:.2f}")],
        title=f"published {summary.published} events to {summary.topic} ({summary.mode} mode)",
    )  # fmt: skip
    if summary.invalid:
        out.note(f"note: {summary.invalid} of them are invalid: the consumer will dead-letter them")
