"""Reading a dead-letter topic back, without joining a consumer group: which topic, what it holds.

:func:`collect` reads to the end offsets seen at start and keeps the selected records (``dlq inspect``,
``dlq replay``, the console); :func:`find` fetches the one record at a DLQ position (``--show``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from consumer.deadletters.format import DeadLetter
from consumer.deadletters.selection import Selection, Tally, parse_position
from consumer.errors import ConsumerError
from consumer.ops import connect
from consumer.ops.bounded_read import read_topic
from consumer.settings import KafkaSettings, Settings


def dlq_topic(settings: Settings, topic: str | None) -> str:
    """``--topic``, else the DLQ of the one configured source topic (``<source>.dlq``)."""
    if topic:
        return topic
    if settings.dlq.topic:
        return settings.dlq.topic
    sources = settings.kafka.topics
    if settings.kafka.topic_pattern or not sources:
        raise ConsumerError(
            "no single source topic is configured: choose the DLQ with --topic", reason="usage"
        )
    if len(sources) != 1:
        candidates = ", ".join(settings.dlq.topic_for(t) for t in sources)
        raise ConsumerError(
            f"several source topics: choose the DLQ with --topic ({candidates})", reason="usage"
        )
    return settings.dlq.topic_for(sources[0])


@dataclass(slots=True)
class Collected:
    """The selected records (up to the limit) and the counts over everything read."""

    topic: str
    letters: list[DeadLetter] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    truncated: bool = False


async def collect(
    kafka: KafkaSettings,
    topic: str,
    selection: Selection,
    *,
    limit: int | None = None,
    keep: bool = True,
    on_letter: Callable[[DeadLetter], None] | None = None,
    timeout_s: float = 10.0,
) -> Collected:
    """Read ``topic`` to its end offsets, keeping the first ``limit`` selected records (all counted)."""
    result = Collected(topic)
    bounds: dict[int, tuple[int, int | None]] = {}
    for r in selection.positions:
        first, last = bounds.get(r.partition, (r.first, r.last))
        wider = None if last is None or r.last is None else max(last, r.last)
        bounds[r.partition] = (min(first, r.first), wider)
    bootstrap = kafka.bootstrap_servers
    async with connect.started(connect.reader(kafka), bootstrap, timeout_s) as consumer:
        with connect.kafka_errors(bootstrap, f"reading {topic}"):
            records = read_topic(
                consumer,
                topic,
                partitions=selection.partitions(),
                since=selection.since,
                bounds=bounds,
                stall_timeout_s=timeout_s,
            )
            async with contextlib.aclosing(records):
                async for record in records:
                    letter = DeadLetter.from_record(record)
                    chosen = selection.matches(letter)
                    result.tally.add(letter, selected=chosen)
                    if not chosen:
                        continue
                    if limit is not None and result.tally.selected > limit:
                        result.truncated = True  # still counted in the summary, not kept
                        continue
                    if on_letter is not None:
                        on_letter(letter)
                    if keep:
                        result.letters.append(letter)
    return result


async def find(kafka: KafkaSettings, topic: str, position: str, *, timeout_s: float = 10.0) -> DeadLetter:
    """The record at ``PARTITION:OFFSET`` of ``topic`` (``--show``); ``ConsumerError`` when absent."""
    where = parse_position(position)
    if where.last != where.first:
        raise ConsumerError(
            f"--show: one record, PARTITION:OFFSET like 0:15, not {position!r}", reason="usage"
        )
    found = await collect(kafka, topic, Selection(positions=(where,)), limit=1, timeout_s=timeout_s)
    if not found.letters:
        raise ConsumerError(f"{topic} has no record at {position}", reason="not_found")
    return found.letters[0]
