"""``consumer demo``: the whole product on one machine, with no HubSpot account and no Docker.

1. start the local Apache Kafka of ``deploy/local/kafka.py`` (or use ``--bootstrap``);
2. start the HubSpot simulator in-process with the routing file's dev templates and a bounce rule;
3. publish the sample events (valid ones, a poison record, an invalid address, a bouncing recipient,
   an expired password reset) to ``demo.events``;
4. run the consumer until every partition is committed to its end;
5. print what happened — sent, terminal, dead-lettered (by reason), committed offsets — and leave
   Kafka running so the dead-letter topic can be inspected with ``consumer dlq inspect``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pydantic import SecretStr

from consumer.errors import ConfigError
from consumer.ops.publish import publish
from consumer.ops.publish_input import Options, prepare_records
from consumer.redact import mask_email
from consumer.route import Router
from consumer.routing_loader import load_router, load_routing
from consumer.service import Service
from consumer.settings import (
    AuthSettings,
    EngineSettings,
    Environment,
    HubSpotSettings,
    KafkaSettings,
    ObservabilitySettings,
    RateLimitSettings,
)
from consumer.settings_loader import load_settings
from hubspot_simulator import RecipientRule, SimulatorConfig, Template, start_simulator

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / "deploy" / "local"
TOPIC = "demo.events"
DEMO_TOKEN = "demo-private-app-token"
BOUNCE = "bounce@example.com"


@dataclass(slots=True)
class DemoSummary:
    bootstrap: str
    topic: str
    published: int
    outcomes: dict[str, int]
    dead_letters: dict[str, int]
    emails: list[dict[str, object]]
    committed: dict[str, int]
    seconds: float
    metrics_port: int
    started_kafka: bool = False  # the demo started the local Kafka (not one given with --bootstrap)
    notes: list[str] = field(default_factory=list)


def start_local_kafka(port: int) -> str:
    script = LOCAL / "kafka.py"
    if not script.exists():
        raise ConfigError("the demo runs from a source checkout (deploy/local/kafka.py); or pass --bootstrap")
    out = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(script), "start", "--port", str(port), "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if out.returncode != 0:
        raise ConfigError(f"local Kafka did not start: {(out.stderr or out.stdout).strip()}")
    return str(json.loads(out.stdout.strip().splitlines()[-1])["bootstrap"])


async def publish_samples(settings: KafkaSettings, topic: str, path: Path) -> int:
    """Create ``topic`` (3 partitions) and publish the samples as ``consumer publish`` does, invalid
    ones included (they are the point of the demo)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()
    data = await asyncio.to_thread(path.read_bytes)
    records = prepare_records(data, Options(), allow_invalid=True)
    summary = await publish(settings, topic, records, mode="structured")
    return summary.published


async def count_dead_letters(bootstrap: str, topic: str) -> dict[str, int]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    reasons: Counter[str] = Counter()
    try:
        while batch := await consumer.getmany(timeout_ms=1500):
            for records in batch.values():
                for r in records:
                    reasons[dict(r.headers).get("ssc.reason", b"?").decode()] += 1
    finally:
        await consumer.stop()
    return dict(reasons)


async def run_demo(
    *,
    bootstrap: str | None,
    kafka_port: int,
    events: Path,
    routing: Path,
    topic: str = TOPIC,
    metrics_port: int = 0,
) -> DemoSummary:
    started_kafka = bootstrap is None
    if bootstrap is None:
        bootstrap = await asyncio.to_thread(start_local_kafka, kafka_port)
    router = Router.build(load_routing(routing), Environment.DEV)
    sim = await start_simulator(
        SimulatorConfig(
            tokens=(DEMO_TOKEN,),
            templates=tuple(Template(i) for i in sorted(router.email_ids)),
            rules=(RecipientRule(BOUNCE, "PREVIOUSLY_BOUNCED"),),
            complete_after_ms=500,
            seed=1,
        )
    )
    try:
        kafka = KafkaSettings(bootstrap_servers=bootstrap, topics=(topic,), group_id=f"{topic}.consumer")
        settings = load_settings(  # the demo's own settings; the environment's SSC_* are checked too
            routing_file=routing,
            kafka=kafka,
            hubspot=HubSpotSettings(
                base_url=sim.url,
                auth=AuthSettings(token=SecretStr(DEMO_TOKEN)),
                rate_limit=RateLimitSettings(requests_per_interval=1_000, interval_ms=10_000),
            ),
            engine=EngineSettings(commit_interval_ms=200),
            observability=ObservabilitySettings(host="127.0.0.1", port=metrics_port, log_level="WARNING"),
        )
        published = await publish_samples(kafka, topic, events)
        service = Service(settings, load_router(settings))
        result = await service.run(until_drained=True)
        emails = [
            {"to": mask_email(str(s["to"])), "emailId": s["emailId"], "sendId": str(s["sendId"])[:12] + "…"}
            for s in sim.state.sends_json()
        ]
        return DemoSummary(
            bootstrap=bootstrap,
            topic=topic,
            published=published,
            outcomes=result.counts.by_outcome,
            dead_letters=await count_dead_letters(bootstrap, settings.dlq.topic_for(topic)),
            emails=emails,
            committed=result.counts.committed,
            seconds=round(result.seconds, 2),
            metrics_port=service.http.port if service.http else 0,
            started_kafka=started_kafka,
        )
    finally:
        await sim.stop()
