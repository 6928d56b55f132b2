"""What tracing costs per record: the pipeline's own CPU with tracing off (the default) and on (an
in-memory exporter), measured in the same run, and what the off-path hooks cost by themselves.

    python -m bench.tracing [--records N] [--runs R]

The pipeline runs for real (decode, validate, route, classify bookkeeping) with an in-process sender
that accepts at once, so the figures are the engine's own cost per record, without Kafka or HTTP.
Each configuration runs ``R`` times, interleaved; the table prints the median and the spread (min-max)
of CPU microseconds per record. Numbers vary with the machine: compare the rows, not across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from consumer.breaker import MassDeadLetterBreaker
from consumer.deadletters.format import FailureContext
from consumer.otel import OtelTracing
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.pause import PauseController
from consumer.pipeline import Pipeline
from consumer.ports import EmailSender
from consumer.records import Record
from consumer.route import Router
from consumer.routing_loader import load_routing
from consumer.settings import DecodeSettings, Environment
from consumer.tracing import NO_TRACING, Tracing

ROUTING = Path(__file__).resolve().parents[1] / "consumer" / "samples" / "routing.yaml"
TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class _Accepting:
    async def send(self, request: object, *, probe: bool = False) -> Outcome:
        return Outcome(OutcomeClass.SENT, Reason.SENT, "", http_status=200, attempts=1)


class _Sink:
    async def write(self, record: Record, outcome: Outcome, ctx: FailureContext) -> None:
        return None


class _Gate:
    def hold(self, cause: str) -> None:
        return None

    def release(self, cause: str) -> None:
        return None


def records(n: int) -> list[Record]:
    made = []
    for i in range(n):
        event = {
            "specversion": "1.0",
            "id": f"evt-{i}",
            "source": "/bench",
            "type": "com.example.user.signed_up.v1",
            "traceparent": TRACE,
            "data": {
                "user_id": f"u{i}",
                "email": f"user{i}@example.com",
                "first_name": "A",
                "last_name": "B",
            },
        }
        headers = (("content-type", b"application/cloudevents+json"),)
        made.append(Record("bench", 0, i, f"u{i}".encode(), orjson.dumps(event), headers))
    return made


def pipeline(tracing: Tracing = NO_TRACING, sender: EmailSender | None = None) -> Pipeline:
    """The real pipeline with fakes at its edges: HubSpot accepts every request (or ``sender``
    answers), dead-letter writes succeed at once; the clock is the real one."""
    return Pipeline(
        decode_settings=DecodeSettings(),
        router=Router.build(load_routing(ROUTING), Environment.DEV),
        sender=sender or _Accepting(),
        dead_letters=_Sink(),
        controller=PauseController(gate=_Gate(), transient_threshold=5, probe_interval_s=1.0),
        mass_breaker=MassDeadLetterBreaker(window=100, ratio=0.5, consecutive_limit=50, min_events=20),
        group_id="bench",
        tracing=tracing,
    )


async def cpu_us_per_record(make: Callable[[], Tracing], batch: list[Record]) -> float:
    engine = pipeline(make())
    started = time.process_time()
    for record in batch:
        await asyncio.create_task(engine.process(record))  # each record in its own task, as the worker does
    return (time.process_time() - started) * 1e6 / len(batch)


def in_memory() -> Tracing:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    return OtelTracing(provider, "bench")


async def main(n: int, runs: int) -> dict[str, list[float]]:
    batch = records(n)
    configs: dict[str, Callable[[], Tracing]] = {
        "tracing off (default)": lambda: NO_TRACING,
        "tracing on (in-memory exporter)": in_memory,
    }
    await cpu_us_per_record(lambda: NO_TRACING, batch[: min(n, 500)])  # warm-up: imports, caches
    results: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(runs):
        for name, make in configs.items():
            results[name].append(await cpu_us_per_record(make, batch))
    return results


def hooks_us_per_record(batch: list[Record], repeat: int = 20_000) -> float:
    """The two calls a record makes with tracing off (``record_started``, ``record_finished``), alone."""
    record, outcome = batch[0], Outcome(OutcomeClass.SENT, Reason.SENT, "")
    started = time.process_time()
    for _ in range(repeat):
        NO_TRACING.record_started(record, TRACE, "t", "i")
        NO_TRACING.record_finished(outcome)
    return (time.process_time() - started) * 1e6 / repeat


def report(results: dict[str, list[float]], hooks_us: float) -> str:
    base = statistics.median(results["tracing off (default)"])
    lines = [f"{'configuration':34} {'median µs/record':>17} {'min-max':>15} {'vs off':>8}"]
    for name, values in results.items():
        med = statistics.median(values)
        lines.append(f"{name:34} {med:17.1f} {min(values):7.1f}-{max(values):<7.1f} {med / base - 1:+8.1%}")
    lines.append(
        f"the off-path hooks alone: {hooks_us:.3f} µs per record ({hooks_us / base:.2%} of a record)"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results = asyncio.run(main(args.records, args.runs))
    print(report(results, hooks_us_per_record(records(1))))
