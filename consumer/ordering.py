"""Dispatch order (pure), as in Confluent's Parallel Consumer.

Records are put in *lanes*; only the head of a lane may be in flight, so records of one lane are
processed in offset order while different lanes run in parallel:

- ``key`` (default): one lane per (partition, key); records without a key get a lane of their own;
- ``partition``: one lane per partition (strict order, parallel across partitions only);
- ``unordered``: every record is its own lane.

A record becomes *ready* when it reaches the head of its lane; the worker takes ready records in
arrival order as concurrency slots free up. Under a backlog it refills the slots in groups
(:func:`starts_now`).
"""

from __future__ import annotations

from collections import deque

from consumer.records import Record, TopicPartition
from consumer.settings import Ordering

LaneKey = tuple[TopicPartition, object]


def start_group(batch: int, capacity: int) -> int:
    """How many free slots the worker waits for under a backlog: the largest divisor of its
    ``capacity`` (concurrency slots) that is at most ``batch``. Groups of one size tile the slots, so
    no group of leftover slots waits for a returning one."""
    return max(d for d in range(1, min(batch, capacity) + 1) if capacity % d == 0)


def starts_now(*, free: int, ready: int, group: int) -> bool:
    """Whether the worker starts ready records now, with ``free`` concurrency slots: when every
    ready record fits, or once ``group`` slots (:func:`start_group`) are free. Under a backlog the
    slots then refill in groups: their requests go out together and their answers come back
    together, so the event loop wakes once for several records. A ready record never waits while
    there is room for every ready one."""
    return free > 0 and (ready <= free or free >= group)


class Scheduler:
    def __init__(self, mode: Ordering) -> None:
        self.mode = mode
        self._lanes: dict[LaneKey, deque[Record]] = {}
        self._ready: deque[Record] = deque()
        self._queued = 0

    def _lane(self, record: Record) -> LaneKey:
        if self.mode is Ordering.PARTITION:
            return (record.tp, None)
        if self.mode is Ordering.KEY and record.key is not None:
            return (record.tp, record.key)
        return (record.tp, record.offset)

    def submit(self, record: Record) -> None:
        """Queue a fetched record; it is ready at once when its lane is empty."""
        lane = self._lanes.setdefault(self._lane(record), deque())
        lane.append(record)
        self._queued += 1
        if len(lane) == 1:
            self._ready.append(record)

    def take(self) -> Record | None:
        """The next ready record (now in flight), or None."""
        return self._ready.popleft() if self._ready else None

    def complete(self, record: Record) -> None:
        """``record`` (the head of its lane) finished: the next record of its lane becomes ready."""
        key = self._lane(record)
        lane = self._lanes.get(key)
        if not lane or lane[0].offset != record.offset or lane[0].tp != record.tp:
            return  # its partition was dropped (revoked) meanwhile
        lane.popleft()
        self._queued -= 1
        if lane:
            self._ready.append(lane[0])
        else:
            del self._lanes[key]

    def drop_partitions(self, tps: set[TopicPartition]) -> int:
        """Forget every queued record of ``tps`` (revoked); returns how many were not yet finished."""
        dropped = 0
        for key in [k for k in self._lanes if k[0] in tps]:
            dropped += len(self._lanes.pop(key))
        self._queued -= dropped
        self._ready = deque(r for r in self._ready if r.tp not in tps)
        return dropped

    @property
    def ready(self) -> int:
        return len(self._ready)

    @property
    def queued(self) -> int:
        """Records submitted and not completed (in flight + waiting)."""
        return self._queued
