"""The README's first command: the demo publishes the samples and reports every outcome class."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

import orjson
import pytest
from rich.console import Console

from consumer_demo.demo import DemoSummary
from consumer_demo.summary import print_demo_summary
from tests.integration.test_ops_support import run_process

pytestmark = pytest.mark.kafka


@pytest.mark.timeout(120)
async def test_the_demo_sends_bounces_and_dead_letters_the_samples_from_any_directory(
    kafka_bootstrap: str, topic_name: str, tmp_path: Path
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "consumer",
        "demo",
        "--json",
        "--bootstrap",
        kafka_bootstrap,
        "--topic",
        topic_name,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 100)
    assert proc.returncode == 0, err.decode()[-2000:]
    summary = orjson.loads(out)
    assert summary["published"] == 16
    assert summary["outcomes"] == {"SENT": 12, "TERMINAL": 1, "PERMANENT": 3}
    assert summary["dead_letters"] == {"expired": 1, "invalid_json": 1, "schema_violation": 1}
    assert len(summary["emails"]) == 13  # one event fans out to the customer and to billing
    assert all("***@" in e["to"] for e in summary["emails"])
    assert sum(summary["committed"].values()) == 16
    assert summary["started_kafka"] is False


def _printed(started_kafka: bool) -> str:
    console = Console(file=io.StringIO(), width=200)
    empty: dict[str, int] = {}
    summary = DemoSummary(
        "kafka.example:9092", "demo.events", 0, empty, empty, [], empty, 0.0, 0, started_kafka
    )
    print_demo_summary(summary, console)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_the_demo_advises_stopping_kafka_only_when_it_started_it() -> None:
    given = _printed(started_kafka=False)
    assert "kafka stop" not in given
    assert "consumer dlq inspect --bootstrap kafka.example:9092 --topic demo.events.dlq" in given
    assert "deploy/local/dev kafka stop" in _printed(started_kafka=True)


async def test_a_demo_file_that_does_not_exist_is_one_line() -> None:
    code, _, err = await run_process("demo", "--events", "missing.ndjson")
    assert code == 2
    assert err.splitlines() == [
        "error: Invalid value for '--events': file 'missing.ndjson' does not exist. "
        "(see: consumer demo --help)"
    ]
