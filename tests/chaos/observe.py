"""What the harness watches while a run goes on: committed offsets, in-flight sends, RSS, canaries.

- :class:`CommitSampler` reads the group's committed offsets and the topic's end offsets every second
  and whenever the driver asks (right before and after every fault), through the PLAINTEXT listener.
  A sample that fails (broker down) is recorded as a gap, and the clients are rebuilt after three
  failures in a row.
- :class:`MemberSampler` reads every live consumer's RSS from ``/proc`` and its ``/metrics`` page
  every second: the ``ssc_hubspot_requests_in_flight`` gauge (I12) and any canary in the exposition (I13).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass, field

import aiohttp
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.chaos.procs import Members, rss_mb

SAMPLE_TIMEOUT_S = 3.0
_IN_FLIGHT = re.compile(r"^ssc_hubspot_requests_in_flight (\S+)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class CommitSample:
    t: float  # wall clock when the answer arrived
    reason: str
    committed: dict[int, int]  # partition -> committed position (absent: nothing committed)
    ends: dict[int, int]  # partition -> end offset

    @property
    def lag(self) -> int:
        return sum(end - self.committed.get(p, 0) for p, end in self.ends.items())

    def to_json(self) -> list[object]:
        return [round(self.t, 3), self.reason, self.committed, self.ends]


class CommitSampler:
    def __init__(self, bootstrap: str, group: str, topic: str, partitions: int) -> None:
        self._bootstrap = bootstrap
        self._group = group
        self._tps = [TopicPartition(topic, p) for p in range(partitions)]
        self._admin: AIOKafkaAdminClient | None = None
        self._reader: AIOKafkaConsumer | None = None
        self._failed_in_row = 0
        self._lock = asyncio.Lock()
        self.samples: list[CommitSample] = []
        self.gaps: list[tuple[float, str, str]] = []  # (t, reason, error)

    async def _open(self) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, request_timeout_ms=5_000)
        self._reader = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, request_timeout_ms=5_000)
        await self._admin.start()
        await self._reader.start()

    async def close(self) -> None:
        if self._admin is not None:
            with contextlib.suppress(Exception):
                await self._admin.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader.stop()
        self._admin = self._reader = None

    async def sample(self, reason: str = "tick") -> CommitSample | None:
        async with self._lock:
            try:
                async with asyncio.timeout(SAMPLE_TIMEOUT_S):
                    if self._admin is None:
                        await self._open()
                    assert self._admin is not None
                    assert self._reader is not None
                    offsets = await self._admin.list_consumer_group_offsets(self._group)
                    ends = await self._reader.end_offsets(self._tps)
            except Exception as exc:  # broker down or coordinator moving: a gap, not a failure
                self.gaps.append((time.time(), reason, type(exc).__name__))
                self._failed_in_row += 1
                if self._failed_in_row >= 3:
                    self._failed_in_row = 0
                    await self.close()
                return None
            self._failed_in_row = 0
            wanted = set(self._tps)
            committed = {
                tp.partition: int(om.offset) for tp, om in offsets.items() if tp in wanted and om.offset >= 0
            }
            sample = CommitSample(
                time.time(), reason, committed, {tp.partition: int(o) for tp, o in ends.items()}
            )
            self.samples.append(sample)
            return sample

    async def run(self, stop: asyncio.Event, every_s: float = 1.0) -> None:
        while not stop.is_set():
            await self.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)

    def last(self) -> CommitSample | None:
        return self.samples[-1] if self.samples else None


@dataclass(slots=True)
class MemberSampler:
    members: Members
    needles: dict[str, str]
    rss: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # incarnation -> (t, MB)
    in_flight: list[tuple[float, str, float]] = field(default_factory=list)
    canary_hits: list[tuple[str, str]] = field(default_factory=list)  # (incarnation, canary name)
    scrapes: int = 0

    async def run(self, stop: asyncio.Event, every_s: float = 1.0) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1.0)) as session:
            while not stop.is_set():
                await self.sample(session)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), every_s)

    async def sample(self, session: aiohttp.ClientSession) -> None:
        for inc in self.members.live():
            if inc.stopped:
                continue
            now = time.time()
            if (mb := rss_mb(inc.pid)) is not None:
                self.rss.setdefault(inc.name, []).append((now, round(mb, 1)))
            try:
                async with session.get(f"http://127.0.0.1:{inc.metrics_port}/metrics") as r:
                    text = await r.text()
            except (aiohttp.ClientError, TimeoutError):
                continue  # starting up or shutting down
            self.scrapes += 1
            if m := _IN_FLIGHT.search(text):
                self.in_flight.append((now, inc.name, float(m.group(1))))
            self.canary_hits += [(inc.name, name) for name, needle in self.needles.items() if needle in text]
