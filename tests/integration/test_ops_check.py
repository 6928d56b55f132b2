"""``consumer check`` against the real broker and the simulator: usable, or a readable reason per check."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from hubspot_simulator import OAuthClient
from tests.conftest import CreateTopic
from tests.fixtures_simulator import StartSim
from tests.integration.harness import ROUTING, TOKEN, sim_config
from tests.integration.test_ops_support import invoke, run_process, service_env

pytestmark = pytest.mark.kafka


def checks(stdout: str) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in orjson.loads(stdout)["checks"]}


async def test_a_usable_deployment_passes_every_check_and_joins_no_group(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic(partitions=3)
    sim = await start_sim(sim_config())
    env = service_env(kafka_bootstrap, topic, sim)

    result = await invoke("check", "--json", env=env)

    assert result.exit_code == 0, result.stdout + result.stderr
    found = checks(result.stdout)
    assert list(found) == [
        "settings",
        "routing",
        "kafka",
        f"topic {topic}",
        f"group g.{topic}",
        f"dlq {topic}.dlq",
        "dlq producer",
        "hubspot credential",
        "hubspot api",
    ]
    assert all(c["ok"] for c in found.values())
    assert found[f"topic {topic}"]["detail"] == "exists (3 partitions)"
    assert "0/3 partitions committed" in found[f"group g.{topic}"]["detail"]
    assert "the broker creates it on the first dead letter" in found[f"dlq {topic}.dlq"]["detail"]
    assert "8 routes for dev" in found["routing"]["detail"]
    assert found["hubspot api"]["detail"].startswith(f"{sim.url}: credential accepted")
    assert sim.state.sends_json() == []  # nothing was sent
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        (group,) = await admin.describe_consumer_groups([f"g.{topic}"])
    finally:
        await admin.close()
    # A group someone joined and left is "Empty"; one only asked for its offsets does not exist ("Dead").
    assert group.groups[0][2] == "Dead"
    assert f"{topic}.dlq" not in await _topics(kafka_bootstrap)  # the check created no topic


@pytest.mark.parametrize(("reset", "lag"), [("earliest", 70), ("latest", 0)])
async def test_the_lag_of_a_group_without_commits_is_the_backlog_its_reset_policy_reads(
    kafka_bootstrap: str, create_topic: CreateTopic, reset: str, lag: int
) -> None:
    topic = await create_topic(partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for i in range(70):
            await producer.send(topic, b"{}", partition=i % 2)
        await producer.flush()
    finally:
        await producer.stop()
    env = {**service_env(kafka_bootstrap, topic), "SSC_KAFKA__AUTO_OFFSET_RESET": reset}

    result = await invoke("check", "--json", env=env)

    detail = checks(result.stdout)[f"group g.{topic}"]["detail"]
    assert (
        f"0/2 partitions committed, lag {lag}: 2 partitions without a commit start at the {reset} offset"
        in detail
    )


async def _topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def test_a_missing_topic_and_a_rejected_token_fail_with_readable_reasons(
    kafka_bootstrap: str, topic_name: str, start_sim: StartSim
) -> None:
    sim = await start_sim(sim_config())
    env = service_env(kafka_bootstrap, topic_name, sim, SSC_HUBSPOT__AUTH__TOKEN="not-the-token-0001")

    result = await invoke("check", env=env)

    assert result.exit_code == 1
    lines = {line.split("│")[0].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert "FAIL" in lines[f"topic {topic_name}"]
    assert "does not exist" in lines[f"topic {topic_name}"]
    assert "FAIL" in lines["hubspot api"]
    assert "HTTP 401" in lines["hubspot api"]
    assert "not-the-token-0001" not in result.stdout
    assert "NOT usable: 2 check(s) failed" in result.stdout


async def test_a_credential_of_another_portal_fails_the_check_naming_both_portals(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic()
    sim = await start_sim(sim_config(portal_id=3001, token_portals=((TOKEN, 1001),)))
    env = service_env(kafka_bootstrap, topic, sim)

    wrong = await invoke("check", "--json", env={**env, "SSC_HUBSPOT__PORTAL_ID": "3001"})
    right = await invoke("check", "--json", env={**env, "SSC_HUBSPOT__PORTAL_ID": "1001"})

    assert wrong.exit_code == 1
    failed = checks(wrong.stdout)["hubspot portal"]
    assert not failed["ok"]
    assert "wrong_portal" in failed["detail"]
    assert "portal 1001" in failed["detail"]
    assert "portal 3001" in failed["detail"]
    assert "hubspot api" not in checks(wrong.stdout)
    assert right.exit_code == 0, right.stdout
    assert checks(right.stdout)["hubspot portal"]["ok"]


async def test_oauth_refresh_is_checked_before_the_authenticated_call(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic()
    sim = await start_sim(
        sim_config(tokens=(), oauth_clients=(OAuthClient("app-1", "secret-1", "refresh-1"),))
    )
    oauth = {
        "SSC_HUBSPOT__AUTH__MODE": "oauth",
        "SSC_HUBSPOT__AUTH__OAUTH_CLIENT_ID": "app-1",
        "SSC_HUBSPOT__AUTH__OAUTH_CLIENT_SECRET": "secret-1",
    }
    env = {**service_env(kafka_bootstrap, topic), "SSC_HUBSPOT__BASE_URL": sim.url, **oauth}

    good = await invoke("check", "--json", env={**env, "SSC_HUBSPOT__AUTH__OAUTH_REFRESH_TOKEN": "refresh-1"})
    bad = await invoke("check", "--json", env={**env, "SSC_HUBSPOT__AUTH__OAUTH_REFRESH_TOKEN": "revoked-1"})

    assert good.exit_code == 0, good.stdout
    assert checks(good.stdout)["hubspot oauth refresh"]["ok"]
    assert bad.exit_code == 1
    failed = checks(bad.stdout)
    assert not failed["hubspot oauth refresh"]["ok"]
    assert failed["hubspot oauth refresh"]["detail"].startswith("OAuth refresh refused (HTTP 400")
    assert "hubspot api" not in failed
    assert "revoked-1" not in bad.stdout


async def test_an_unreachable_broker_fails_fast_and_the_hubspot_checks_still_run(start_sim: StartSim) -> None:
    sim = await start_sim(sim_config())
    env = service_env("127.0.0.1:1", "events", sim)
    started = time.monotonic()

    result = await invoke("check", "--json", "--timeout", "2", env=env)

    assert result.exit_code == 1
    found = checks(result.stdout)
    assert (
        found["kafka"]["detail"]
        == "cannot reach Kafka at 127.0.0.1:1: no broker answered (connection refused or timed out)"
    )
    assert "topic events" not in found
    assert found["hubspot api"]["ok"]
    assert time.monotonic() - started < 8


async def test_invalid_settings_are_the_one_failed_check_naming_the_variable(kafka_bootstrap: str) -> None:
    env = {**service_env(kafka_bootstrap, "events"), "SSC_KAFKA__SESSION_TIMEOUT_MS": "5"}
    result = await invoke("check", "--json", env=env)
    assert result.exit_code == 2
    (only,) = orjson.loads(result.stdout)["checks"]
    assert only["name"] == "settings"
    assert only["detail"].startswith("SSC_KAFKA__SESSION_TIMEOUT_MS:")


async def test_a_routing_file_without_ids_for_the_environment_fails_and_the_other_checks_run(
    kafka_bootstrap: str, create_topic: CreateTopic, tmp_path: Path
) -> None:
    topic = await create_topic()
    config = yaml.safe_load(ROUTING.read_text())
    del config["routes"][0]["email_id"]["prod"]
    routing = tmp_path / "routing.yaml"
    routing.write_text(yaml.safe_dump(config))
    env = {**service_env(kafka_bootstrap, topic, routing=routing), "SSC_ENVIRONMENT": "prod"}

    result = await invoke("check", "--json", env=env)

    found = checks(result.stdout)
    assert result.exit_code == 1
    assert (
        found["routing"]["detail"]
        == "SSC_ROUTING_FILE: no email_id for environment 'prod' in route(s) 'welcome'"
    )
    assert found["kafka"]["ok"]
    assert "hubspot credential" in found


async def test_an_unreadable_token_file_is_a_settings_problem(kafka_bootstrap: str, tmp_path: Path) -> None:
    env = {
        **service_env(kafka_bootstrap, "events"),
        "SSC_HUBSPOT__AUTH__TOKEN_FILE": str(tmp_path / "missing"),
    }
    result = await invoke("check", "--json", env=env)
    assert result.exit_code == 2
    (only,) = orjson.loads(result.stdout)["checks"]
    assert (only["name"], only["ok"]) == ("settings", False)
    assert only["detail"].startswith("SSC_HUBSPOT__AUTH__TOKEN_FILE: cannot read the secret file ")


async def test_check_as_a_startup_probe_exits_0_then_1_as_a_real_process(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic()
    sim = await start_sim(sim_config())
    env = service_env(kafka_bootstrap, topic, sim)

    ok = await run_process("check", env=env)
    broken = await run_process("check", env={**env, "SSC_HUBSPOT__AUTH__TOKEN": "wrong-token-0001"})

    assert ok[0] == 0, ok
    assert "usable" in ok[1]
    assert broken[0] == 1
    assert "Traceback" not in broken[1] + broken[2]


async def test_a_sasl_setting_without_its_password_fails_the_kafka_check_naming_the_variable() -> None:
    sasl = {
        "SSC_KAFKA__SECURITY__PROTOCOL": "SASL_PLAINTEXT",
        "SSC_KAFKA__SECURITY__SASL_MECHANISM": "PLAIN",
        "SSC_KAFKA__SECURITY__SASL_USERNAME": "consumer",
    }
    result = await invoke("check", "--json", env={**service_env("127.0.0.1:1", "events"), **sasl})
    assert result.exit_code == 1
    assert checks(result.stdout)["kafka"]["detail"] == (
        "SSC_KAFKA__SECURITY__SASL_PASSWORD: a SASL password is required"
    )
