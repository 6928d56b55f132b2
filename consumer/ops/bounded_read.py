"""A bounded read of one topic by a group-less consumer: from the beginning (or a time) to the end.

The end offsets are captured when reading starts, so the read terminates even while new records keep
arriving; records at or after them are left for the next run. The consumer is assigned partitions
(never subscribed) and has no group id: nothing is committed, no group is joined. Records leave as
:class:`~consumer.records.Record` values.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Collection, Mapping
from datetime import datetime
from typing import Any

from aiokafka import TopicPartition as KafkaTP

from consumer.errors import ConsumerError, KafkaUnavailable
from consumer.kafka import to_record
from consumer.ops.connect import topic_partitions
from consumer.records import Record

POLL_MS = 500
Offsets = dict[Any, int]  # aiokafka TopicPartition -> offset


async def read_topic(
    consumer: Any,
    topic: str,
    *,
    partitions: Collection[int] | None = None,
    since: datetime | None = None,
    bounds: Mapping[int, tuple[int, int | None]] | None = None,
    stall_timeout_s: float = 15.0,
) -> AsyncGenerator[Record, None]:
    """Yield the records of ``topic`` (all partitions, or ``partitions``) in per-partition offset order.

    ``consumer`` is a started, group-less ``AIOKafkaConsumer``. ``since`` starts each partition at the
    first record whose timestamp is at or after it (``offsets_for_times``); ``bounds`` narrows a
    partition to offsets ``first..last`` (inclusive, ``None``: to the end). Raises ``ConsumerError``
    for a topic or partition that does not exist, :class:`KafkaUnavailable` when the offset lookups
    take longer than ``stall_timeout_s`` or reading makes no progress for that long.
    """
    try:
        async with asyncio.timeout(stall_timeout_s):
            starts, ends = await _positions(consumer, topic, partitions, since, bounds or {})
    except TimeoutError:
        raise KafkaUnavailable(f"looking up the offsets of {topic} took over {stall_timeout_s:g} s") from None
    pending = set()
    for tp, start in starts.items():
        if start < ends[tp]:
            consumer.seek(tp, start)
            pending.add(tp)
        else:
            consumer.pause(tp)  # nothing to read there: no fetching either
    last_progress = time.monotonic()
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=POLL_MS)
        for tp, messages in batch.items():
            for message in messages:
                if message.offset >= ends[tp]:
                    break
                yield to_record(message)
            if messages:
                last_progress = time.monotonic()
        for tp in list(pending):
            # control records (transactions) advance the position without yielding a record
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)
                consumer.pause(tp)
        if pending and time.monotonic() - last_progress > stall_timeout_s:
            raise KafkaUnavailable(f"reading {topic} made no progress for {stall_timeout_s:g} s")


async def _positions(
    consumer: Any,
    topic: str,
    partitions: Collection[int] | None,
    since: datetime | None,
    bounds: Mapping[int, tuple[int, int | None]],
) -> tuple[Offsets, Offsets]:
    """Assign the partitions; return the first offset to read and the end offset (exclusive) of each."""
    known = (await topic_partitions(consumer)).get(topic)
    if not known:
        raise ConsumerError(f"topic {topic} does not exist", reason="no_topic")
    chosen = sorted(known if partitions is None else set(partitions))
    missing = sorted(set(chosen) - set(known))
    if missing:
        raise ConsumerError(
            f"topic {topic} has no partition {missing[0]} (partitions 0-{max(known)})", reason="usage"
        )
    tps = [KafkaTP(topic, p) for p in chosen]
    consumer.assign(tps)
    ends: Offsets = dict(await consumer.end_offsets(tps))
    if since is not None:
        found = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in tps})
        starts = {tp: (found[tp].offset if found.get(tp) is not None else ends[tp]) for tp in tps}
    else:
        starts = dict(await consumer.beginning_offsets(tps))
    for tp in tps:
        first, last = bounds.get(tp.partition, (0, None))
        starts[tp] = max(starts[tp], first)
        if last is not None:
            ends[tp] = min(ends[tp], last + 1)
    return starts, ends
