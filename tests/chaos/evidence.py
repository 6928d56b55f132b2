"""Reading back what a run left: simulator ledger and request log, the DLQ topic, consumer logs.

:class:`Evidence` is everything the checker looks at, as plain values, so the checker stays pure and
its unit tests can build evidence by hand.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from tests.chaos.driver import FaultRecord
from tests.chaos.generator import Event
from tests.chaos.observe import CommitSample
from tests.chaos.profiles import Profile


@dataclass(frozen=True, slots=True)
class Request:
    """One Single Send request as the simulator saw it (wall-clock seconds)."""

    t_in: float
    t_out: float
    status: int
    send_id: str | None
    to: str | None
    result: str | None  # sendResult of the answer (None: accepted, or an error answer)
    retry_after: float | None

    @property
    def accepted(self) -> bool:
        return self.status == 200 and self.result is None

    @classmethod
    def from_row(cls, row: list[Any]) -> Request:
        ra = row[6]
        return cls(
            float(row[0]),
            float(row[1]),
            int(row[2]),
            row[3],
            row[4],
            row[5],
            None if ra is None else float(ra),
        )


@dataclass(frozen=True, slots=True)
class DlqEntry:
    partition: int | None  # of the source record (from __connect.errors.partition)
    offset: int | None
    value: bytes
    headers: dict[str, str]
    timestamp: float  # the DLQ record's CreateTime: before its write was acknowledged


@dataclass(slots=True)
class LogScan:
    """What the consumers' captured stderr says."""

    files: int = 0
    lines: int = 0
    unstructured: int = 0  # lines that are not JSON (tracebacks, library prints)
    canary_hits: list[tuple[str, str]] = field(default_factory=list)  # (file, canary name)
    events: Counter[str] = field(default_factory=Counter)
    probes: list[float] = field(default_factory=list)  # wall-clock times of pipeline.probe
    pauses: dict[str, list[float]] = field(default_factory=dict)  # member -> times of pipeline.paused
    errors: Counter[str] = field(default_factory=Counter)  # event names logged at error or worse


@dataclass(slots=True)
class Evidence:
    profile: Profile
    seed: int
    t0: float
    end: float
    events: list[Event]
    placed: dict[int, list[tuple[int, int]]]
    sent_at: dict[int, float]
    ledger: list[dict[str, Any]]
    requests: list[Request]
    sends: list[dict[str, Any]]
    stats: dict[str, Any]
    dlq: list[DlqEntry]
    samples: list[CommitSample]
    faults: list[FaultRecord]
    timeline: list[dict[str, Any]]
    stops: list[dict[str, Any]]
    incarnations: list[dict[str, Any]]
    rss: dict[str, list[tuple[float, float]]]
    in_flight: list[tuple[float, str, float]]
    metric_canary_hits: list[tuple[str, str]]
    logs: LogScan
    final_resent: int | None = None  # requests made by a member started after the final clean stop


def read_jsonl(path: Path) -> list[Any]:
    if not path.exists():
        return []
    out = []
    with path.open("rb") as fh:
        for line in fh:
            with contextlib.suppress(orjson.JSONDecodeError):
                out.append(orjson.loads(line))
    return out


def read_requests(path: Path) -> list[Request]:
    return sorted((Request.from_row(r) for r in read_jsonl(path)), key=lambda r: r.t_in)


def _iso(ts: str) -> float | None:
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def scan_logs(files: list[Path], needles: dict[str, str]) -> LogScan:
    """Counts events, collects probe and pause times and errors, and finds canaries (in the raw bytes)."""
    scan = LogScan(files=len(files))
    raw_needles = {name: needle.encode() for name, needle in needles.items()}
    for path in files:
        member = path.stem.removeprefix("consumer-")
        with path.open("rb") as fh:
            for line in fh:
                scan.lines += 1
                scan.canary_hits += [(path.name, n) for n, needle in raw_needles.items() if needle in line]
                try:
                    entry = orjson.loads(line)
                except orjson.JSONDecodeError:
                    scan.unstructured += bool(line.strip())
                    continue
                if not isinstance(entry, dict):
                    scan.unstructured += 1
                    continue
                name = str(entry.get("event", ""))[:80]
                scan.events[name] += 1
                if entry.get("level") in ("error", "critical"):
                    scan.errors[name] += 1
                if name not in ("pipeline.probe", "pipeline.paused"):
                    continue
                if (t := _iso(str(entry.get("timestamp", "")))) is None:
                    continue
                if name == "pipeline.probe":
                    scan.probes.append(t)
                else:
                    scan.pauses.setdefault(member, []).append(t)
    return scan


async def read_dlq(bootstrap: str, topic: str, partitions: int, idle_ms: int = 2_000) -> list[DlqEntry]:
    """Every record of the DLQ topic, read from the beginning up to its end offsets (no group)."""
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await reader.start()
    out: list[DlqEntry] = []
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        ends = await reader.end_offsets(tps)
        while [tp for tp, end in ends.items() if await reader.position(tp) < end]:
            batch = await reader.getmany(timeout_ms=idle_ms)
            if not batch:
                break
            for records in batch.values():
                for r in records:
                    headers = {k: bytes(v).decode("utf-8", "replace") for k, v in r.headers}
                    part, off = (
                        headers.get("__connect.errors.partition"),
                        headers.get("__connect.errors.offset"),
                    )
                    out.append(
                        DlqEntry(
                            None if part is None else int(part),
                            None if off is None else int(off),
                            r.value or b"",
                            headers,
                            r.timestamp / 1000,
                        )
                    )
    finally:
        await reader.stop()
    return out
