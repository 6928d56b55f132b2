"""Staging a chaos run: the members' environment, the simulator's configuration, the topics, the
artifact directory (cleaned before, manifest and commit samples written after)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.chaos.cluster import SASL_USER, Cluster, replication_settings
from tests.chaos.evidence import Evidence
from tests.chaos.generator import BOUNCE_DOMAIN, Canaries
from tests.chaos.procs import PIDS, ROOT, cleanup
from tests.chaos.profiles import Profile

ROUTING = ROOT / "consumer" / "samples" / "routing.yaml"
DLQ_PARTITIONS = 3
RATE_BUDGET = 1_000_000
DEV_EMAIL_IDS = ("10001:lastname", "10002", "10003", "10004", "10005", "10006", "10007", "10008")


def consumer_env(
    profile: Profile, cluster: Cluster, canaries: Canaries, *, sim_url: str, topic: str, group: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSC_")}
    env.update(profile.tuning.env())
    env.update(
        SSC_ENVIRONMENT="dev",
        SSC_ROUTING_FILE=str(ROUTING),
        SSC_KAFKA__BOOTSTRAP_SERVERS=cluster.sasl_bootstrap,
        SSC_KAFKA__TOPICS=f'["{topic}"]',
        SSC_KAFKA__GROUP_ID=group,
        SSC_KAFKA__SECURITY__PROTOCOL="SASL_PLAINTEXT",
        SSC_KAFKA__SECURITY__SASL_MECHANISM="PLAIN",
        SSC_KAFKA__SECURITY__SASL_USERNAME=SASL_USER,
        SSC_KAFKA__SECURITY__SASL_PASSWORD=canaries.sasl_password,
        SSC_HUBSPOT__BASE_URL=sim_url,
        SSC_HUBSPOT__AUTH__TOKEN=canaries.token,
        SSC_OBSERVABILITY__HOST="127.0.0.1",
        SSC_OBSERVABILITY__LOG_LEVEL="DEBUG",
        SSC_OBSERVABILITY__LOG_FORMAT="json",
    )
    return env


def sim_config(profile: Profile, seed: int, canaries: Canaries, ledger: Path) -> dict[str, Any]:
    return {
        "token": [canaries.token],
        "template": list(DEV_EMAIL_IDS),
        "bounce": [f"*@{BOUNCE_DOMAIN}"],
        "missing_properties_status": 400,
        # a budget far above what a run sends, so every answer carries X-HubSpot-RateLimit-* like
        # HubSpot's do (the limiter adapts from them); the injected 429s are the only throttling
        "rate_limit": f"{RATE_BUDGET}/10s",
        "latency_ms": profile.latency_ms,
        "latency_jitter_ms": profile.latency_jitter_ms,
        "rate_429": profile.rate_429,
        "error_rate": profile.error_500,
        "error_status": [500],
        "hang_rate": profile.hang_rate,
        "hang_s": profile.hang_s,
        "ledger": str(ledger),
        "seed": seed,
    }


async def create_topics(cluster: Cluster, topic: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    await admin.start()
    try:
        rf = min(3, cluster.nodes)
        await admin.create_topics(
            [NewTopic(topic, partitions, rf), NewTopic(f"{topic}.dlq", DLQ_PARTITIONS, rf)]
        )
    finally:
        await admin.close()


async def cluster_facts(cluster: Cluster, topic: str) -> dict[str, Any]:
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    await admin.start()
    try:
        return {
            "nodes": cluster.nodes,
            "start_s": cluster.start_s,
            **await replication_settings(admin, topic),
        }
    finally:
        await admin.close()


ARTIFACTS = (
    "ledger.jsonl",
    "requests.jsonl",
    "simulator.log",
    "report.json",
    "summary.txt",
    "summary.json",
    "consumer-*.log",
    "manifest.jsonl",
    "commits.jsonl",
    PIDS,
)


def clean(out: Path) -> None:
    """Remove the artifacts of an earlier run in ``out`` (the ledger and logs are appended to)."""
    out.mkdir(parents=True, exist_ok=True)
    cleanup(out)  # processes an earlier, crashed run in ``out`` may have left
    for pattern in ARTIFACTS:
        for path in out.glob(pattern):
            path.unlink()


def save_artifacts(out: Path, ev: Evidence) -> None:
    """The manifest (where each event landed, when it was published) and every commit sample, for
    investigating a failure after the fact (no addresses: events are named by index)."""
    with (out / "manifest.jsonl").open("wb") as fh:
        for e in ev.events:
            fh.write(
                orjson.dumps(
                    [e.index, e.kind.value, e.send_id, ev.placed.get(e.index), ev.sent_at.get(e.index)]
                )
            )
            fh.write(b"\n")
    with (out / "commits.jsonl").open("wb") as fh:
        for s in ev.samples:
            fh.write(orjson.dumps(s.to_json(), option=orjson.OPT_NON_STR_KEYS) + b"\n")
