"""What the benchmark starts and talks to: local Kafka, the simulator process, topics, events, children.

Everything binds or connects to 127.0.0.1 only. Every wait is bounded: a child that outlives its
deadline gets SIGTERM, then SIGKILL. Children are reaped with ``os.wait4`` so their own resource usage
(CPU seconds, peak RSS) is known exactly, independent of the /proc sampling.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.figures import parse_iso
from consumer.route import send_id
from hubspot_simulator.process import SimulatorProcess

ROOT = Path(__file__).resolve().parent.parent
KAFKA_SCRIPT = ROOT / "deploy" / "local" / "kafka.py"
ROUTING = ROOT / "consumer" / "samples" / "routing.yaml"
TOKEN = "bench-token-0001"
EVENT_TYPE = "com.example.user.signed_up.v1"
ROUTE = "welcome"  # the route of EVENT_TYPE in ROUTING: part of every sendId
HEADERS = [("content-type", b"application/cloudevents+json")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------------------- Kafka


@dataclass(slots=True)
class Kafka:
    bootstrap: str
    state: Path | None  # None: an existing broker (KAFKA_BOOTSTRAP_SERVERS), left alone
    pid: int | None
    version: str

    @classmethod
    def start(cls, state: Path) -> Kafka:
        existing = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if existing:
            return cls(existing, None, None, "external")
        cmd = [sys.executable, str(KAFKA_SCRIPT), "start", "--port", "0", "--state-dir", str(state), "--json"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"local Kafka did not start: {(out.stderr or out.stdout).strip()[-2000:]}")
        info = json.loads(out.stdout.strip().splitlines()[-1])
        pid_file = state / "node-1" / "pid"
        pid = int(pid_file.read_text().strip()) if pid_file.exists() else None
        return cls(str(info["bootstrap"]), state, pid, str(info.get("version", "?")))

    def stop(self) -> None:
        if self.state is not None:
            subprocess.run(
                [sys.executable, str(KAFKA_SCRIPT), "stop", "--state-dir", str(self.state)],
                capture_output=True,
                check=False,
                timeout=120,
            )


async def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()


# ------------------------------------------------------------------------------------------ events


def event(i: int, source: str) -> dict[str, Any]:
    """A valid ``user.signed_up`` CloudEvent (the welcome route: one Single Send request)."""
    return {
        "specversion": "1.0",
        "id": f"evt-{i:07d}",
        "source": source,
        "type": EVENT_TYPE,
        "datacontenttype": "application/json",
        "subject": f"usr_{i:07d}",
        "data": {
            "user_id": f"usr_{i:07d}",
            "email": f"user{i}@example.com",
            "first_name": "Bench",
            "last_name": f"User{i}",
            "plan": "starter",
            "locale": "en",
        },
    }


def sid(i: int, source: str) -> str:
    """The sendId the consumer derives for :func:`event` ``(i, source)``."""
    return send_id(source, f"evt-{i:07d}", ROUTE)


def _producer(bootstrap: str, linger_ms: int) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=linger_ms,
        max_batch_size=256 * 1024,
    )


async def produce_backlog(bootstrap: str, topic: str, count: int, source: str) -> float:
    """Publish ``count`` events (structured mode, keyed by user) and wait for every ack; returns seconds."""
    started = time.monotonic()
    producer = _producer(bootstrap, linger_ms=20)
    await producer.start()
    try:
        pending = []
        for i in range(count):
            ev = event(i, source)
            fut = await producer.send(topic, orjson.dumps(ev), key=ev["subject"].encode(), headers=HEADERS)
            pending.append(fut)
            if len(pending) >= 5_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.monotonic() - started


async def produce_paced(
    bootstrap: str,
    topic: str,
    count: int,
    rate: float,
    source: str,
    *,
    warmup: int = 0,
    tick_s: float = 0.005,
) -> dict[str, float]:
    """Publish ``warmup + count`` events at ``rate`` per second; returns sendId → wall time of the
    ``send()`` call of each of the last ``count`` (the ``warmup`` first ones are not measured).

    Events are released every ``tick_s`` in the number that is due by then, so the offered load is
    smooth at any rate; the producer lingers 5 ms like the service's own (included in the latency).
    """
    producer = _producer(bootstrap, linger_ms=5)
    await producer.start()
    produced: dict[str, float] = {}
    total = warmup + count
    try:
        pending = []
        start = time.monotonic()
        n = 0
        while n < total:
            due = min(total, int((time.monotonic() - start) * rate) + 1)
            while n < due:
                i = n - warmup
                ev = event(n, source + "/warmup") if i < 0 else event(i, source)
                if i >= 0:
                    produced[sid(i, source)] = time.time()
                fut = await producer.send(
                    topic, orjson.dumps(ev), key=ev["subject"].encode(), headers=HEADERS
                )
                pending.append(fut)
                n += 1
            await asyncio.sleep(tick_s)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return produced


# ------------------------------------------------------------------------------------------ children


@dataclass(frozen=True, slots=True)
class Exit:
    """How a child ended: exit code (negative: signal), its own CPU seconds and peak RSS (wait4)."""

    returncode: int
    cpu_s: float
    maxrss_mb: float
    wall_s: float
    timed_out: bool


def spawn(
    args: list[str], env: dict[str, str] | None = None, log: Path | None = None, source: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a child with output to ``log``; with ``source`` (a :func:`snapshot`), Python code is
    imported from there rather than from the working tree (``PYTHONPATH`` and the working directory)."""
    if source is not None:
        env = dict(os.environ if env is None else env, PYTHONPATH=str(source))
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            args, env=env, cwd=source, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    finally:
        if log is not None and not isinstance(out, int):
            out.close()


def snapshot(rev: str, dest: Path) -> str:
    """Extract the code of commit ``rev`` into ``dest`` (so edits in a shared working tree cannot
    change or break a running benchmark); returns the full commit id."""
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", sha, "consumer", "schemas", "bench", "deploy/local"],
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return sha


async def reap(proc: subprocess.Popen[bytes], timeout_s: float, started: float | None = None) -> Exit:
    """Wait for ``proc`` up to ``timeout_s`` (then SIGTERM, 10 s later SIGKILL) and reap it with wait4."""
    started = started if started is not None else time.monotonic()
    deadline = time.monotonic() + timeout_s
    timed_out = False
    sent_kill = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)  # noqa: ASYNC222 - WNOHANG never blocks
        if pid == proc.pid:
            break
        now = time.monotonic()
        if now > deadline and not timed_out:
            timed_out = True
            proc.send_signal(signal.SIGTERM)
            deadline = now + 10
        elif now > deadline and not sent_kill:
            sent_kill = True
            proc.kill()
        await asyncio.sleep(0.05)
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped here: Popen must not wait for it again
    return Exit(code, _cpu(usage), usage.ru_maxrss / 1024, time.monotonic() - started, timed_out)


def _cpu(usage: resource.struct_rusage) -> float:
    return float(usage.ru_utime + usage.ru_stime)


# ------------------------------------------------------------------------------------------ simulator


class Simulator(SimulatorProcess):
    """``consumer simulator`` as a separate process (its CPU is not the consumer's), with its control API."""

    def __init__(self, port: int, seed: int, email_ids: list[int], log: Path, source: Path | None) -> None:
        args = [
            sys.executable,
            "-m",
            "consumer",
            "simulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--token",
            TOKEN,
            "--seed",
            str(seed),
        ]
        for email_id in email_ids:
            args += ["--template", str(email_id)]
        super().__init__(spawn(args, log=log, source=source), port, call_timeout_s=120)

    async def reset(self, latency_ms: float) -> None:
        """Forget every send; ``reset`` restores start-up faults, so the latency is set again after it."""
        await self.call("POST", "/_simulator/reset")
        await self.faults(latency_ms=latency_ms)

    async def accepted(self) -> dict[str, float]:
        """sendId → accept time (POSIX seconds, ms precision) of every accepted send."""
        return {s["sendId"]: parse_iso(s["firstAcceptedAt"]) for s in await self.sends()}
