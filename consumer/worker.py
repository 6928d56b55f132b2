"""The fetch / dispatch / commit loop around one aiokafka consumer.

- **Fetch**: ``getmany`` is called continuously — also while the pipeline is paused (partitions
  paused, member stays in the group; missing polls past ``max_poll_interval_ms`` would drop it).
- **Dispatch**: fetched records go to the :class:`~consumer.ordering.Scheduler`; a concurrency slot
  is taken *before* a record's task is created, so tasks in flight never exceed ``max_in_flight``.
  While more records are ready than slots are free, they start once a group of slots is free: the
  largest divisor of ``max_in_flight`` up to ``start_batch`` (:func:`~consumer.ordering.starts_now`).
  A partition whose uncommitted window is full is paused and resumed when it drains below half.
  A record whose task crashed (a bug: input failures are outcomes) is not done; it runs again after
  ``CRASH_RETRY_S``, in a free slot like any other record.
- **Commit**: explicit ``{tp: position}`` only, every ``commit_every`` completions or
  ``commit_interval_ms``, on revoke and on shutdown. ``CommitFailedError`` (a rebalance raced us) is
  logged and retried at the next tick, never fatal. Each commit carries the done offsets above the
  position in its metadata (``consumer/offset_metadata.py``), within ``commit_metadata_max_bytes``.
- **Assign**: ``on_assigned`` (if given) is called first, once the new assignment holds. A new
  partition's records are held until the metadata of its committed position is read
  back; records it names as done are marked done without being processed again.
- **Revoke**: queued records of the revoked partitions are dropped, in-flight ones get up to
  ``revoke_wait_s``, the done position is committed, then the tracker is fenced and leftovers are
  cancelled (their completions are ignored; the new owner re-sends with the same ``sendId``).
- **Stop**: intake stops, in-flight records drain until the deadline (also while the pipeline is
  paused: a healthy probe resumes them), the rest are cancelled, the final positions are committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError, OffsetMetadataTooLargeError

from consumer.kafka import fetch_committed, from_kafka_tp, to_kafka_tp, to_record
from consumer.logs import get_logger
from consumer.metrics import (
    ASSIGNED,
    COMMITS,
    EVENT_LATENCY,
    IN_FLIGHT,
    LAG,
    OLDEST_INCOMPLETE_AGE,
    SKIPPED,
    UNCOMMITTED,
)
from consumer.offset_metadata import NOTHING_DONE, Restored, Status, decode, encode
from consumer.offsets import PartitionTracker
from consumer.ordering import Scheduler, start_group, starts_now
from consumer.outcome import OutcomeClass
from consumer.ports import KafkaConsumer, RecordProcessor
from consumer.records import Record, TopicPartition
from consumer.settings import EngineSettings

log = get_logger("consumer.worker")

FETCH_TIMEOUT_MS = 200
CRASH_RETRY_S = 1.0
RESTORE_TIMEOUT_S = 5.0  # reading the committed metadata on assignment; then nothing is skipped


@dataclass(slots=True)
class Counts:
    """What the worker did, logged at shutdown and used by the demo summary."""

    fetched: int = 0
    done: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)
    commits: int = 0
    commit_failures: int = 0
    cancelled: int = 0
    skipped: int = 0  # done by an earlier owner (commit metadata): not processed again
    committed: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _InFlight:
    record: Record
    tracker: PartitionTracker


class Worker(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(
        self,
        consumer: KafkaConsumer,
        pipeline: RecordProcessor,
        settings: EngineSettings,
        *,
        on_assigned: Callable[[], None] | None = None,
    ) -> None:
        self._consumer = consumer
        self._on_assigned = on_assigned
        self._pipeline = pipeline
        self._settings = settings
        self._scheduler = Scheduler(settings.ordering)
        self._start_group = start_group(settings.start_batch, settings.max_in_flight)
        self._trackers: dict[TopicPartition, PartitionTracker] = {}
        self._tasks: dict[asyncio.Task[Any], _InFlight] = {}
        self._window_paused: set[TopicPartition] = set()
        self._started_high: dict[TopicPartition, int] = {}  # highest offset started, per partition
        self._limits: dict[TopicPartition, int] = {}  # partitions finishing up: start nothing above
        self._held: dict[TopicPartition, list[Record]] = {}  # fetched while their tracker is restoring
        self._metadata_budget = settings.commit_metadata_max_bytes
        self._paused = False  # whole pipeline (pause controller)
        self._stopping = False
        self._generation = 0
        self._since_commit = 0
        self._last_commit = time.monotonic()
        self._crashed: deque[_InFlight] = deque()  # crashed records due for another run, oldest first
        self.counts = Counts()
        self.joined = False
        self.last_tick = time.monotonic()

    # ------------------------------------------------------------------ pause controller hook

    def set_paused(self, paused: bool) -> None:
        """Pause or resume every assigned partition (called by the pause controller)."""
        self._paused = paused
        assigned = [to_kafka_tp(tp) for tp in self._trackers]
        if paused:
            self._consumer.pause(*assigned)
        else:
            self._consumer.resume(
                *[to_kafka_tp(tp) for tp in self._trackers if tp not in self._window_paused]
            )
            self._dispatch()

    # ------------------------------------------------------------------ rebalance listener

    async def on_partitions_revoked(self, revoked: Any) -> None:
        tps = {from_kafka_tp(k) for k in revoked} & set(self._trackers)
        if not tps:
            return
        await self._finish_started(tps, self._settings.revoke_wait_s)
        dropped = self._scheduler.drop_partitions(tps)
        await self._commit({tp: self._trackers[tp] for tp in tps})
        late = [t for t, f in self._tasks.items() if f.record.tp in tps]
        for tp in tps:
            self._trackers.pop(tp).fence()
            self._window_paused.discard(tp)
            self._limits.pop(tp, None)
            self._started_high.pop(tp, None)
            self._held.pop(tp, None)
            for gauge in (UNCOMMITTED, OLDEST_INCOMPLETE_AGE, LAG):  # no stale series for lost partitions
                with contextlib.suppress(KeyError):
                    gauge.remove(tp.topic, str(tp.partition))
        for task in late:
            task.cancel()
        ASSIGNED.set(len(self._trackers))
        log.info("rebalance.revoked", partitions=sorted(map(str, tps)), dropped=dropped, cancelled=len(late))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self.joined = True
        owned = {
            from_kafka_tp(k): t for k in assigned if (t := self._tracker_for(k)) is not None
        }  # before any await
        if self._on_assigned is not None:
            self._on_assigned()  # the new assignment holds now: e.g. the limiter's part follows it at once
        if self._paused and assigned:
            self._consumer.pause(*assigned)  # pause survives re-assignment
        points: dict[TopicPartition, tuple[int, str]] = {}
        try:
            points = await self._committed([tp for tp, t in owned.items() if t.restoring])
        finally:  # whatever happens, no partition stays held
            restored = {tp: self._restore(tp, t, points.get(tp)) for tp, t in owned.items() if t.restoring}
        for tp, (committed, _) in points.items():  # for metrics and is_drained: where the group stood
            owned[tp].committed_at(committed)
        ASSIGNED.set(len(self._trackers))
        log.info(
            "rebalance.assigned",
            partitions=sorted(str(from_kafka_tp(k)) for k in assigned),
            skipping={str(tp): r.done.count for tp, r in restored.items() if r.done},
        )

    def _restore(
        self, tp: TopicPartition, tracker: PartitionTracker, point: tuple[int, str] | None
    ) -> Restored:
        """Give ``tracker`` the done offsets its committed metadata names, then release its held
        records: those done are marked done, the others go to the scheduler."""
        found = (
            Restored(NOTHING_DONE, Status.EMPTY) if point is None else decode(tp.topic, tp.partition, *point)
        )
        if found.status in (Status.FOREIGN, Status.CORRUPT, Status.MISMATCH):
            log.warning("offsets.metadata_ignored", partition=str(tp), status=found.status.value)
        tracker.restore(found.done)
        if self._trackers.get(tp) is tracker:  # else revoked meanwhile: its held records went with it
            for record in self._held.pop(tp, []):
                if not self._skip_known_done(tracker, record):
                    self._scheduler.submit(record)
            self._check_window(tracker, tp)
            self._dispatch()
        return found

    def _skip_known_done(self, tracker: PartitionTracker, record: Record) -> bool:
        """Mark ``record`` done without processing it when an earlier owner already finished it."""
        if not tracker.known_done(record.offset):
            return False
        if tracker.done(record.offset):
            self.counts.skipped += 1
            self._since_commit += 1
            SKIPPED.inc()
        return True

    def _tracker_for(self, ktp: Any) -> PartitionTracker | None:
        """The tracker of an assigned partition, created on first sight. aiokafka may hand out records
        of a new assignment before it has awaited ``on_partitions_assigned``; dropping them would move
        the position past records nobody sent, and a later commit would skip them."""
        tp = from_kafka_tp(ktp)
        tracker = self._trackers.get(tp)
        if tracker is None and ktp in self._consumer.assignment():
            self._generation += 1
            tracker = self._trackers[tp] = PartitionTracker(generation=self._generation, restoring=True)
            ASSIGNED.set(len(self._trackers))
        return tracker

    async def _committed(self, tps: list[TopicPartition]) -> dict[TopicPartition, tuple[int, str]]:
        """Committed position and metadata per partition; {} when the group cannot say in time."""
        try:
            return await asyncio.wait_for(fetch_committed(self._consumer, tps), RESTORE_TIMEOUT_S)
        except (KafkaError, TimeoutError) as exc:
            log.warning("offsets.committed_unavailable", error=type(exc).__name__, partitions=len(tps))
            return {}

    # ------------------------------------------------------------------ main loop

    async def run(self, stop: asyncio.Event) -> Counts:
        """Fetch, dispatch and commit until ``stop`` is set, then drain and commit."""
        while not stop.is_set():
            self.last_tick = time.monotonic()
            batch = await self._consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS)
            now = time.monotonic()
            for ktp, messages in batch.items():
                tracker = self._tracker_for(ktp)
                if tracker is None:
                    continue  # revoked while the fetch was in flight: the next owner reads them
                for msg in messages:
                    record = to_record(msg, now)
                    tracker.track(record.offset, now)
                    self.counts.fetched += 1
                    if tracker.restoring:
                        self._held.setdefault(record.tp, []).append(record)
                    elif not self._skip_known_done(tracker, record):
                        self._scheduler.submit(record)
                self._check_window(tracker, from_kafka_tp(ktp))
            self._dispatch()
            if self._commit_due():
                await self._commit(dict(self._trackers))
        await self._drain()
        return self.counts

    def _check_window(self, tracker: PartitionTracker, tp: TopicPartition) -> None:
        if tracker.window >= self._settings.partition_window and tp not in self._window_paused:
            self._window_paused.add(tp)
            self._consumer.pause(to_kafka_tp(tp))
            log.debug("partition.window_full", partition=str(tp), window=tracker.window)
        elif tp in self._window_paused and tracker.window <= self._settings.partition_window // 2:
            self._window_paused.discard(tp)
            if not self._paused:
                self._consumer.resume(to_kafka_tp(tp))

    def _dispatch(self) -> None:
        """Start records while slots are free (never while paused): crashed records due for another
        run first, then ready ones (all that fit or, under a backlog, once a group of slots is free:
        :func:`~consumer.ordering.starts_now`). A partition being revoked or drained has a limit:
        only records at or below the highest offset already started may start, so that no finished
        record is left above an unfinished one (which would be re-sent)."""
        while not self._paused and self._crashed and len(self._tasks) < self._settings.max_in_flight:
            flight = self._crashed.popleft()
            if not flight.tracker.fenced and not self._stopping:
                self._start(flight)
        capacity = self._settings.max_in_flight
        free = capacity - len(self._tasks)
        refill = starts_now(free=free, ready=self._scheduler.ready, group=self._start_group)
        while refill and not self._paused and len(self._tasks) < capacity:
            record = self._scheduler.take()
            if record is None:
                break
            tracker = self._trackers.get(record.tp)
            if tracker is None:
                continue
            limit = self._limits.get(record.tp)
            if (self._stopping and limit is None) or (limit is not None and record.offset > limit):
                continue  # beyond what must finish: the next owner (or restart) starts it
            self._started_high[record.tp] = max(self._started_high.get(record.tp, -1), record.offset)
            self._start(_InFlight(record, tracker))
        IN_FLIGHT.set(len(self._tasks))

    def _start(self, flight: _InFlight) -> None:
        """Run one record in its own task; the caller has checked that a concurrency slot is free."""
        record = flight.record
        task = asyncio.create_task(self._pipeline.process(record), name=f"record {record.tp}@{record.offset}")
        self._tasks[task] = flight
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        flight = self._tasks.pop(task)
        record = flight.record
        if task.cancelled():
            self.counts.cancelled += 1
        elif (exc := task.exception()) is not None:
            # A bug, not bad input (the pipeline maps every input failure to an outcome). The record is
            # not done; retry it later rather than skip it or crash the member.
            log.error(
                "record.crashed",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                error=repr(exc),
            )
            asyncio.get_running_loop().call_later(CRASH_RETRY_S, self._retry_crashed, flight)
        elif flight.tracker.done(record.offset):
            cls: OutcomeClass = task.result().cls
            self.counts.done += 1
            self.counts.by_outcome[cls.value] = self.counts.by_outcome.get(cls.value, 0) + 1
            self._since_commit += 1
            EVENT_LATENCY.observe(time.monotonic() - record.fetched_at)
            self._scheduler.complete(record)
            if record.tp in self._window_paused:
                self._check_window(flight.tracker, record.tp)
        self._dispatch()

    def _retry_crashed(self, flight: _InFlight) -> None:
        """Queue a crashed record for another run; it starts when a concurrency slot is free."""
        if flight.tracker.fenced or self._stopping:
            return
        self._crashed.append(flight)
        self._dispatch()

    # ------------------------------------------------------------------ commit

    def _commit_due(self) -> bool:
        return (
            self._since_commit >= self._settings.commit_every
            or (time.monotonic() - self._last_commit) * 1000 >= self._settings.commit_interval_ms
        )

    async def _commit(self, trackers: dict[TopicPartition, PartitionTracker]) -> None:
        self._since_commit = 0
        self._last_commit = time.monotonic()
        budget = self._metadata_budget
        due = {
            tp: (pos, t.marks)
            for tp, t in trackers.items()
            if (pos := t.commit_due(done_above=budget > 0)) is not None
        }
        self._report(trackers)
        if not due:
            return
        offsets = {
            to_kafka_tp(tp): (pos, self._metadata(tp, trackers[tp], pos)) for tp, (pos, _) in due.items()
        }
        try:
            try:
                await self._consumer.commit(offsets)
            except OffsetMetadataTooLargeError:
                # the broker's offset.metadata.max.bytes is below the budget: commit positions alone
                self._metadata_budget = 0
                log.warning(
                    "commit.metadata_too_large",
                    budget=budget,
                    setting="SSC_ENGINE__COMMIT_METADATA_MAX_BYTES",
                )
                await self._consumer.commit({ktp: (pos, "") for ktp, (pos, _) in offsets.items()})
        except KafkaError as exc:
            self.counts.commit_failures += 1
            COMMITS.labels(result="failed").inc()
            log.warning("commit.failed", error=type(exc).__name__, partitions=len(offsets))
            return
        for tp, (pos, marks) in due.items():
            trackers[tp].committed_at(pos, marks)
            self.counts.committed[str(tp)] = pos
        self.counts.commits += 1
        COMMITS.labels(result="ok").inc()
        log.debug("commit.ok", offsets={str(tp): pos for tp, (pos, _) in due.items()})

    def _metadata(self, tp: TopicPartition, tracker: PartitionTracker, position: int) -> str:
        if not self._metadata_budget:
            return ""
        return encode(tp.topic, tp.partition, position, tracker.done_above(), self._metadata_budget)

    def _report(self, trackers: dict[TopicPartition, PartitionTracker]) -> None:
        now = time.monotonic()
        for tp, t in trackers.items():
            labels = {"topic": tp.topic, "partition": str(tp.partition)}
            UNCOMMITTED.labels(**labels).set(t.window)
            since = t.oldest_incomplete_since()
            OLDEST_INCOMPLETE_AGE.labels(**labels).set(0 if since is None else now - since)
            high = self._consumer.highwater(to_kafka_tp(tp))
            base = t.committed if t.committed is not None else t.position
            if high is not None and base is not None:
                LAG.labels(**labels).set(max(0, high - base))

    # ------------------------------------------------------------------ drain / state

    async def _finish_started(self, tps: set[TopicPartition], timeout_s: float) -> None:
        """Let the records of ``tps`` that must finish (in flight, or queued below the highest offset
        already started) run for up to ``timeout_s``; start nothing beyond."""
        for tp in tps:
            self._limits[tp] = self._started_high.get(tp, -1)
        self._dispatch()
        deadline = time.monotonic() + timeout_s
        while mine := [t for t, f in self._tasks.items() if f.record.tp in tps]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await asyncio.wait(mine, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)

    async def _drain(self) -> None:
        self._stopping = True
        self._consumer.pause(*[to_kafka_tp(tp) for tp in self._trackers])
        # Paused or not, in-flight records get the whole deadline: the pause controller keeps probing
        # while the worker drains and a healthy probe resumes them. Cancelling them at once would leave
        # every finished record above them uncommitted, to be sent again after the restart.
        deadline = self._settings.drain_deadline_s
        log.info("shutdown.draining", in_flight=len(self._tasks), deadline_s=deadline)
        await self._finish_started(set(self._trackers), deadline)
        leftovers = [t for t in self._tasks if not t.done()]
        for task in leftovers:
            task.cancel()
        if leftovers:
            await asyncio.wait(leftovers)
        await self._commit(dict(self._trackers))

    def is_drained(self) -> bool:
        """True when every assigned partition is committed up to its high watermark (demo, batch runs)."""
        if not self.joined or not self._trackers or self._tasks or self._scheduler.queued:
            return False
        for tp, t in self._trackers.items():
            high = self._consumer.highwater(to_kafka_tp(tp))
            if high is None or (t.committed or 0) < high or t.window:
                return False
        return True

    @property
    def assigned(self) -> list[TopicPartition]:
        return list(self._trackers)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)
