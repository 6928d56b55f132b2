"""The rate-discovery benchmark: how fast the client finds a hidden HubSpot limit and how close it holds.

    .venv/bin/python -m bench.ratelimit [--quick] [--limit 500/10s] [--refusal 429|throttled] [...]

Each run starts ``consumer simulator`` as its own process with ``--rate-limit LIMIT --hidden-limit
REFUSAL`` (a rolling limit it does not publish: no ``X-HubSpot-RateLimit-*`` headers, and it refuses
with a 429 or a 200 ``THROTTLED``), then drives the real :class:`HubSpotClient` with an endless
backlog (``--concurrency`` senders) for ``--seconds``, from a cold start. ``discover`` (the default
mode) runs ``--repeat`` times; the fixed-cap baseline (``mode: fixed`` at the safe start rate, what
the limiter did before) runs once in the same invocation. Traffic stays on 127.0.0.1 and every run is
bounded in time.

Figures per run, all as shares of the hidden limit's rate: the accepted rate in the third ten seconds
(20-30 s: "within 30 s"), the accepted rate in the steady window (from ``--steady-from`` to the end),
the share of attempts refused in the steady window and over the whole run. The table reports the
median run and the spread; the exit code does not depend on the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import SecretStr

from bench import infra
from bench.figures import Check, table
from consumer.hubspot.client import HubSpotClient
from consumer.hubspot.request import SingleSendRequest
from consumer.logs import configure as configure_logs
from consumer.outcome import Outcome, OutcomeClass
from consumer.settings import AuthSettings, HubSpotSettings, RateLimitSettings, RetrySettings
from hubspot_simulator.config import parse_rate_limit
from hubspot_simulator.process import SimulatorProcess

EMAIL_ID = 1001
RESULTS = infra.ROOT / "bench" / "results"


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.ratelimit", description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", default="500/10s", help="the simulator's hidden limit N/INTERVAL")
    ap.add_argument("--refusal", default="429", choices=["429", "throttled"], help="how it refuses")
    ap.add_argument("--start", type=int, default=100, help="safe start (and fixed cap) per interval")
    ap.add_argument("--seconds", type=float, default=120.0, help="length of one run")
    ap.add_argument("--steady-from", type=float, default=60.0, help="start of the steady window, s")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the discovering limiter")
    ap.add_argument("--concurrency", type=int, default=32, help="senders with an endless backlog")
    ap.add_argument("--latency-ms", type=float, default=20.0, help="simulator latency")
    ap.add_argument("--quick", action="store_true", help="smoke run: one 45 s run of each")
    ap.add_argument("--json-out", type=Path, default=None, help="default bench/results/ratelimit-<UTC>.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.seconds, args.steady_from, args.repeat = 45.0, 30.0, 1
    return args


class Attempts:
    """Every attempt the client reports: (seconds since the run started, refused?)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.seen: list[tuple[float, bool]] = []

    def __call__(self, outcome: Outcome, _sent_at: float) -> None:
        refused = outcome.cls is OutcomeClass.THROTTLE
        if refused or outcome.cls is OutcomeClass.SENT:
            self.seen.append((time.monotonic() - self.started, refused))


async def one_run(args: argparse.Namespace, mode: str, run: int, logs: Path) -> dict[str, Any]:
    limit, interval_ms = parse_rate_limit(args.limit)
    port = infra.free_port()
    cmd = [sys.executable, "-m", "consumer", "simulator", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--token", infra.TOKEN, "--template", str(EMAIL_ID), "--seed", str(run)]
    cmd += ["--rate-limit", args.limit, "--hidden-limit", args.refusal, "--latency-ms", str(args.latency_ms)]
    sim = SimulatorProcess(infra.spawn(cmd, log=logs / f"simulator-{mode}-{run}.log", source=None), port)
    await sim.open()
    settings = HubSpotSettings(
        base_url=sim.url,
        auth=AuthSettings(token=SecretStr(infra.TOKEN)),
        retry=RetrySettings(initial_backoff_s=0.05, max_backoff_s=1.0, budget_s=60.0),
        rate_limit=RateLimitSettings.model_validate(
            {"requests_per_interval": args.start, "interval_ms": interval_ms, "mode": mode}
        ),
    )
    attempts = Attempts()
    trace: list[tuple[float, float | None]] = []
    try:
        async with HubSpotClient(settings, max_in_flight=args.concurrency, observer=attempts) as client:
            attempts.started = time.monotonic()
            deadline = attempts.started + args.seconds
            senders = [_sender(client, deadline, f"{mode}-{run}-{i}") for i in range(args.concurrency)]
            pace = asyncio.ensure_future(_sample_pace(client, trace))
            await asyncio.gather(*senders)
            pace.cancel()
    finally:
        await sim.close()
    return {**figures(attempts.seen, limit / (interval_ms / 1000), args), "pace": trace}


async def _sample_pace(client: HubSpotClient, trace: list[tuple[float, float | None]]) -> None:
    """The discovered rate and limit (requests/s) once a second: where a dip comes from."""
    while True:
        found = client.limiter.discovery
        if found is not None:
            trace.append((round(found.rate, 2), None if found.ceiling is None else round(found.ceiling, 2)))
        await asyncio.sleep(1.0)


async def _sender(client: HubSpotClient, deadline: float, prefix: str) -> None:
    n = 0
    while time.monotonic() < deadline:
        n += 1
        body = {"emailId": EMAIL_ID, "message": {"to": f"u{n}@example.com", "sendId": f"{prefix}-{n}"}}
        try:
            await asyncio.wait_for(
                client.send(SingleSendRequest.model_validate(body)), deadline - time.monotonic()
            )
        except TimeoutError:
            return


def figures(seen: list[tuple[float, bool]], limit_per_s: float, args: argparse.Namespace) -> dict[str, Any]:
    def accepted(start: float, end: float) -> float:
        return sum(1 for t, refused in seen if start <= t < end and not refused) / (end - start) / limit_per_s

    def refused(start: float, end: float) -> float:
        window = [r for t, r in seen if start <= t < end]
        return sum(window) / len(window) if window else float("nan")

    end = args.seconds
    return {
        "share_20_30s": accepted(20.0, 30.0),
        "share_steady": accepted(args.steady_from, end),
        "refused_steady": refused(args.steady_from, end),
        "refused_overall": refused(0.0, end),
        "attempts": len(seen),
        "per_second": [round(accepted(float(s), s + 1.0), 3) for s in range(int(end))],
    }


def checks(discover: list[dict[str, Any]], fixed: dict[str, Any]) -> list[Check]:
    med = {k: statistics.median(r[k] for r in discover) for k in ("share_20_30s", "share_steady")}
    worst = {k: max(r[k] for r in discover) for k in ("refused_steady", "refused_overall")}
    return [
        Check("discover: share of the limit at 20-30 s (median)", 100 * med["share_20_30s"], "%", 90.0),
        Check("discover: share of the limit, steady (median)", 100 * med["share_steady"], "%", 97.0),
        Check(
            "discover: refused, steady (worst run)", 100 * worst["refused_steady"], "%", 0.5, at_least=False
        ),
        Check(
            "discover: refused, overall (worst run)", 100 * worst["refused_overall"], "%", 2.0, at_least=False
        ),
        Check("fixed cap (baseline): share of the limit, steady", 100 * fixed["share_steady"], "%"),
        Check("fixed cap (baseline): refused, overall", 100 * fixed["refused_overall"], "%"),
    ]


def spread(discover: list[dict[str, Any]]) -> str:
    keys = ("share_20_30s", "share_steady", "refused_steady", "refused_overall")
    return "\n".join(f"  {k}: " + ", ".join(f"{100 * r[k]:.2f} %" for r in discover) for k in keys)


async def main_async(args: argparse.Namespace) -> int:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.json_out or RESULTS / f"ratelimit-{stamp}.json"
    logs = Path(tempfile.mkdtemp(prefix="bench-ratelimit-"))
    discover = [await one_run(args, "discover", run, logs) for run in range(args.repeat)]
    fixed = await one_run(args, "fixed", args.repeat, logs)
    print(table(checks(discover, fixed)))
    print(
        f"runs ({args.limit} hidden, refusal {args.refusal}, {args.seconds:.0f} s each):\n{spread(discover)}"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    saved = {"parameters": {k: str(v) for k, v in vars(args).items()}, "discover": discover, "fixed": fixed}
    out.write_bytes(orjson.dumps(saved, option=orjson.OPT_INDENT_2))
    print(f"JSON: {out}; simulator logs: {logs}")
    return 0


def main(argv: list[str] | None = None) -> int:
    configure_logs("WARNING", "console")
    return asyncio.run(main_async(parse_args(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(main())
