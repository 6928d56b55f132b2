"""How long partitions stay unowned when a member stops: dynamic vs static membership, leaving or not.

Two members share a topic; member A stops. Scale-in (A does not come back): seconds until every
partition is owned again. Restart (A comes back under the same id after ``--restart-gap`` seconds):
seconds until A owns partitions again, and how many rebalances the survivor B went through (each one
revokes all of B's partitions: aiokafka's eager protocol). Modes: ``dynamic`` (no instance id: aiokafka
sends LeaveGroup), ``static`` (instance id, no LeaveGroup: the broker waits for the session timeout),
``static+leave`` (instance id, and the member leaves on stop: ``SSC_KAFKA__LEAVE_GROUP_ON_STOP``).

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:29092 .venv/bin/python -m bench.membership --session-timeout-ms 10000

Prints one JSON document; numbers are information, never a gate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from consumer.kafka import build_consumer
from consumer.membership import leave_after_stop
from consumer.settings import KafkaSettings

MODES = ("dynamic", "static", "static+leave")


class _Counter(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.revocations = 0

    async def on_partitions_revoked(self, revoked: Any) -> None:
        if revoked:
            self.revocations += 1

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None


class _Member:
    def __init__(self, settings: KafkaSettings, topic: str) -> None:
        self.settings = settings
        self.consumer: AIOKafkaConsumer = build_consumer(settings)
        self.listener = _Counter()
        self.consumer.subscribe([topic], listener=self.listener)
        self.task: asyncio.Task[None] | None = None
        self.stopping = asyncio.Event()

    async def start(self) -> None:
        await self.consumer.start()
        self.task = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        while not self.stopping.is_set():
            await self.consumer.getmany(timeout_ms=100)

    @property
    def owned(self) -> int:
        return len(self.consumer.assignment())

    async def stop(self) -> None:
        self.stopping.set()
        if self.task is not None:
            await self.task
        await self.consumer.stop()
        await leave_after_stop(self.settings, finished=False)


async def _until(condition: Callable[[], bool], timeout_s: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise TimeoutError
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def _group(bootstrap: str, partitions: int, session_ms: int, mode: str) -> Callable[[str], _Member]:
    topic = f"bench-membership-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()

    def member(name: str) -> _Member:
        settings = KafkaSettings(
            bootstrap_servers=bootstrap,
            topics=(topic,),
            group_id=f"g.{topic}",
            group_instance_id=None if mode == "dynamic" else name,
            leave_group_on_stop=mode == "static+leave",
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=1_000,
        )
        return _Member(settings, topic)

    return member


async def _two_members(member: Callable[[str], _Member], partitions: int) -> tuple[_Member, _Member]:
    a, b = member("a"), member("b")
    await a.start()
    await b.start()
    await _until(lambda: a.owned > 0 and b.owned > 0 and a.owned + b.owned == partitions, 60)
    return a, b


async def scale_in(bootstrap: str, partitions: int, session_ms: int, mode: str) -> dict[str, Any]:
    a, b = await _two_members(await _group(bootstrap, partitions, session_ms, mode), partitions)
    await a.stop()
    unowned = await _until(lambda: b.owned == partitions, session_ms / 1000 * 3)
    await b.stop()
    return {"unowned_s": round(unowned, 2), "survivor_rebalances": b.listener.revocations}


async def restart(
    bootstrap: str, partitions: int, session_ms: int, mode: str, gap_s: float
) -> dict[str, Any]:
    member = await _group(bootstrap, partitions, session_ms, mode)
    a, b = await _two_members(member, partitions)
    before = b.listener.revocations
    await a.stop()
    stopped = time.monotonic()
    await asyncio.sleep(gap_s)
    again = member("a")
    await again.start()
    await _until(lambda: again.owned > 0 and again.owned + b.owned == partitions, session_ms / 1000 * 3)
    back = time.monotonic() - stopped
    await again.stop()
    await b.stop()
    return {"a_back_after_s": round(back, 2), "survivor_rebalances": b.listener.revocations - before}


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "session_timeout_ms": args.session_timeout_ms,
        "partitions": args.partitions,
        "restart_gap_s": args.restart_gap,
        "scale_in": {},
        "restart": {},
    }
    for mode in MODES:
        report["scale_in"][mode] = await scale_in(
            args.bootstrap, args.partitions, args.session_timeout_ms, mode
        )
        report["restart"][mode] = await restart(
            args.bootstrap, args.partitions, args.session_timeout_ms, mode, args.restart_gap
        )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--session-timeout-ms", type=int, default=10_000)
    parser.add_argument("--restart-gap", type=float, default=3.0, help="seconds a restarting member is away")
    report = asyncio.run(_measure(parser.parse_args()))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
