"""The README's first command: the demo publishes the samples and reports every outcome class."""

from __future__ import annotations

import asyncio
import sys

import orjson
import pytest

from tests.integration.harness import ROOT

pytestmark = pytest.mark.kafka


@pytest.mark.timeout(120)
async def test_the_demo_sends_bounces_and_dead_letters_the_samples(
    kafka_bootstrap: str, topic_name: str
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "consumer", "demo", "--json",
        "--bootstrap", kafka_bootstrap, "--topic", topic_name,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 100)
    assert proc.returncode == 0, err.decode()[-2000:]
    summary = orjson.loads(out)
    assert summary["published"] == 16
    assert summary["outcomes"] == {"SENT": 12, "TERMINAL": 1, "PERMANENT": 3}
    assert summary["dead_letters"] == {"expired": 1, "invalid_json": 1, "schema_violation": 1}
    assert len(summary["emails"]) == 13  # one event fans out to the customer and to billing
    assert all("***@" in e["to"] for e in summary["emails"])
    assert sum(summary["committed"].values()) == 16
