"""The container image without Docker: the Dockerfile's shape, its health check script against the real
observability server, and its two install steps run for real (wheels -> fresh virtual environment)."""

from __future__ import annotations

import asyncio
import fnmatch
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from consumer.observability import Health, HttpServer
from consumer.settings import ObservabilitySettings
from hubspot_simulator import RunningSimulator
from tests.conftest import CreateTopic
from tests.deploy.conftest import DEPLOY, ROOT
from tests.deploy.test_lock import pins
from tests.fixtures_simulator import SIM_TOKEN

# Building the wheels from the lock and installing them takes a minute on a quiet machine, several
# under load: the module's tests get a longer limit than the suite's default.
pytestmark = pytest.mark.timeout(900)

DOCKERFILE = DEPLOY / "Dockerfile"
PRINT_PACKAGE_PATHS = "import consumer, schemas; print(consumer.__file__, schemas.__file__)"
IMAGE = DEPLOY / "image"
SBOM = "sbom.cdx.json"


def project_version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    result = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (k, _) in enumerate(steps) if k == "FROM")
    return steps[last_from:]


def test_image_is_multi_stage_on_a_slim_python_base() -> None:
    steps = instructions()
    args = dict(a.split("=", 1) for k, a in steps if k == "ARG" and "=" in a)
    stages = [a for k, a in steps if k == "FROM"]
    assert len(stages) >= 2
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?@sha256:[0-9a-f]{64}", args["PYTHON_IMAGE"])
    assert all(s.startswith("${PYTHON_IMAGE}") for s in stages)


def test_image_runs_as_a_numeric_non_root_user_and_stops_on_sigterm() -> None:
    last = final_stage()
    (user,) = [a for k, a in last if k == "USER"]
    uid, _, gid = user.partition(":")
    assert uid.isdigit()
    assert gid.isdigit()
    assert int(uid) >= 1000
    assert int(gid) >= 1000
    assert ("STOPSIGNAL", "SIGTERM") in last
    assert ("ENTRYPOINT", '["consumer"]') in last
    (expose,) = [a for k, a in last if k == "EXPOSE"]
    assert int(expose) == ObservabilitySettings().port


def test_the_image_serves_probes_beyond_loopback_while_the_setting_defaults_to_loopback() -> None:
    assert ObservabilitySettings().host == "127.0.0.1"
    env = " ".join(args for keyword, args in final_stage() if keyword == "ENV")
    assert "SSC_OBSERVABILITY__HOST=0.0.0.0" in env.split()


def test_health_check_calls_the_healthz_script() -> None:
    (check,) = [a for k, a in final_stage() if k == "HEALTHCHECK"]
    assert "/usr/local/lib/single-send-consumer/healthcheck.py" in check
    copies = [a for k, a in final_stage() if k == "COPY"]
    assert any(
        a.startswith("deploy/image/healthcheck.py /usr/local/lib/single-send-consumer/") for a in copies
    )


def test_no_secret_is_baked_into_the_image() -> None:
    secretish = re.compile(r"TOKEN|SECRET|PASSWORD|HAPIKEY|API_KEY", re.IGNORECASE)
    for keyword, args in instructions():
        if keyword in {"ENV", "ARG", "LABEL"}:
            assert not secretish.search(args), f"{keyword} {args}"
        if keyword in {"COPY", "ADD"}:
            assert ".env" not in args.split()
            assert "secret" not in args.lower()


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last matching pattern wins; ``!`` re-includes."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern[1:] if negate else pattern
        body = body.rstrip("/")
        if fnmatch.fnmatch(path, body) or path.startswith(body + "/"):
            ignored = not negate
    return ignored


def test_everything_the_dockerfile_copies_exists_and_is_in_the_build_context() -> None:
    ignore = DEPLOY / "Dockerfile.dockerignore"
    patterns = [
        line.strip() for line in ignore.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    sources = []
    for keyword, args in instructions():
        if keyword == "COPY" and not args.startswith("--from"):
            sources += args.split()[:-1]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not _ignored(source.rstrip("/"), patterns), f"{source} is excluded by {ignore.name}"
    assert _ignored(".venv", patterns)
    assert _ignored("tests", patterns)


# ------------------------------------------------------------------------------------- health check


def _healthcheck(port: int) -> int:
    env = {"PATH": os.environ.get("PATH", ""), "SSC_OBSERVABILITY__PORT": str(port)}
    result = subprocess.run(
        [sys.executable, str(IMAGE / "healthcheck.py")], env=env, capture_output=True, timeout=30, check=False
    )
    return result.returncode


@pytest.mark.parametrize(("alive", "expected"), [(True, 0), (False, 1)])
async def test_health_check_script_follows_healthz(alive: bool, expected: int) -> None:
    server = HttpServer(lambda: Health(alive=alive, ready=False, detail={}), "127.0.0.1", 0)
    await server.start()
    try:
        assert await asyncio.to_thread(_healthcheck, server.port) == expected
    finally:
        await server.stop()


async def test_health_check_script_fails_when_nothing_listens() -> None:
    server = HttpServer(lambda: Health(alive=True, ready=True, detail={}), "127.0.0.1", 0)
    await server.start()
    port = server.port
    await server.stop()
    assert await asyncio.to_thread(_healthcheck, port) == 1


# --------------------------------------------------------------------------------- install, for real


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's build steps, without Docker: wheels of the checkout, a fresh venv, its SBOM."""
    work = tmp_path_factory.mktemp("image")
    env = {**os.environ, "PYTHON": sys.executable}
    for step in (
        [str(IMAGE / "build-wheels.sh"), str(ROOT), str(work / "wheels")],
        [str(IMAGE / "install-wheels.sh"), str(work / "wheels"), str(work / "venv")],
        [
            str(IMAGE / "sbom.sh"),
            str(work / "venv"),
            str(ROOT / "requirements" / "sbom.txt"),
            str(work / SBOM),
        ],
    ):
        result = subprocess.run(step, env=env, capture_output=True, text=True, timeout=600, check=False)
        assert result.returncode == 0, f"{Path(step[0]).name}:\n{result.stdout}\n{result.stderr}"
    return work / "venv"


def consumer_cli(
    venv: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``consumer`` with a clean environment: no repository on the path and no SSC_*
    variable but those in ``env`` (e.g. ``consumer check`` pointed at the test broker and simulator)."""
    base = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(venv), "COLUMNS": "200"}
    return subprocess.run(
        [str(venv / "bin" / "consumer"), *args],
        env={**base, **(env or {})},
        cwd=venv,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_installed_packages_are_exactly_the_locked_runtime_set(installed: Path) -> None:
    result = subprocess.run(
        [str(installed / "bin" / "python"), "-m", "pip", "list", "--format=json", "--exclude", "pip"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    present = {canonicalize_name(p["name"]): Version(p["version"]) for p in json.loads(result.stdout)}
    locked = {
        name: {v for v, _ in entries} for name, entries in pins(ROOT / "requirements" / "runtime.txt").items()
    }
    assert present.pop("single-send-consumer") == Version(project_version())
    present.pop("setuptools", None)  # the venv's own seed on some interpreters, not a dependency
    assert set(present) == set(locked)
    assert all(present[name] in locked[name] for name in present)


@pytest.mark.slow
def test_sbom_lists_every_installed_package_at_its_version(installed: Path) -> None:
    bom = json.loads((installed.parent / SBOM).read_text(encoding="utf-8"))
    assert bom["bomFormat"] == "CycloneDX"
    components = {canonicalize_name(c["name"]): c for c in bom["components"]}
    for name, entries in pins(ROOT / "requirements" / "runtime.txt").items():
        assert name in components, name
        assert Version(components[name]["version"]) in {v for v, _ in entries}, name
        assert components[name]["purl"].startswith(f"pkg:pypi/{name}@"), components[name]["purl"]


@pytest.mark.slow
def test_installed_package_is_the_wheel_not_the_checkout(installed: Path) -> None:
    result = subprocess.run(
        [str(installed / "bin" / "python"), "-c", PRINT_PACKAGE_PATHS],
        cwd=installed,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for path in result.stdout.split():
        assert Path(path).is_relative_to(installed), path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--help",), "Kafka domain events -> HubSpot transactional email"),
        (("run", "--help"), "--config"),
        (("simulator", "--help"), "--token"),
        (("check", "--help"), "--timeout"),
        (("console", "--help"), "--allow-replay"),
        (("publish", "--help"), "--allow-invalid"),
        (("dlq", "inspect", "--help"), "--show-pii"),
        (("--version",), "single-send-consumer"),
    ],
)
def test_installed_consumer_command_runs(installed: Path, args: tuple[str, ...], expected: str) -> None:
    result = consumer_cli(installed, *args)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


@pytest.mark.slow
@pytest.mark.kafka
async def test_installed_consumer_check_passes_against_the_local_broker_and_simulator(
    installed: Path, kafka_bootstrap: str, create_topic: CreateTopic, simulator: RunningSimulator
) -> None:
    topic = await create_topic(partitions=2)
    env = {
        "SSC_ROUTING_FILE": str(ROOT / "consumer" / "samples" / "routing.yaml"),
        "SSC_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "SSC_KAFKA__TOPICS": f'["{topic}"]',
        "SSC_HUBSPOT__BASE_URL": simulator.url,
        "SSC_HUBSPOT__AUTH__TOKEN": SIM_TOKEN,
    }
    ok = await asyncio.to_thread(consumer_cli, installed, "check", "--json", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert SIM_TOKEN not in ok.stdout + ok.stderr
    bad = await asyncio.to_thread(
        consumer_cli, installed, "check", env={**env, "SSC_HUBSPOT__AUTH__TOKEN": "revoked-token-123"}
    )
    assert bad.returncode == 1
    assert "401" in bad.stdout or "INVALID_AUTHENTICATION" in bad.stdout
    assert "revoked-token-123" not in bad.stdout + bad.stderr
