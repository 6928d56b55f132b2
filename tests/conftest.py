"""Session-wide fixtures: the real Apache Kafka broker and unique topic names.

``KAFKA_BOOTSTRAP_SERVERS`` points the suite at an existing broker; otherwise the local broker of
``deploy/local/kafka.py`` is started once per session (on free ports, in a temporary state directory)
and stopped at the end. Kafka tests never skip: if the broker cannot start, they error.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from hypothesis import HealthCheck, settings

# Property tests state what must hold, not how fast the machine is: a busy 2-core CI box must not fail
# them through per-example deadlines or slow-generation health checks (the example counts stay).
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")

pytest_plugins = ["tests.fixtures_simulator"]

ROOT = Path(__file__).resolve().parent.parent
KAFKA_SCRIPT = ROOT / "deploy" / "local" / "kafka.py"


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests build settings explicitly: no SSC_* variable of the developer's shell leaks in."""
    for name in list(os.environ):
        if name.startswith("SSC_") and name != "SSC_KAFKA_STATE_DIR":
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    existing = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if existing:
        yield existing
        return
    state = tmp_path_factory.mktemp("kafka")
    cmd = [sys.executable, str(KAFKA_SCRIPT), "start", "--port", "0", "--state-dir", str(state), "--json"]
    for attempt in (1, 2):  # a free port can be taken between picking and binding it: try once more
        out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600)
        if out.returncode == 0:
            break
        if attempt == 2:
            raise RuntimeError(f"local Kafka did not start: {out.stderr.strip() or out.stdout.strip()}")
    info = json.loads(out.stdout.strip().splitlines()[-1])
    try:
        yield str(info["bootstrap"])
    finally:
        subprocess.run([sys.executable, str(KAFKA_SCRIPT), "stop", "--state-dir", str(state)], check=False)


@pytest.fixture
def topic_name(request: pytest.FixtureRequest) -> str:
    """A topic name unique to this test (and this run)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name)[:80]
    return f"t.{base}.{uuid.uuid4().hex[:8]}"


CreateTopic = Callable[..., Awaitable[str]]


@pytest.fixture
async def create_topic(kafka_bootstrap: str, topic_name: str) -> AsyncIterator[CreateTopic]:
    """``await create_topic(partitions=3)`` creates the test's topic (or ``name=``) and returns its name."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()

    async def create(partitions: int = 1, name: str | None = None) -> str:
        name = name or topic_name
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        return name

    try:
        yield create
    finally:
        await admin.close()
