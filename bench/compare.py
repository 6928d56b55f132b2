"""Paired engine runs of several commits, for changes whose effect is smaller than the machine's noise.

    .venv/bin/python -m bench.compare main HEAD~1 HEAD [--events 5000] [--rounds 3] [--latencies 0,20]

Each commit is extracted into a snapshot (as ``bench.engine --at-commit`` does). Against one broker,
one simulator and one backlog topic, every round runs ``consumer run --until-drained`` once per
commit, in alternating order (a slow phase of the shared machine hits each commit alike), at each
simulator latency. Per commit and latency it prints the median and the range of the consumer's CPU
per event and of the throughput over the steady window (``bench.phases.engine_backlog``), the ratio
of the median throughput to the Little's-law bound (``--max-in-flight`` ÷ the mean request latency
at concurrency 1, probed once per latency), and how many cores other processes used meanwhile.
The raw runs go to ``--json-out``. Figures are information, never a gate.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import infra, phases
from bench.figures import littles_bound
from consumer.route import Router
from consumer.routing_loader import load_routing
from consumer.settings import Environment

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    ap.add_argument("revs", nargs="+", help="commits to compare (the first is the baseline)")
    ap.add_argument("--events", type=int, default=5_000, help="backlog events of each run")
    ap.add_argument("--rounds", type=int, default=3, help="runs per commit and latency")
    ap.add_argument("--latencies", default="0,20", help="simulator latencies in ms, comma-separated")
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--max-in-flight", type=int, default=64)
    ap.add_argument("--probe-requests", type=int, default=200)
    ap.add_argument("--json-out", type=Path, default=None, help="default bench/results/compare-<UTC>.json")
    return ap.parse_args(argv)


def summarise(runs: list[dict[str, Any]], bound: float) -> dict[str, Any]:
    """Median and range of CPU ms per event and of ev/s over ``runs``; the median's share of ``bound``."""
    cpu = [r["cpu_s_per_1000"] for r in runs if r.get("cpu_s_per_1000") is not None]
    rate = [r["throughput_per_s"] for r in runs if r.get("throughput_per_s") is not None]
    others = [r.get("others_cpu_util") or 0.0 for r in runs]
    median_rate = statistics.median(rate) if rate else None
    return {
        "runs": len(runs),
        "cpu_ms_per_event": [statistics.median(cpu), min(cpu), max(cpu)] if cpu else None,
        "events_per_s": [median_rate, min(rate), max(rate)] if rate else None,
        "bound_ratio": median_rate / bound if median_rate is not None and bound > 0 else None,
        "others_cores": [min(others), max(others)] if others else None,
    }


def render(summary: dict[str, dict[str, Any]]) -> str:
    lines = []
    for latency, at in summary.items():
        lines.append(
            f"[{latency} ms] request {at['probe_ms']:.2f} ms, Little's-law bound {at['bound']:.0f} ev/s"
        )
        for rev, s in at["by_rev"].items():
            cpu, rate, others = s["cpu_ms_per_event"], s["events_per_s"], s["others_cores"]
            cpu_text = f"{cpu[0]:.3f} ({cpu[1]:.3f}–{cpu[2]:.3f})" if cpu else "?"
            rate_text = f"{rate[0]:.0f} ({rate[1]:.0f}–{rate[2]:.0f})" if rate else "?"
            ratio = f"{s['bound_ratio']:.2f}" if s["bound_ratio"] is not None else "?"
            load = f"{others[0]:.2f}–{others[1]:.2f}" if others else "?"
            lines.append(
                f"  {rev:>16}  CPU ms/event {cpu_text}  ev/s {rate_text}  ÷ bound {ratio}  others {load}"
            )
    return "\n".join(lines)


async def measure(args: argparse.Namespace, sources: dict[str, Path], logs: Path) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="bench-kafka-"))
    kafka = await asyncio.to_thread(infra.Kafka.start, state)
    email_ids = sorted(Router.build(load_routing(infra.ROUTING), Environment.DEV).email_ids)
    sim = infra.Simulator(infra.free_port(), 1, email_ids, logs / "simulator.log", None)
    out: dict[str, Any] = {}
    try:
        await sim.open()
        topic = f"bench.compare.{uuid.uuid4().hex[:8]}"
        await infra.create_topic(kafka.bootstrap, topic, args.partitions)
        await infra.produce_backlog(kafka.bootstrap, topic, args.events, "/bench/backlog")
        ctx = phases.Context(kafka, sim, logs, args.max_in_flight, args.partitions, None)
        revs = list(sources)
        for latency in [float(x) for x in args.latencies.split(",") if x.strip()]:
            probe = await phases.probe_latency(ctx, latency, args.probe_requests)
            runs: dict[str, list[dict[str, Any]]] = {rev: [] for rev in revs}
            for k in range(args.rounds):
                for rev in revs if k % 2 == 0 else revs[::-1]:
                    ctx.source = sources[rev]
                    name = f"{rev.replace('/', '_')}-{latency:g}ms-{k}"
                    run = await phases.engine_backlog(
                        ctx, topic, args.events, latency, 120 + args.events / 50, name=name
                    )
                    runs[rev].append(run)
                    cpu = run["cpu_s_per_1000"]
                    print(
                        f"[{latency:g} ms] {rev}: {'?' if cpu is None else f'{cpu:.3f}'} CPU ms/event, "
                        f"{run['throughput_per_s']:.0f} ev/s, exit {run['exit_code']}",
                        file=sys.stderr,
                        flush=True,
                    )
            out[f"{latency:g}"] = {"probe": probe, "runs": runs}
    finally:
        await sim.close()
        await asyncio.to_thread(kafka.stop)
        shutil.rmtree(state, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.json_out or RESULTS / f"compare-{stamp}.json"
    logs = RESULTS / f"compare-{stamp}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    snapshots = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    sources: dict[str, Path] = {}
    commits: dict[str, str] = {}
    try:
        for n, rev in enumerate(args.revs):
            sources[rev] = snapshots / str(n)
            commits[rev] = infra.snapshot(rev, sources[rev])
        raw = asyncio.run(measure(args, sources, logs))
    except (RuntimeError, OSError) as exc:
        print(f"error: the comparison could not run: {exc} (logs: {logs})", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(snapshots, ignore_errors=True)
    summary = {}
    for latency, at in raw.items():
        bound = littles_bound(args.max_in_flight, at["probe"]["mean_ms"] / 1000)
        summary[latency] = {
            "probe_ms": at["probe"]["mean_ms"],
            "bound": bound,
            "by_rev": {rev: summarise(runs, bound) for rev, runs in at["runs"].items()},
        }
    report = {"benchmark": "compare", "started_at": stamp, "commits": commits, "summary": summary, "raw": raw}
    report["parameters"] = {k: v for k, v in vars(args).items() if k != "json_out"}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2, default=str))
    print(render(summary))
    print(f"JSON: {path}  logs: {logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
