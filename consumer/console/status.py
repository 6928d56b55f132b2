"""What one replica says about itself, read from its ``/readyz`` (JSON) and ``/metrics`` (Prometheus text).

:func:`parse` is pure; :func:`scrape` does the two GETs. The metric names come from the metric objects
in :mod:`consumer.metrics`, so the console reads exactly what the service exports.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import aiohttp
import orjson
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from consumer import metrics

Samples = Mapping[str, Sequence[tuple[Mapping[str, str], float]]]


def family(metric: MetricWrapperBase) -> str:
    """The metric family's name (a counter's without ``_total``)."""
    return next(iter(metric.describe())).name


def sample_name(metric: MetricWrapperBase) -> str:
    """The exposed sample name of a counter (``…_total``) or gauge."""
    kind = next(iter(metric.describe())).type
    return f"{family(metric)}_total" if kind == "counter" else family(metric)


@dataclass(frozen=True, slots=True)
class PartitionStatus:
    topic: str
    partition: int
    lag: float | None  # None until the member has fetched from it (the high watermark is unknown)
    uncommitted: float
    oldest_incomplete_s: float


@dataclass(frozen=True, slots=True)
class ReplicaStatus:
    """One replica at one moment; ``error`` set when it could not be read."""

    url: str
    error: str | None = None
    alive: bool = False
    ready: bool = False
    stopping: bool = False
    paused: tuple[str, ...] = ()
    breakers: tuple[str, ...] = ()
    in_flight: float = 0.0
    partitions: tuple[PartitionStatus, ...] = ()
    budget: float | None = None
    remaining: Mapping[str, float] = field(default_factory=dict)
    limiter_waits: float = 0.0
    events: Mapping[tuple[str, str], float] = field(default_factory=dict)
    dlq_writes: Mapping[str, float] = field(default_factory=dict)

    @property
    def events_by_outcome(self) -> dict[str, float]:
        totals: dict[str, float] = defaultdict(float)
        for (outcome, _), value in self.events.items():
            totals[outcome] += value
        return dict(sorted(totals.items()))

    @property
    def lag(self) -> float:
        return sum(p.lag or 0.0 for p in self.partitions)


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Prometheus text exposition as ``{sample name: [(labels, value), ...]}``."""
    found: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[s.name].append((dict(s.labels), float(s.value)))
    return found


def _by(found: Samples, metric: MetricWrapperBase, *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(lab.get(n, "") for n in labels): v for lab, v in found.get(sample_name(metric), ())}


def _one(found: Samples, metric: MetricWrapperBase) -> float | None:
    values = [v for _, v in found.get(sample_name(metric), ())]
    return values[0] if values else None


def parse(url: str, health: Mapping[str, object], metrics_text: str) -> ReplicaStatus:
    """The status of the replica at ``url`` from its ``/readyz`` body and its ``/metrics`` text."""
    found = samples(metrics_text)
    where = ("topic", "partition")
    lag, uncommitted = _by(found, metrics.LAG, *where), _by(found, metrics.UNCOMMITTED, *where)
    oldest = _by(found, metrics.OLDEST_INCOMPLETE_AGE, *where)
    keys = sorted({*lag, *uncommitted, *oldest}, key=lambda k: (k[0], int(k[1]) if k[1].isdigit() else -1))
    partitions = tuple(
        PartitionStatus(t, int(p), lag.get((t, p)), uncommitted.get((t, p), 0.0), oldest.get((t, p), 0.0))
        for t, p in keys
        if p.isdigit()
    )
    paused = health.get("paused", ())
    return ReplicaStatus(
        url=url,
        alive=bool(health.get("alive", True)),
        ready=bool(health.get("ready", False)),
        stopping=bool(health.get("stopping", False)),
        paused=tuple(str(c) for c in paused) if isinstance(paused, list | tuple) else (),
        breakers=tuple(b for (b,), v in _by(found, metrics.BREAKER_OPEN, "breaker").items() if v),
        in_flight=_one(found, metrics.IN_FLIGHT) or 0.0,
        partitions=partitions,
        budget=_one(found, metrics.LIMITER_TOKENS),
        remaining={w: v for (w,), v in _by(found, metrics.LIMITER_REMAINING, "window").items()},
        limiter_waits=sum(v for _, v in found.get(f"{family(metrics.LIMITER_WAIT)}_count", ())),
        events={(o, r): v for (o, r), v in _by(found, metrics.EVENTS, "outcome", "reason").items()},
        dlq_writes={r: v for (r,), v in _by(found, metrics.DLQ_WRITES, "reason").items()},
    )


async def scrape(session: aiohttp.ClientSession, url: str, timeout_s: float = 3.0) -> ReplicaStatus:
    """GET ``url``/readyz and ``url``/metrics; an unreachable replica is a status with ``error`` set."""
    base = url.rstrip("/")
    try:
        async with asyncio.timeout(timeout_s):
            async with session.get(f"{base}/readyz", allow_redirects=False) as ready:
                health = orjson.loads(await ready.read())
            async with session.get(f"{base}/metrics", allow_redirects=False) as resp:
                resp.raise_for_status()
                text = await resp.text()
    except (TimeoutError, aiohttp.ClientError, orjson.JSONDecodeError) as exc:
        return ReplicaStatus(url=url, error=type(exc).__name__ if str(exc) == "" else str(exc)[:200])
    if not isinstance(health, dict):
        return ReplicaStatus(url=url, error="/readyz did not answer a JSON object")
    return parse(url, health, text)
