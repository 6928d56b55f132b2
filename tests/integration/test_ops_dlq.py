"""``consumer dlq inspect`` against the real broker: filters, --show, JSON/NDJSON, masking, no group."""

from __future__ import annotations

import getpass
import time
from datetime import UTC, datetime

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from consumer.deadletters.reader import collect
from consumer.deadletters.selection import build_selection
from consumer.outcome import Reason
from consumer.settings import KafkaSettings
from tests.conftest import CreateTopic
from tests.integration.harness import signup
from tests.integration.test_ops_support import (
    ORDER,
    ctx,
    dead_lettered,
    invoke,
    one_line_error,
    permanent,
    source,
    write_dead_letters,
    write_raw_dead_letter,
)

pytestmark = pytest.mark.kafka


async def test_the_table_lists_one_row_per_dead_letter_and_counts_by_reason(
    kafka_bootstrap: str, topic_name: str
) -> None:
    dlq = await dead_lettered(kafka_bootstrap, topic_name)

    result = await invoke("dlq", "inspect", "-t", dlq, "--bootstrap", kafka_bootstrap)

    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for header in ("time", "reason", "event type", "event id", "source", "attempts", "http / sendResult"):
        assert header in out
    assert f"{topic_name}-0@10" in out
    assert "200 / MISSING_TEMPLATE_PROPERTIES" in out
    assert "6 of 6 records" in out
    assert "2  MISSING_TEMPLATE_PROPERTIES" in out
    assert "1  invalid_json" in out
    assert "jane.doe@example.com" not in out


async def test_every_filter_selects_what_it_names(kafka_bootstrap: str, topic_name: str) -> None:
    dlq = await dead_lettered(kafka_bootstrap, topic_name)
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    now = datetime.now(UTC)

    async def ids(**flags: list[str] | str) -> list[str | None]:
        found = await collect(kafka, dlq, build_selection(now=now, **flags))  # type: ignore[arg-type]
        assert found.tally.read <= 6
        return [letter.event_id for letter in found.letters]

    assert await ids(reasons=["MISSING_TEMPLATE_PROPERTIES"]) == ["evt-000001", "evt-000002"]
    assert await ids(reasons=["bad_request", "invalid_json"]) == ["ord-evt-3", None]
    assert await ids(outcomes=["PERMANENT"], email_ids=["10004"]) == ["ord-evt-3"]
    assert await ids(event_types=[ORDER, "com.example.nope.v1"]) == ["ord-evt-3", "evt-000006"]
    assert await ids(correlation_ids=["corr-b"]) == ["evt-000002"]
    assert await ids(positions=["0:1-2"]) == ["evt-000002", "ord-evt-3"]
    assert len(await ids(since="1h")) == 6
    assert await ids(until="1h") == []


async def test_since_starts_reading_at_that_time_instead_of_filtering_the_whole_topic(
    kafka_bootstrap: str, create_topic: CreateTopic, topic_name: str
) -> None:
    dlq = await create_topic(name=f"{topic_name}.dlq")
    hour_ms = 3600_000
    now_ms = int(time.time() * 1000)
    for i, age_h in enumerate((5, 4, 3, 0)):
        event = signup(i)
        record, at = source(topic_name, i, event), now_ms - age_h * hour_ms
        await write_raw_dead_letter(kafka_bootstrap, dlq, record, permanent(Reason.NO_ROUTE), ctx(event), at)

    found = await collect(
        KafkaSettings(bootstrap_servers=kafka_bootstrap),
        dlq,
        build_selection(since="3h30m", now=datetime.now(UTC)),
    )

    assert [letter.event_id for letter in found.letters] == ["evt-000002", "evt-000003"]
    assert found.tally.read == 2  # offsets_for_times: the two older records were never fetched


async def test_show_prints_every_header_and_the_payload_masked_unless_asked(
    kafka_bootstrap: str, topic_name: str
) -> None:
    dlq = await dead_lettered(kafka_bootstrap, topic_name)

    masked = await invoke("dlq", "inspect", "-t", dlq, "--show", "0:0", "--bootstrap", kafka_bootstrap)
    shown = await invoke(
        "dlq", "inspect", "-t", dlq, "--show", "0:0", "--show-pii", "--bootstrap", kafka_bootstrap
    )

    assert masked.exit_code == 0, masked.stderr
    for text in (
        "ssc.reason",
        "__connect.errors.offset",
        "ssc.correlation.id",
        "corr-a",
        '"first_name": "***"',
    ):
        assert text in masked.stdout
    assert "jane.doe@example.com" not in masked.stdout
    assert "j***@example.com" in masked.stdout
    assert "audit.pii_shown" not in masked.stderr
    assert "jane.doe@example.com" in shown.stdout
    assert '"first_name": "Test"' in shown.stdout
    (audit,) = [line for line in shown.stderr.splitlines() if "audit.pii_shown" in line]
    for fact in (f"user={getpass.getuser()}", "command='dlq inspect'", f"topic={dlq}", "--show 0:0"):
        assert fact in audit


async def test_listing_with_show_pii_is_audit_logged_with_the_selection(
    kafka_bootstrap: str, topic_name: str
) -> None:
    dlq = await dead_lettered(kafka_bootstrap, topic_name)

    flags = ("--ndjson", "--reason", "send_rejected", "--show-pii", "--bootstrap", kafka_bootstrap)
    result = await invoke("dlq", "inspect", "-t", dlq, *flags)

    assert result.exit_code == 0, result.stderr
    assert "jane.doe@example.com" in result.stdout
    (audit,) = [line for line in result.stderr.splitlines() if "audit.pii_shown" in line]
    assert "records=2" in audit
    assert "send_rejected" in audit


async def test_show_of_a_position_without_a_record_exits_1(kafka_bootstrap: str, topic_name: str) -> None:
    dlq = await dead_lettered(kafka_bootstrap, topic_name)
    result = await invoke("dlq", "inspect", "-t", dlq, "--show", "0:99", "--bootstrap", kafka_bootstrap)
    assert result.exit_code == 1
    assert one_line_error(result.stderr) == f"error: {dlq} has no record at 0:99"


async def test_json_and_ndjson_output_for_machines(kafka_bootstrap: str, topic_name: str) -> None:
    dlq = await dead_lettered(kafka_bootstrap, topic_name)

    as_json = await invoke(
        "dlq", "inspect", "-t", dlq, "--json", "--reason", "send_rejected", "--bootstrap", kafka_bootstrap
    )
    as_lines = await invoke("dlq", "inspect", "-t", dlq, "--ndjson", "--bootstrap", kafka_bootstrap)

    doc = orjson.loads(as_json.stdout)
    assert doc["summary"] == {
        "read": 6,
        "selected": 2,
        "by_reason": {"MISSING_TEMPLATE_PROPERTIES": 2},
        "by_event_type": {"com.example.user.signed_up.v1": 2},
    }
    first = doc["records"][0]
    assert first["source"] == {"topic": topic_name, "partition": 0, "offset": 10}
    assert (first["email_id"], first["attempts"], first["correlation_id"]) == (10001, 1, "corr-a")
    assert first["value"]["data"]["email"] == "j***@example.com"
    rows = [orjson.loads(line) for line in as_lines.stdout.splitlines()]
    assert [r["dlq"]["offset"] for r in rows] == list(range(6))
    assert rows[3]["value_text"] == "{not json"


async def test_inspect_joins_no_group_and_commits_nothing(kafka_bootstrap: str, topic_name: str) -> None:
    dlq = await dead_lettered(kafka_bootstrap, topic_name)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        before = {g[0] for g in await admin.list_consumer_groups()}
        first = await invoke("dlq", "inspect", "-t", dlq, "--json", "--bootstrap", kafka_bootstrap)
        second = await invoke("dlq", "inspect", "-t", dlq, "--json", "--bootstrap", kafka_bootstrap)
        after = {g[0] for g in await admin.list_consumer_groups()}
    finally:
        await admin.close()
    assert after == before
    assert orjson.loads(first.stdout)["summary"] == orjson.loads(second.stdout)["summary"]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--reason", "bogus"], "error: --reason: unknown reason 'bogus'"),
        (["--since", "yesterday-ish"], "error: --since: expected an ISO time"),
        (["--partition", "0:x"], "error: --partition: PARTITION[:OFFSET[-[OFFSET]]]"),
        (["--json", "--ndjson"], "error: --json and --ndjson exclude each other"),
    ],
)
async def test_bad_options_are_one_line_errors(args: list[str], error: str) -> None:
    result = await invoke("dlq", "inspect", "-t", "x.dlq", "--bootstrap", "127.0.0.1:1", *args)
    assert result.exit_code == 2
    assert one_line_error(result.stderr).startswith(error)


async def test_a_missing_dlq_topic_and_an_unreachable_broker_are_one_line(kafka_bootstrap: str) -> None:
    missing = await invoke("dlq", "inspect", "-t", "no.such.dlq", "--bootstrap", kafka_bootstrap)
    down = await invoke("dlq", "inspect", "-t", "x.dlq", "--bootstrap", "127.0.0.1:1", "--timeout", "2")
    assert (missing.exit_code, down.exit_code) == (2, 2)
    assert one_line_error(missing.stderr) == "error: topic no.such.dlq does not exist"
    assert one_line_error(down.stderr).startswith("error: cannot reach Kafka at 127.0.0.1:1")


async def test_addresses_in_keys_and_original_headers_are_masked_too(
    kafka_bootstrap: str, topic_name: str
) -> None:
    event = signup(9, email="keyed.by@example.com")
    record = source(topic_name, 1, event)
    keyed = type(record)(
        record.topic,
        0,
        1,
        b"keyed.by@example.com",
        record.value,
        (*record.headers, ("x-recipient", b"keyed.by@example.com")),
    )
    await write_dead_letters(kafka_bootstrap, topic_name, [(keyed, permanent(Reason.NO_ROUTE), ctx(event))])
    dlq = f"{topic_name}.dlq"

    shown = await invoke("dlq", "inspect", "-t", dlq, "--show", "0:0", "--bootstrap", kafka_bootstrap)
    as_json = await invoke("dlq", "inspect", "-t", dlq, "--json", "--bootstrap", kafka_bootstrap)

    for output in (shown.stdout, as_json.stdout):
        assert "keyed.by@example.com" not in output
        assert "k***@example.com" in output
    (row,) = orjson.loads(as_json.stdout)["records"]
    assert row["key"] == "k***@example.com"
    assert ["x-recipient", "k***@example.com"] in row["headers"]
