"""``consumer dlq replay`` against the real broker and, end to end, the engine and the simulator.

The central promise: because the ``sendId`` is derived from the event, a replay never sends an e-mail
twice — even when it replays records whose e-mails HubSpot already accepted.
"""

from __future__ import annotations

import getpass
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from consumer.outcome import Reason
from consumer.route import send_id
from hubspot_simulator import Template
from schemas.samples import format_time
from tests.conftest import CreateTopic
from tests.fixtures_simulator import StartSim
from tests.integration.harness import (
    ROUTING,
    dev_email_ids,
    end_offsets,
    produce,
    read_all,
    run_until_drained,
    settings_for,
    signup,
    sim_config,
)
from tests.integration.test_ops_support import (
    ctx,
    dead_lettered,
    invoke,
    one_line_error,
    permanent,
    service_env,
    source,
    write_dead_letters,
    write_raw_dead_letter,
)

pytestmark = pytest.mark.kafka

PAYMENT_FAILED = "com.example.billing.subscription_payment_failed.v1"


def payment_failed(i: int) -> dict[str, Any]:
    """Routed twice: the dunning e-mail (route payment-failed) and a note to billing (billing-team)."""
    return {
        "specversion": "1.0",
        "id": f"pay-{i:04d}",
        "source": "/billing/subscriptions",
        "type": PAYMENT_FAILED,
        "subject": f"sub_{i:04d}",
        "time": format_time(datetime.now(UTC)),
        "data": {
            "subscription_id": f"sub_{i:04d}",
            "customer": {
                "customer_id": f"cus_{i:04d}",
                "email": f"payer{i}@example.org",
                "first_name": "Lena",
                "last_name": "Berg",
            },
            "plan": "pro",
            "amount": {"amount": "29.00", "currency": "USD"},
            "failure_reason": "card_expired",
            "attempt": 1,
            "update_payment_url": f"https://billing.example.com/pay?s=sub_{i:04d}",
        },
    }


def fixed_routing(tmp_path: Path) -> Path:
    """The routing file after the fix: the dunning template's required ``lastname`` is now mapped."""
    config = yaml.safe_load(ROUTING.read_text())
    (route,) = [r for r in config["routes"] if r["name"] == "payment-failed"]
    assert "lastname" not in route["contact_properties"]
    route["contact_properties"]["lastname"] = "data.customer.last_name"
    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def sources(*topics: str) -> dict[str, str]:
    """The environment of a deployment consuming ``topics`` (the implicit replay targets)."""
    return {"SSC_KAFKA__TOPICS": orjson.dumps(list(topics)).decode()}


def ledger_send_ids(path: Path) -> Counter[str]:
    return Counter(orjson.loads(line)["sendId"] for line in path.read_bytes().splitlines())


async def test_a_replay_never_sends_an_email_twice_even_for_emails_already_accepted(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim, tmp_path: Path
) -> None:
    topic = await create_topic(partitions=2)
    dlq = f"{topic}.dlq"
    ledger = tmp_path / "ledger.ndjson"
    # The dunning template (10007) requires `lastname`, which the deployed routing does not map: HubSpot
    # answers 400 for that route while the billing-team route of the same event is accepted.
    templates = tuple(Template(i, ("lastname",) if i in (10001, 10007) else ()) for i in dev_email_ids())
    sim = await start_sim(sim_config(templates=templates, ledger=ledger))
    signups = [signup(i) for i in range(6)]
    payments = [payment_failed(i) for i in range(3)]
    await produce(kafka_bootstrap, topic, [*signups, *payments])
    settings = settings_for(kafka_bootstrap, topic, sim)

    first = await run_until_drained(settings)

    assert first.counts.by_outcome == {"SENT": 6, "PERMANENT": 3}
    assert sum(ledger_send_ids(ledger).values()) == 6 + 3  # welcome x6, billing-team x3
    # Records whose e-mails were accepted land in the DLQ too (say, written there by hand or by an
    # older release): replaying them must not e-mail anybody again.
    copied = permanent(Reason.BAD_REQUEST, "copied by hand")
    accepted = [(source(topic, 100 + i, e), copied, ctx(e)) for i, e in enumerate(signups)]
    await write_dead_letters(kafka_bootstrap, topic, accepted)

    listing = await invoke("dlq", "inspect", "-t", dlq, "--json", "--bootstrap", kafka_bootstrap)
    summary = orjson.loads(listing.stdout)["summary"]
    assert (summary["selected"], summary["by_event_type"]) == (
        9,
        {"com.example.user.signed_up.v1": 6, PAYMENT_FAILED: 3},
    )
    env = service_env(kafka_bootstrap, topic, sim, routing=fixed_routing(tmp_path))
    before = await end_offsets(kafka_bootstrap, topic, 2)

    dry = await invoke("dlq", "replay", "--all", "--revalidate", "--dry-run", "--json", env=env)

    assert dry.exit_code == 0, dry.stderr
    assert orjson.loads(dry.stdout)["by_topic"] == {topic: 9}
    assert await end_offsets(kafka_bootstrap, topic, 2) == before  # a dry run publishes nothing

    done = await invoke("dlq", "replay", "--all", "--revalidate", "--rate", "500", "--json", env=env)

    assert done.exit_code == 0, done.stderr
    assert orjson.loads(done.stdout)["replayed"] == 9
    second = await run_until_drained(settings.model_copy(update={"routing_file": fixed_routing(tmp_path)}))

    assert second.counts.by_outcome == {"SENT": 9}
    sends = ledger_send_ids(ledger)
    assert set(sends.values()) == {1}  # every sendId accepted exactly once, across both runs
    assert sum(sends.values()) == 6 + 3 + 3  # the only new e-mails are the 3 dunning ones the fix enabled
    expected = {send_id(e["source"], e["id"], "welcome") for e in signups} | {
        send_id(e["source"], e["id"], route)
        for e in payments
        for route in ("payment-failed", "payment-failed-billing-team")
    }
    assert set(sends) == expected
    assert sim.state.duplicates_prevented == 6 + 3  # the replays HubSpot ignored: IDEMPOTENT_IGNORE
    assert len(await read_all(kafka_bootstrap, dlq, idle_ms=800)) == 9  # nothing dead-lettered again


async def test_replay_keeps_key_value_and_headers_and_adds_provenance(
    kafka_bootstrap: str, create_topic: CreateTopic, topic_name: str
) -> None:
    dlq = await dead_lettered(kafka_bootstrap, topic_name)
    target = await create_topic(name=f"{topic_name}.again")

    result = await invoke(
        "dlq",
        "replay",
        "-t",
        dlq,
        "--reason",
        "MISSING_TEMPLATE_PROPERTIES",
        "--to-topic",
        target,
        "--bootstrap",
        kafka_bootstrap,
    )

    assert result.exit_code == 0, result.stderr
    assert "replayed 2 of 2" in result.stdout
    original = await read_all(kafka_bootstrap, dlq, idle_ms=800)
    replayed = await read_all(kafka_bootstrap, target, idle_ms=800)
    assert [(r.key, r.value) for r in replayed] == [(r.key, r.value) for r in original[:2]]
    headers = replayed[0].headers
    assert headers["content-type"] == "application/cloudevents+json"
    assert not [
        k for k in headers if k.startswith(("__connect.errors.", "ssc.")) and not k.startswith("ssc.replay.")
    ]
    provenance = ("dlq-topic", "dlq-partition", "dlq-offset", "count")
    assert [headers[f"ssc.replay.{name}"] for name in provenance] == [dlq, "0", "0", "1"]
    assert headers["ssc.replay.id"] == replayed[1].headers["ssc.replay.id"]  # one id per run
    assert datetime.fromisoformat(headers["ssc.replay.at"]) <= datetime.now(UTC)
    assert headers["ssc.replay.by"] == getpass.getuser()


async def test_a_forged_source_topic_header_cannot_redirect_a_replay(
    kafka_bootstrap: str, create_topic: CreateTopic, topic_name: str
) -> None:
    """Anyone who can write to the DLQ can name any topic in __connect.errors.topic; a replay goes
    only to configured source topics unless the operator names the target."""
    configured = await create_topic(name=topic_name)
    victim = await create_topic(name=f"{topic_name}.payments")
    dlq = await create_topic(name=f"{topic_name}.dlq")
    now_ms = int(time.time() * 1000)
    for offset, (topic, event) in enumerate([(configured, signup(1)), (victim, signup(2))]):
        record, outcome = source(topic, offset, event), permanent(Reason.NO_ROUTE)
        await write_raw_dead_letter(kafka_bootstrap, dlq, record, outcome, ctx(event), now_ms)
    env = sources(configured)
    flags = ("--json", "--by", "ops-jane", "--bootstrap", kafka_bootstrap)

    result = await invoke("dlq", "replay", "-t", dlq, "--all", *flags, env=env)

    assert result.exit_code == 1, result.stderr  # one record skipped
    doc = orjson.loads(result.stdout)
    assert doc["by_topic"] == {configured: 1}
    why = f"{victim} is not a configured source topic: name the target with --to-topic"
    assert doc["skipped"] == [{"dlq": "0:1", "reason": why}]
    assert await end_offsets(kafka_bootstrap, victim, 1) == {0: 0}
    (replayed,) = await read_all(kafka_bootstrap, configured, idle_ms=800)
    assert replayed.headers["ssc.replay.by"] == "ops-jane"

    target = ("--partition", "0:1", "--to-topic", victim, "--bootstrap", kafka_bootstrap)
    named = await invoke("dlq", "replay", "-t", dlq, *target, env=env)

    assert named.exit_code == 0, named.stderr
    assert await end_offsets(kafka_bootstrap, victim, 1) == {0: 1}


async def test_dry_run_lists_what_would_be_replayed_and_what_revalidation_skips(
    kafka_bootstrap: str, topic_name: str
) -> None:
    dlq = await dead_lettered(kafka_bootstrap, topic_name)

    result = await invoke(
        "dlq",
        "replay",
        "-t",
        dlq,
        "--all",
        "--revalidate",
        "--dry-run",
        "--bootstrap",
        kafka_bootstrap,
        env=sources(topic_name),
    )

    assert result.exit_code == 1  # some records would be skipped
    out = result.stdout
    assert "dry run: would replay 2 of 6" in out
    assert f"-> {topic_name}" in out
    assert "skip: invalid_json" in out
    assert "skip: schema_violation" in out
    assert "skip: unknown_event_type" in out
    assert await end_offsets(kafka_bootstrap, topic_name, 1) == {0: 0}


async def test_revalidation_skips_and_lists_what_still_fails_and_replays_the_rest(
    kafka_bootstrap: str, create_topic: CreateTopic, topic_name: str
) -> None:
    dlq = await dead_lettered(kafka_bootstrap, topic_name)
    await create_topic(name=topic_name)

    result = await invoke(
        "dlq",
        "replay",
        "-t",
        dlq,
        "--all",
        "--revalidate",
        "--json",
        "--bootstrap",
        kafka_bootstrap,
        env=sources(topic_name),
    )

    assert result.exit_code == 1
    doc = orjson.loads(result.stdout)
    assert doc["replayed"] == 2
    assert [s["dlq"] for s in doc["skipped"]] == ["0:2", "0:3", "0:4", "0:5"]
    assert doc["skipped"][0]["reason"].startswith(
        "schema_violation: com.example.order.confirmed.v1 data invalid"
    )
    assert await end_offsets(kafka_bootstrap, topic_name, 1) == {0: 2}


async def test_replaying_everything_needs_a_filter_or_all(kafka_bootstrap: str, topic_name: str) -> None:
    dlq = await dead_lettered(kafka_bootstrap, topic_name)
    result = await invoke("dlq", "replay", "-t", dlq, "--bootstrap", kafka_bootstrap)
    assert result.exit_code == 2
    assert (
        one_line_error(result.stderr)
        == f"error: refusing to replay every record of {dlq}: add a filter, or --all"
    )


async def test_replay_from_an_unreachable_broker_is_one_line() -> None:
    result = await invoke(
        "dlq", "replay", "-t", "x.dlq", "--all", "--bootstrap", "127.0.0.1:1", "--timeout", "2"
    )
    assert result.exit_code == 2
    assert one_line_error(result.stderr).startswith("error: cannot reach Kafka at 127.0.0.1:1")
