"""The compose file (no Docker engine here): compose-go, the loader ``docker compose`` itself uses,
validates it against the Compose Specification; these tests check what it wires together."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup

from consumer.cli.app import app
from consumer.route import Router
from consumer.routing_loader import load_routing
from consumer.settings import Settings
from tests.deploy.conftest import DEPLOY, ROOT, is_setting, run_tool, tool

COMPOSE = DEPLOY / "compose" / "compose.yaml"
SettingsFromEnv = Callable[[Mapping[str, str]], Settings]


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    """The compose project as compose-go loads it (paths resolved against the compose file's folder)."""
    out = run_tool([tool("compose-spec"), "--format", "json", COMPOSE.name], cwd=COMPOSE.parent)
    loaded: dict[str, Any] = json.loads(out)
    return loaded


def test_compose_go_rejects_an_unknown_key(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text(
        COMPOSE.read_text(encoding="utf-8").replace("stop_grace_period:", "stop_grace:"), encoding="utf-8"
    )
    result = subprocess.run(
        [str(tool("compose-spec")), bad.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "stop_grace" in result.stderr


def test_the_demo_has_kafka_topics_simulator_events_and_consumer(project: dict[str, Any]) -> None:
    services = project["services"]
    assert set(services) == {"kafka", "topics", "simulator", "demo-events", "consumer"}
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on a missing service {dependency}"
    consumer = services["consumer"]["depends_on"]
    assert consumer["topics"]["condition"] == "service_completed_successfully"
    assert consumer["simulator"]["condition"] == "service_healthy"
    assert services["demo-events"]["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_kafka_is_the_official_image_in_kraft_mode_at_the_local_version(project: dict[str, Any]) -> None:
    kafka = project["services"]["kafka"]
    local = re.search(r'^KAFKA_VERSION = "([^"]+)"', (DEPLOY / "local" / "kafka.py").read_text(), re.M)
    assert local is not None
    assert kafka["image"] == f"apache/kafka:{local.group(1)}"
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert project["services"]["topics"]["image"] == kafka["image"]


def test_consumer_environment_is_real_settings_and_uses_the_demo_files(
    project: dict[str, Any], settings_from_env: SettingsFromEnv
) -> None:
    service = project["services"]["consumer"]
    env = service["environment"]
    assert all(is_setting(name) for name in env), sorted(n for n in env if not is_setting(n))
    settings = settings_from_env(env)
    mounts = {Path(v["target"]): Path(v["source"]) for v in service["volumes"]}
    routing = mounts[settings.routing_file]
    assert routing == DEPLOY.parent / "consumer" / "samples" / "routing.yaml"
    assert Router.build(load_routing(routing), settings.environment).email_ids
    assert settings.hubspot.base_url == "http://simulator:8025"
    assert settings.kafka.bootstrap_servers == "kafka:9092"


def test_token_file_is_the_secret_the_simulator_accepts(
    project: dict[str, Any], settings_from_env: SettingsFromEnv
) -> None:
    consumer = project["services"]["consumer"]
    settings = settings_from_env(consumer["environment"])
    (secret,) = consumer["secrets"]
    assert settings.hubspot.auth.token_file == Path("/run/secrets") / secret["source"]
    token = Path(project["secrets"][secret["source"]]["file"]).read_text(encoding="utf-8").strip()
    assert f"--token={token}" in project["services"]["simulator"]["command"]


def test_the_simulator_listens_beyond_loopback_only_with_a_control_token(project: dict[str, Any]) -> None:
    simulator = project["services"]["simulator"]
    assert "--host=0.0.0.0" in simulator["command"]
    (secret,) = simulator["secrets"]
    assert f"--control-token-file=/run/secrets/{secret['source']}" in simulator["command"]
    assert Path(project["secrets"][secret["source"]]["file"]).read_text(encoding="utf-8").strip()


def test_the_consumer_serves_its_probes_beyond_loopback(
    project: dict[str, Any], settings_from_env: SettingsFromEnv
) -> None:
    settings = settings_from_env(project["services"]["consumer"]["environment"])
    assert settings.observability.host == "0.0.0.0"  # noqa: S104 - the container's port is published


def test_topics_service_creates_the_consumers_topics_and_their_dead_letter_topics(
    project: dict[str, Any], settings_from_env: SettingsFromEnv
) -> None:
    settings = settings_from_env(project["services"]["consumer"]["environment"])
    script = project["services"]["topics"]["command"][0]
    created = set(re.search(r"for topic in ([^;]+);", script).group(1).split())  # type: ignore[union-attr]
    for topic in settings.kafka.topics:
        assert {topic, settings.dlq.topic_for(topic)} <= created


def test_demo_events_publish_the_sample_file_with_a_valid_publish_command(project: dict[str, Any]) -> None:
    service = project["services"]["demo-events"]
    ((source, target),) = [(Path(v["source"]), v["target"]) for v in service["volumes"]]
    assert source == DEPLOY.parent / "consumer" / "samples" / "sample-events.ndjson"
    assert source.exists()
    args = [str(a) for a in service["command"]]
    assert args[0] == "publish"
    assert target in args
    assert "--allow-invalid" in args  # the poison samples are the point of the demo
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    publish = root.get_command(root.make_context("consumer", list(args)), "publish")
    assert publish is not None
    publish.make_context("publish", args[1:])  # raises on an unknown option or a missing argument


def test_every_bind_mount_and_build_context_exists(project: dict[str, Any]) -> None:
    for service in project["services"].values():
        for volume in service.get("volumes", []):
            assert Path(volume["source"]).exists(), volume["source"]
        if "build" in service:
            assert Path(service["build"]["context"]) == ROOT
            assert (ROOT / service["build"]["dockerfile"]).exists()


def test_consumer_stops_gracefully_within_the_grace_period(
    project: dict[str, Any], settings_from_env: SettingsFromEnv
) -> None:
    consumer = project["services"]["consumer"]
    settings = settings_from_env(consumer["environment"])
    grace_s = int(consumer["stop_grace_period"].rstrip("s"))
    assert consumer["stop_signal"] == "SIGTERM"
    assert grace_s >= settings.engine.drain_deadline_s + 15
    published = {p["published"]: p for p in consumer["ports"]}
    assert published[str(settings.observability.port)]["host_ip"] == "127.0.0.1"
