"""Helpers for engine scenarios on the real broker and the simulator: events, settings, reading back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import SecretStr

from consumer.routing_loader import load_router, load_routing
from consumer.service import RunResult, Service
from consumer.settings import (
    AuthSettings,
    DeadLetterSettings,
    EngineSettings,
    HubSpotSettings,
    KafkaSettings,
    ObservabilitySettings,
    RateLimitSettings,
    RetrySettings,
    Settings,
)
from hubspot_simulator import RecipientRule, RunningSimulator, SimulatorConfig, Template

ROOT = Path(__file__).resolve().parents[2]
ROUTING = ROOT / "consumer" / "samples" / "routing.yaml"
TOKEN = "sim-engine-token-0001"
SIGNUP = "com.example.user.signed_up.v1"
BOUNCE = "bounce@example.com"


def dev_email_ids() -> list[int]:
    return sorted({r.email_id["dev"] for r in load_routing(ROUTING).routes})


WELCOME_EMAIL_ID = 10001


def sim_config(**fields: Any) -> SimulatorConfig:
    """The simulator as the engine scenarios need it: the dev templates, one token, a bounce rule.

    The welcome template requires ``lastname`` and a missing template property answers HTTP 400, so a
    sign-up without ``last_name`` (:func:`signup` with ``poison=True``) is valid for our schema but
    rejected by "HubSpot" — a PERMANENT outcome that must be dead-lettered.
    """
    base: dict[str, Any] = {
        "tokens": (TOKEN,),
        "templates": tuple(
            Template(i, ("lastname",) if i == WELCOME_EMAIL_ID else ()) for i in dev_email_ids()
        ),
        "rules": (RecipientRule(BOUNCE, "PREVIOUSLY_BOUNCED"),),
        "missing_properties_status": 400,
        "seed": 11,
    }
    base.update(fields)
    return SimulatorConfig(**base)


def signup(
    i: int, *, email: str | None = None, source: str = "/test/signup", poison: bool = False
) -> dict[str, Any]:
    """A valid ``user.signed_up`` CloudEvent with a stable id (``poison``: HubSpot will answer 400)."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": f"evt-{i:06d}",
        "source": source,
        "type": SIGNUP,
        "datacontenttype": "application/json",
        "data": {
            "user_id": f"usr_{i:06d}",
            "email": email or f"user{i}@example.com",
            "first_name": "Test",
            "last_name": f"User{i}",
            "plan": "starter",
        },
    }
    if poison:
        del event["data"]["last_name"]
    return event


def settings_for(
    bootstrap: str,
    topic: str,
    sim: RunningSimulator,
    *,
    group: str | None = None,
    hubspot: dict[str, Any] | None = None,
    **engine: Any,
) -> Settings:
    """Settings for one member against ``sim``; ``engine`` and ``hubspot`` override those sections."""
    eng: dict[str, Any] = {
        "max_in_flight": 64,
        "commit_interval_ms": 200,
        "probe_interval_s": 0.5,
        "max_probe_interval_s": 2.0,
        "revoke_wait_s": 5.0,  # below the 10 s session (= rebalance) timeout of these tests
    }
    eng.update(engine)
    hs: dict[str, Any] = {
        "base_url": sim.url,
        "auth": AuthSettings(token=SecretStr(TOKEN)),
        "connect_timeout_s": 2.0,
        "read_timeout_s": 2.0,
        "retry": RetrySettings(initial_backoff_s=0.05, max_backoff_s=0.5, budget_s=10.0),
        "rate_limit": RateLimitSettings(requests_per_interval=100_000, interval_ms=1_000),
    }
    hs.update(hubspot or {})
    return Settings(
        routing_file=ROUTING,
        kafka=KafkaSettings(
            bootstrap_servers=bootstrap,
            topics=(topic,),
            group_id=group or f"g.{topic}",
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
        ),
        dlq=DeadLetterSettings(),
        hubspot=HubSpotSettings(**hs),
        engine=EngineSettings(**eng),
        observability=ObservabilitySettings(host="127.0.0.1", port=0),
    )


async def produce(
    bootstrap: str, topic: str, events: Iterable[dict[str, Any] | bytes], *, key: str = "subject"
) -> int:
    """Publish events in structured mode (raw bytes are published as they are); returns the count."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    n = 0
    try:
        futures = []
        for ev in events:
            if isinstance(ev, bytes):
                value, k = ev, None
            else:
                value = orjson.dumps(ev)
                k = str(ev.get(key) or ev.get("data", {}).get("user_id") or ev["id"]).encode()
            futures.append(
                await producer.send(
                    topic, value=value, key=k, headers=[("content-type", b"application/cloudevents+json")]
                )
            )
            n += 1
        await producer.flush()
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return n


async def run_until_drained(settings: Settings, timeout_s: float = 90.0) -> RunResult:
    service = Service(settings, load_router(settings))
    return await asyncio.wait_for(service.run(until_drained=True), timeout_s)


@dataclass(frozen=True, slots=True)
class DlqRecord:
    key: bytes | None
    value: bytes
    headers: dict[str, str]


async def read_all(bootstrap: str, topic: str, *, idle_ms: int = 1500) -> list[DlqRecord]:
    """Every record of ``topic`` from the beginning (no group), until nothing arrives for ``idle_ms``."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    out: list[DlqRecord] = []
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=idle_ms)
            if not batch:
                break
            for records in batch.values():
                out.extend(DlqRecord(r.key, r.value, {k: v.decode() for k, v in r.headers}) for r in records)
    finally:
        await consumer.stop()
    return out


async def committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in range(partitions)}
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        ends = await consumer.end_offsets(tps)
        return {tp.partition: off for tp, off in ends.items()}
    finally:
        await consumer.stop()
