"""``consumer publish`` against the real broker: both binding modes, keys, validation, errors."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from consumer.decode import decode, validate
from consumer.records import Record
from consumer.settings import DecodeSettings
from tests.conftest import CreateTopic
from tests.integration.harness import ROOT, end_offsets, read_all, signup
from tests.integration.test_ops_support import invoke, one_line_error

pytestmark = pytest.mark.kafka

SAMPLES = ROOT / "consumer" / "samples" / "sample-events.ndjson"


def decoded(topic: str, records: list[Record]) -> list[tuple[str, str | None, str]]:
    out = []
    for r in records:
        event = validate(decode(r, DecodeSettings()))
        out.append((event.envelope.id, r.key.decode() if r.key else None, event.envelope.mode))
    return out


async def topic_records(bootstrap: str, topic: str) -> list[Record]:
    return [
        Record(topic, 0, i, r.key, r.value, tuple((k, v.encode()) for k, v in r.headers.items()))
        for i, r in enumerate(await read_all(bootstrap, topic, idle_ms=800))
    ]


async def test_an_ndjson_file_is_published_in_structured_mode_and_the_consumer_decodes_every_record(
    kafka_bootstrap: str, create_topic: CreateTopic, tmp_path: Path
) -> None:
    topic = await create_topic(partitions=3)
    events = [signup(i) for i in range(12)]
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")

    result = await invoke(
        "publish", str(path), "-t", topic, "--key", "data.user_id", "--bootstrap", kafka_bootstrap, "--json"
    )

    assert result.exit_code == 0, result.stderr
    summary = orjson.loads(result.stdout)
    assert (summary["published"], summary["invalid_published"], summary["mode"]) == (12, 0, "structured")
    assert sum(summary["partitions"].values()) == 12
    assert sum((await end_offsets(kafka_bootstrap, topic, 3)).values()) == 12
    got = decoded(topic, await topic_records(kafka_bootstrap, topic))
    assert sorted(got) == sorted((f"evt-{i:06d}", f"usr_{i:06d}", "structured") for i in range(12))


async def test_a_json_array_from_stdin_is_published_in_binary_mode(
    kafka_bootstrap: str, create_topic: CreateTopic
) -> None:
    topic = await create_topic()
    events = [signup(i, source="/test/binary") for i in range(3)]

    run = await invoke(
        "publish",
        "-",
        "-t",
        topic,
        "--mode",
        "binary",
        "--bootstrap",
        kafka_bootstrap,
        stdin=orjson.dumps(events, option=orjson.OPT_INDENT_2),
    )
    assert run.exit_code == 0, run.stderr
    assert f"published 3 events to {topic} (binary mode)" in run.stdout
    records = await topic_records(kafka_bootstrap, topic)
    assert {dict(r.headers)["ce_source"] for r in records} == {b"/test/binary"}
    assert decoded(topic, records) == [(f"evt-{i:06d}", f"evt-{i:06d}", "binary") for i in range(3)]


async def test_an_invalid_event_stops_the_run_naming_line_and_field_and_nothing_is_published(
    kafka_bootstrap: str, create_topic: CreateTopic, tmp_path: Path
) -> None:
    topic = await create_topic()
    lines = [orjson.dumps(signup(1)), orjson.dumps(signup(2, email="jane.at.example.com")), b'{"id": 3,']
    path = tmp_path / "bad.ndjson"
    path.write_bytes(b"\n".join(lines))

    result = await invoke("publish", str(path), "-t", topic, "--bootstrap", kafka_bootstrap)

    assert result.exit_code == 2
    assert (
        "invalid: line 2: schema_violation: com.example.user.signed_up.v1 data invalid: data.email:"
        in result.stderr
    )
    assert "invalid: line 3: not valid JSON" in result.stderr
    assert "jane.at.example.com" not in result.stderr
    assert one_line_error(result.stderr).startswith("error: 2 invalid event(s); nothing was published")
    assert await end_offsets(kafka_bootstrap, topic, 1) == {0: 0}


async def test_the_sample_file_publishes_with_allow_invalid_so_the_dlq_can_be_tested(
    kafka_bootstrap: str, create_topic: CreateTopic
) -> None:
    topic = await create_topic()
    args = ("publish", str(SAMPLES), "-t", topic, "--allow-invalid", "--json")
    result = await invoke(*args, "--bootstrap", kafka_bootstrap)
    assert result.exit_code == 0, result.stderr
    summary = orjson.loads(result.stdout)
    total = sum(1 for line in SAMPLES.read_bytes().splitlines() if line.strip())
    assert summary["published"] == total
    assert summary["invalid_published"] >= 1
    records = await topic_records(kafka_bootstrap, topic)
    assert b"{{now" not in b"".join(r.value or b"" for r in records)  # placeholders were expanded


async def test_unreachable_kafka_is_one_line_within_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_bytes(orjson.dumps(signup(1)))
    started = time.monotonic()
    result = await invoke("publish", str(path), "--bootstrap", "127.0.0.1:1", "--timeout", "2")
    assert result.exit_code == 2
    assert one_line_error(result.stderr).startswith("error: cannot reach Kafka at 127.0.0.1:1:")
    assert time.monotonic() - started < 10


async def test_a_missing_input_file_is_one_line() -> None:
    result = await invoke("publish", "/nonexistent/events.ndjson")
    assert result.exit_code == 2
    assert (
        one_line_error(result.stderr)
        == "error: cannot read /nonexistent/events.ndjson: No such file or directory"
    )
