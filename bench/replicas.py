"""The replica benchmark: how well 1, 2 and 4 consumer processes of one group share one HubSpot budget.

    .venv/bin/python -m bench.replicas [--quick] [--replicas 1,2,4] [--limit 50/1s] [--events 1500]
        [--strategies partitions,static]

For each replica count, with and without another app of the same credential using ``--other``
(30 %) of the limit, and for each strategy, it fills a fresh topic of ``--partitions`` (12)
partitions with ``--events`` events (spread evenly over the partitions), starts that many real
``consumer run`` processes of one new group against a real broker (a local one unless
``KAFKA_BOOTSTRAP_SERVERS`` is set) and the simulator (its own process, ``--rate-limit LIMIT`` with
HubSpot's rate-limit headers), waits until the simulator has accepted every event, and stops them.
Strategies: ``partitions`` (the default: each replica's part of the app's window is its part of the
group's partitions) and the baseline ``static`` (``replica_share = 1/replicas``, no partition share),
measured in the same run. Traffic stays on 127.0.0.1; every wait is bounded.

Figures per run, up to the moment the first replica ran out of work: from the first accepted email,
the consumers' accepted rate as a share of the budget left to them (the limit minus what the other
app had accepted in that window) and the share of the consumers' requests refused with a 429; from
the moment the last replica received its final partitions (before it, the first member sent for
partitions that later moved), the least busy replica's part of its fair share (accepted emails of
the partitions it owned ÷ the mean over replicas). The exit code does not depend on the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer

from bench import infra
from bench.figures import Check, parse_iso, table
from hubspot_simulator.config import parse_rate_limit
from hubspot_simulator.process import SimulatorProcess

RESULTS = infra.ROOT / "bench" / "results"
SEND_PATH = "/marketing/v3/transactional/single-email/send"


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicas", default="1,2,4", help="replica counts, comma-separated")
    ap.add_argument("--limit", default="50/1s", help="the simulator's rate limit N/INTERVAL (headers on)")
    ap.add_argument("--other", type=float, default=0.3, help="the other app's part of the limit")
    ap.add_argument("--events", type=int, default=1500, help="backlog per run")
    ap.add_argument("--partitions", type=int, default=12)
    ap.add_argument("--max-in-flight", type=int, default=16)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--timeout", type=float, default=180.0, help="at most this long per run, s")
    ap.add_argument("--strategies", default="partitions,static", help="strategies to run, comma-separated")
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 replicas, a small backlog")
    ap.add_argument("--json-out", type=Path, default=None, help="default bench/results/replicas-<UTC>.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.replicas, args.events = "2", 600
    return args


async def produce(bootstrap: str, topic: str, count: int, partitions: int, source: str) -> dict[str, int]:
    """``count`` events spread evenly over the partitions; returns sendId → partition."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    await producer.start()
    where: dict[str, int] = {}
    try:
        sent = []
        for i in range(count):
            ev = infra.event(i, source)
            part = i % partitions
            where[infra.sid(i, source)] = part
            sent.append(await producer.send(topic, orjson.dumps(ev), partition=part, headers=infra.HEADERS))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return where


class OtherApp:
    """Another app of the same credential, sending at a fixed rate through its own loop."""

    def __init__(self, url: str, rate: float) -> None:
        self.url, self.rate = url + SEND_PATH, rate
        self.accepted: list[float] = []
        self.refused = 0

    async def run(self) -> None:
        if self.rate <= 0:
            return
        headers = {"Authorization": f"Bearer {infra.TOKEN}", "Content-Type": "application/json"}
        async with aiohttp.ClientSession() as http:
            n, started = 0, time.monotonic()
            while True:
                n += 1
                body = {
                    "emailId": 1001,
                    "message": {"to": f"o{n}@example.com", "sendId": f"other-{uuid.uuid4()}"},
                }
                async with http.post(self.url, data=orjson.dumps(body), headers=headers) as resp:
                    await resp.read()
                    if resp.status == 429:
                        self.refused += 1
                    elif resp.status == 200:
                        self.accepted.append(time.time())
                await asyncio.sleep(max(0.0, started + n / self.rate - time.monotonic()))


def consumer_env(args: argparse.Namespace, kafka: str, sim: str, topic: str, group: str) -> dict[str, str]:
    limit, interval_ms = parse_rate_limit(args.limit)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSC_")}
    env.update(
        SSC_ROUTING_FILE=str(infra.ROUTING),
        SSC_KAFKA__BOOTSTRAP_SERVERS=kafka,
        SSC_KAFKA__TOPICS=f'["{topic}"]',
        SSC_KAFKA__GROUP_ID=group,
        SSC_HUBSPOT__BASE_URL=sim,
        SSC_HUBSPOT__AUTH__TOKEN=infra.TOKEN,
        SSC_HUBSPOT__RATE_LIMIT__REQUESTS_PER_INTERVAL=str(limit),
        SSC_HUBSPOT__RATE_LIMIT__INTERVAL_MS=str(interval_ms),
        SSC_ENGINE__MAX_IN_FLIGHT=str(args.max_in_flight),
        SSC_OBSERVABILITY__HOST="127.0.0.1",
        SSC_OBSERVABILITY__PORT=str(infra.free_port()),
        SSC_OBSERVABILITY__LOG_LEVEL="INFO",
    )
    return env


def owned_partitions(log: Path) -> tuple[list[int], float]:
    """The partitions of the last ``rebalance.assigned`` event in a consumer's JSON log before it was
    told to stop (the members stopped first hand their partitions to the others on the way out),
    and when it came (POSIX seconds; -inf without one)."""
    owned: list[int] = []
    at = float("-inf")
    for line in log.read_bytes().splitlines():
        if b"service.signal" in line:
            break
        if b"rebalance.assigned" in line:
            event = orjson.loads(line)
            owned = [int(p.rsplit("-", 1)[1]) for p in event.get("partitions", [])]
            at = parse_iso(event["timestamp"])
    return owned, at


async def one_run(
    args: argparse.Namespace, kafka: infra.Kafka, *, replicas: int, strategy: str, other: float, logs: Path
) -> dict[str, Any]:
    limit, interval_ms = parse_rate_limit(args.limit)
    port = infra.free_port()
    cmd = [sys.executable, "-m", "consumer", "simulator", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--token", infra.TOKEN, "--rate-limit", args.limit, "--latency-ms", str(args.latency_ms)]
    name = f"{replicas}x-{strategy}-other{other:g}"
    sim = SimulatorProcess(infra.spawn(cmd, log=logs / f"simulator-{name}.log"), port)
    await sim.open()
    topic, group = f"bench.replicas.{uuid.uuid4().hex[:8]}", f"bench.replicas.{uuid.uuid4().hex[:8]}"
    await infra.create_topic(kafka.bootstrap, topic, args.partitions)
    where = await produce(kafka.bootstrap, topic, args.events, args.partitions, f"bench/{topic}")
    other_app = OtherApp(sim.url, other * limit / (interval_ms / 1000))
    procs, consumer_logs = [], []
    for n in range(replicas):
        env = consumer_env(args, kafka.bootstrap, sim.url, topic, group)
        if strategy == "static":
            env["SSC_HUBSPOT__RATE_LIMIT__REPLICA_SHARE"] = str(1 / replicas)
            env["SSC_HUBSPOT__RATE_LIMIT__SHARE_BY_PARTITIONS"] = "false"
        consumer_logs.append(logs / f"consumer-{name}-{n}.log")
        procs.append(infra.spawn([sys.executable, "-m", "consumer", "run"], env, consumer_logs[-1]))
    other_task = asyncio.ensure_future(other_app.run())
    deadline = time.monotonic() + args.timeout
    try:
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            sends = {s["sendId"]: s for s in await sim.sends()}
            if sum(1 for sid in where if sid in sends) >= args.events:
                break
        stats = await sim.stats()
    finally:
        other_task.cancel()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            await infra.reap(p, 30.0)
        await sim.close()
    accepted = {sid: parse_iso(s["firstAcceptedAt"]) for sid, s in sends.items() if sid in where}
    final = [owned_partitions(log) for log in consumer_logs]
    owners = {part: n for n, (owned, _) in enumerate(final) for part in owned}
    settled = max((at for _, at in final), default=float("-inf"))
    return figures(
        args,
        stats,
        accepted=accepted,
        where=where,
        owners=owners,
        settled=settled,
        replicas=replicas,
        other_app=other_app,
    )


def figures(
    args: argparse.Namespace,
    stats: dict[str, Any],
    *,
    accepted: dict[str, float],
    where: dict[str, int],
    owners: dict[int, int],
    settled: float,
    replicas: int,
    other_app: OtherApp,
) -> dict[str, Any]:
    limit, interval_ms = parse_rate_limit(args.limit)
    by_replica: dict[int, list[float]] = defaultdict(list)
    for sid, t in accepted.items():
        by_replica[owners.get(where[sid], -1)].append(t)
    start = min(accepted.values(), default=0.0)
    end = min((max(ts) for ts in by_replica.values()), default=start)  # the first to run out of work
    seconds = max(end - start, 1e-9)
    in_window = {n: sum(1 for t in ts if start <= t <= end) for n, ts in by_replica.items()}
    others = sum(1 for t in other_app.accepted if start <= t <= end)
    budget = limit / (interval_ms / 1000) * seconds - others
    requests = stats["requests"] - len(other_app.accepted) - other_app.refused
    refused = int(stats["by_status"].get("429", 0)) - other_app.refused
    shared = {n: sum(1 for t in ts if max(start, settled) <= t <= end) for n, ts in by_replica.items()}
    mean = sum(shared.values()) / max(1, replicas)
    return {
        "accepted": len(accepted),
        "window_s": round(seconds, 2),
        "shared_window_s": round(max(0.0, end - max(start, settled)), 2),
        "budget_share": sum(in_window.values()) / budget if budget > 0 else float("nan"),
        "refused_share": refused / requests if requests else float("nan"),
        "least_fair_share": min(shared.values()) / mean if mean and len(shared) == replicas else 0.0,
        "per_replica": {str(n): c for n, c in sorted(in_window.items())},
        "per_replica_shared": {str(n): c for n, c in sorted(shared.items())},
        "per_second": per_second(list(accepted.values()), start, end),
        "other_per_second": per_second(other_app.accepted, start, end),
        "other_app_accepted_in_window": others,
        "unowned_partitions": -1 in by_replica,
    }


def per_second(times: list[float], start: float, end: float) -> list[int]:
    """Accepted emails in each whole second from ``start`` to ``end`` (where the budget went)."""
    counts = [0] * max(0, int(end - start))
    for t in times:
        if start <= t and int(t - start) < len(counts):
            counts[int(t - start)] += 1
    return counts


def checks(results: dict[str, dict[str, Any]]) -> list[Check]:
    out = []
    for name, r in results.items():
        target = name.split("-")[1] == "partitions"
        out.append(Check(f"{name}: budget used", 100 * r["budget_share"], "%", 95.0 if target else None))
        out.append(Check(f"{name}: 429s", 100 * r["refused_share"], "%", 1.0 if target else None, False))
        out.append(
            Check(f"{name}: least busy / fair", 100 * r["least_fair_share"], "%", 80.0 if target else None)
        )
    return out


async def main_async(args: argparse.Namespace) -> int:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.json_out or RESULTS / f"replicas-{stamp}.json"
    logs = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    kafka = infra.Kafka.start(logs / "kafka")
    results: dict[str, dict[str, Any]] = {}
    try:
        for replicas in (int(r) for r in args.replicas.split(",")):
            for other in (0.0, args.other):
                for strategy in args.strategies.split(","):
                    name = f"{replicas}x-{strategy}-other{other:g}"
                    results[name] = await one_run(
                        args, kafka, replicas=replicas, strategy=strategy, other=other, logs=logs
                    )
                    print(f"{name}: {results[name]}", flush=True)
    finally:
        kafka.stop()
    print(table(checks(results)))
    out.parent.mkdir(parents=True, exist_ok=True)
    saved = {"parameters": {k: str(v) for k, v in vars(args).items()}, "runs": results}
    out.write_bytes(orjson.dumps(saved, option=orjson.OPT_INDENT_2))
    print(f"JSON: {out}; logs: {logs}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(main())
