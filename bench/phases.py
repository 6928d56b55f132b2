"""One function per measurement of the engine benchmark; each returns raw figures as a dict.

Every phase runs against the same broker and the same simulator process, whose ledger is reset (and
latency set) first. The measured process is always a child of its own, sampled from ``/proc``:

* :func:`engine_backlog` — ``consumer run --until-drained`` over a pre-filled topic: throughput and
  CPU over the steady window (first → last accepted send), peak RSS;
* :func:`engine_paced` — ``consumer run`` while events are produced at a fixed rate: per-event
  latency from the producer's ``send()`` to the simulator's accept, matched by ``sendId``;
* :func:`probe_latency` — sequential POSTs (concurrency 1) from this process: the mean request
  latency that Little's law turns into a throughput bound;
* :func:`baseline` — ``python -m bench.baselines naive|faststream`` over the same pre-filled topic;
* :func:`profile_engine` — an extra backlog run with ``py-spy record`` attached (not measured).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench import infra
from bench.figures import histogram_mean, per_thousand, percentile, window
from bench.procstat import MACHINE, STEAL, Sample, Sampler, cpu_between
from bench.profile import summarise
from consumer.decode import decode, validate
from consumer.records import Record
from consumer.route import Router
from consumer.routing_loader import load_routing
from consumer.settings import DecodeSettings, Environment, HubSpotSettings


@dataclass(slots=True)
class Context:
    """What every phase shares: the broker, the simulator, parameters and the log directory."""

    kafka: infra.Kafka
    sim: infra.Simulator
    logs: Path
    max_in_flight: int
    partitions: int
    source: Path | None = None  # a snapshot of the code to run (None: the working tree)

    @property
    def routing(self) -> Path:
        root = self.source or infra.ROOT
        packaged = root / "consumer" / "samples" / "routing.yaml"
        return packaged if packaged.exists() else root / "deploy" / "local" / "routing.yaml"  # older commits

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pids(self, child: int) -> dict[str, int]:
        pids = {
            "measured": child,
            "simulator": self.sim.pid,
            "bench": os.getpid(),
            "machine": MACHINE,
            "steal": STEAL,
        }
        if self.kafka.pid is not None:
            pids["kafka"] = self.kafka.pid
        return pids


def consumer_env(ctx: Context, topic: str, group: str, http_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSC_")}
    env.update(
        SSC_ROUTING_FILE=str(ctx.routing),
        SSC_KAFKA__BOOTSTRAP_SERVERS=ctx.kafka.bootstrap,
        SSC_KAFKA__TOPICS=f'["{topic}"]',
        SSC_KAFKA__GROUP_ID=group,
        SSC_HUBSPOT__BASE_URL=ctx.sim.url,
        SSC_HUBSPOT__AUTH__TOKEN=infra.TOKEN,
        # HubSpot's budget is 100 per 10 s; the benchmark measures engine capacity, not the budget
        SSC_HUBSPOT__RATE_LIMIT__REQUESTS_PER_INTERVAL="1000000000",
        SSC_ENGINE__MAX_IN_FLIGHT=str(ctx.max_in_flight),
        SSC_OBSERVABILITY__HOST="127.0.0.1",
        SSC_OBSERVABILITY__PORT=str(http_port),
        SSC_OBSERVABILITY__LOG_LEVEL="INFO",
    )
    return env


def _consumer_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "consumer", "run", *args]


def _steady(samples: dict[str, list[Any]], accepted: dict[str, float]) -> dict[str, Any]:
    """Throughput and CPU of every sampled process over the steady window of ``accepted``."""
    w = window(accepted.values())
    out: dict[str, Any] = {
        "accepted": w.accepted,
        "window_s": round(w.seconds, 3),
        "throughput_per_s": w.rate,
        "first_accept": w.first,
        "last_accept": w.last,
    }
    for name, series in samples.items():
        cpu = cpu_between(series, w.first, w.last)
        out[f"{name}_cpu_s"] = cpu
        out[f"{name}_cpu_util"] = cpu / w.seconds if cpu is not None and w.seconds > 0 else None
    out["cpu_s_per_1000"] = per_thousand(out.get("measured_cpu_s"), w.accepted)
    kernel = cpu_between(samples.get("measured", []), w.first, w.last, system=True)
    out["measured_kernel_share"] = (
        kernel / out["measured_cpu_s"] if kernel and out.get("measured_cpu_s") else None
    )
    # CPU of processes that are not part of this benchmark (other work on a shared machine)
    if out.get("machine_cpu_util") is not None:
        ours = sum(out.get(f"{n}_cpu_util") or 0.0 for n in ("measured", "simulator", "kafka", "bench"))
        out.pop("machine_cpu_s", None)
        out["others_cpu_util"] = max(0.0, out["machine_cpu_util"] - ours)
    return out


async def engine_backlog(
    ctx: Context, topic: str, expected: int, latency_ms: float, timeout_s: float, *, name: str = ""
) -> dict[str, Any]:
    """``consumer run --until-drained`` over ``topic`` (already holding ``expected`` events)."""
    name = name or f"engine-backlog-{latency_ms:g}ms"
    await ctx.sim.reset(latency_ms)
    group = f"bench.engine.{uuid.uuid4().hex[:8]}"
    env = consumer_env(ctx, topic, group, infra.free_port())
    started = time.monotonic()
    proc = infra.spawn(_consumer_cmd("--until-drained"), env, ctx.log(name), ctx.source)
    sampler = Sampler(ctx.pids(proc.pid)).start()
    ended = await infra.reap(proc, timeout_s, started)
    samples = sampler.stop()
    accepted = await ctx.sim.accepted()
    stats = await ctx.sim.stats()
    figures = _steady(samples, accepted)
    figures.update(
        expected=expected,
        exit_code=ended.returncode,
        timed_out=ended.timed_out,
        wall_s=round(ended.wall_s, 2),
        total_cpu_s=ended.cpu_s,
        total_cpu_s_per_1000=per_thousand(ended.cpu_s, len(accepted)),
        startup_cpu_s=_cpu_before(samples["measured"], min(accepted.values(), default=None)),
        peak_rss_mb=round(sampler.peak_rss_mb("measured"), 1),
        requests=stats["requests"],
        by_status=stats["by_status"],
        rss_mb_trace=_rss_trace(samples["measured"], figures["first_accept"], figures["last_accept"]),
    )
    return figures


def _rss_trace(series: list[Sample], first: float, last: float, points: int = 5) -> list[float]:
    """RSS (MB) at ``points`` evenly spaced times from the first to the last accepted send: flat means
    memory does not grow while the backlog drains."""
    out = []
    for k in range(points):
        t = first + (last - first) * k / (points - 1)
        before = [s for s in series if s.t <= t]
        if before:
            out.append(round(before[-1].rss_kb / 1024, 1))
    return out


def _cpu_before(series: list[Any], t: float | None) -> float | None:
    """CPU spent before the first accepted send: imports, start-up, group join (from the samples)."""
    if t is None or not series:
        return None
    before = [s.cpu_s for s in series if s.t <= t]
    return before[-1] if before else None


async def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as s:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the consumer exited with {proc.returncode} before it was ready")
            try:
                async with s.get(f"http://127.0.0.1:{port}/readyz") as r:
                    if r.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the consumer did not become ready")


async def _inside_consumer(port: int) -> dict[str, float]:
    """The consumer's own view (its /metrics, over the whole paced run incl. warm-up): mean latency
    of one HubSpot request and mean time from dispatch (task created) to done."""
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s,
        s.get(f"http://127.0.0.1:{port}/metrics") as r,
    ):
        text = await r.text()
    requests, request_s = histogram_mean(text, "ssc_hubspot_request_duration_seconds")
    events, event_s = histogram_mean(text, "ssc_event_duration_seconds")
    return {
        "requests": requests,
        "request_mean_ms": request_s * 1000,
        "events": events,
        "dispatch_to_done_mean_ms": event_s * 1000,
    }


async def _wait_accepted(sim: infra.Simulator, count: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    accepted = 0
    while time.monotonic() < deadline:
        accepted = int((await sim.stats())["accepted"])
        if accepted >= count:
            break
        await asyncio.sleep(0.1)
    return accepted


async def engine_paced(
    ctx: Context, latency_ms: float, rate: float, count: int, warmup: int
) -> dict[str, Any]:
    """Latency at a fixed offered load: ``count`` events at ``rate``/s after ``warmup`` unmeasured ones."""
    topic = f"bench.paced.{latency_ms:g}ms.{uuid.uuid4().hex[:8]}"
    await infra.create_topic(ctx.kafka.bootstrap, topic, ctx.partitions)
    await ctx.sim.reset(latency_ms)
    port = infra.free_port()
    env = consumer_env(ctx, topic, f"bench.paced.{uuid.uuid4().hex[:8]}", port)
    proc = infra.spawn(_consumer_cmd(), env, ctx.log(f"engine-paced-{latency_ms:g}ms"), ctx.source)
    sampler = Sampler(ctx.pids(proc.pid)).start()
    try:
        await _wait_ready(port, proc, 90)
        # the first `warmup` events (connections, caches, producer start) are paced too, not measured
        produced = await infra.produce_paced(
            ctx.kafka.bootstrap, topic, count, rate, "/bench/paced", warmup=warmup
        )
        await _wait_accepted(ctx.sim, warmup + count, 60)
        inside = await _inside_consumer(port)
    finally:
        proc.terminate()
        ended = await infra.reap(proc, 30)
        samples = sampler.stop()
    accepted = await ctx.sim.accepted()
    in_order = sorted(produced.items(), key=lambda kv: kv[1])
    latencies = [(accepted[s] - t) * 1000 for s, t in in_order if s in accepted]
    thirds = [latencies[k * len(latencies) // 3 : (k + 1) * len(latencies) // 3] for k in range(3)]
    p50_thirds = [percentile(part, 50) for part in thirds]
    times = sorted(produced.values())
    offered = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else None
    measured = {s: accepted[s] for s in produced if s in accepted}
    figures = _steady(samples, measured)
    figures.update(
        target_rate_per_s=rate,
        offered_rate_per_s=offered,
        produced=len(produced),
        matched=len(latencies),
        p50_ms=percentile(latencies, 50),
        p90_ms=percentile(latencies, 90),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies, default=None),
        mean_ms=statistics.fmean(latencies) if latencies else None,
        p50_by_third_ms=p50_thirds,
        inside_consumer=inside,
        # a queue that builds up or drains during the run means the offered load was, for a while,
        # above what the consumer got done on this machine: the latency then measures queueing
        stable=bool(latencies) and max(p50_thirds) <= 3 * min(p50_thirds) + 20,
        exit_code=ended.returncode,
        peak_rss_mb=round(sampler.peak_rss_mb("measured"), 1),
    )
    return figures


async def probe_latency(ctx: Context, latency_ms: float, requests: int, warmup: int = 20) -> dict[str, Any]:
    """Mean latency of one Single Send request at concurrency 1 (same bodies as the consumer sends)."""
    await ctx.sim.reset(latency_ms)
    router = Router.build(load_routing(ctx.routing), Environment.DEV)
    settings = DecodeSettings()
    bodies: list[bytes] = []
    for i in range(warmup + requests):
        record = Record(
            "probe", 0, i, None, orjson.dumps(infra.event(i, "/bench/probe")), tuple(infra.HEADERS), 0
        )
        jobs = router.plan(validate(decode(record, settings)), datetime.now(UTC))
        bodies.extend(job.request.complete_body for job in jobs)
    url = ctx.sim.url + HubSpotSettings().send_path
    headers = {"Authorization": f"Bearer {infra.TOKEN}", "Content-Type": "application/json"}
    samples: list[float] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:
        for n, body in enumerate(bodies):
            t0 = time.perf_counter()
            async with s.post(url, data=body, headers=headers) as r:
                await r.read()
                status = r.status
            if status != 200:
                raise RuntimeError(f"probe request answered {status}")
            if n >= warmup:
                samples.append(time.perf_counter() - t0)
    return {
        "requests": len(samples),
        "mean_ms": statistics.fmean(samples) * 1000,
        "p50_ms": percentile(samples, 50) * 1000,
        "p99_ms": percentile(samples, 99) * 1000,
    }


async def baseline(
    ctx: Context, kind: str, topic: str, latency_ms: float, *, max_events: int, max_seconds: float
) -> dict[str, Any]:
    """``bench.baselines <kind>`` over ``topic`` for at most ``max_events`` / ``max_seconds``."""
    await ctx.sim.reset(latency_ms)
    args = [
        sys.executable,
        "-m",
        "bench.baselines",
        kind,
        "--bootstrap",
        ctx.kafka.bootstrap,
        "--topic",
        topic,
        "--group",
        f"bench.{kind}.{uuid.uuid4().hex[:8]}",
        "--sim-url",
        ctx.sim.url,
        "--token",
        infra.TOKEN,
        "--routing",
        str(ctx.routing),
        "--max-events",
        str(max_events),
        "--max-seconds",
        str(max_seconds),
    ]
    started = time.monotonic()
    proc = infra.spawn(args, None, ctx.log(f"{kind}-{latency_ms:g}ms"), ctx.source)
    sampler = Sampler(ctx.pids(proc.pid)).start()
    ended = await infra.reap(proc, max_seconds + 90, started)
    samples = sampler.stop()
    accepted = await ctx.sim.accepted()
    figures = _steady(samples, accepted)
    figures.update(
        exit_code=ended.returncode,
        wall_s=round(ended.wall_s, 2),
        peak_rss_mb=round(sampler.peak_rss_mb("measured"), 1),
    )
    return figures


async def rss_drain(ctx: Context, topic: str, expected: int, timeout_s: float) -> dict[str, Any]:
    """Peak RSS while the engine drains a backlog of ``expected`` events (simulator at 0 ms)."""
    figures = await engine_backlog(ctx, topic, expected, 0.0, timeout_s, name="engine-rss")
    await ctx.sim.reset(0.0)  # free the simulator's ledger of 100k sends
    return figures


async def profile_engine(
    ctx: Context, topic: str, latency_ms: float, out: Path, timeout_s: float
) -> dict[str, Any]:
    """A backlog run with ``py-spy record`` attached; returns the hottest frames (self and total)."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        return {"error": "py-spy not installed (pip install -e '.[bench]')"}
    await ctx.sim.reset(latency_ms)
    env = consumer_env(ctx, topic, f"bench.profile.{uuid.uuid4().hex[:8]}", infra.free_port())
    proc = infra.spawn(_consumer_cmd("--until-drained"), env, ctx.log("engine-profile"), ctx.source)
    recorder = infra.spawn(
        [
            spy,
            "record",
            "--pid",
            str(proc.pid),
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        None,
        ctx.log("py-spy"),
    )
    ended = await infra.reap(proc, timeout_s)
    await infra.reap(recorder, 30)
    try:
        collapsed = await asyncio.to_thread(out.read_text, encoding="utf-8", errors="replace")
    except OSError:
        return {"exit_code": ended.returncode, "error": "py-spy wrote no profile"}
    summary = summarise(collapsed)
    return {"exit_code": ended.returncode, "collapsed_stacks": str(out), **summary}
