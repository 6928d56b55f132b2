"""DLQ records read back, the filters of ``dlq inspect``/``replay``, replay headers, pacing, planning."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumer.deadletters.format import DeadLetter, FailureContext, dead_letter_headers, is_context_header
from consumer.deadletters.reader import dlq_topic
from consumer.deadletters.replay import Pacer, Revalidator, plan, replay_headers, source_topics
from consumer.deadletters.selection import (
    PositionRange,
    Selection,
    Tally,
    build_selection,
    parse_position,
    parse_time,
)
from consumer.errors import ConsumerError
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.records import Record
from consumer.route import Router
from consumer.routing_loader import load_routing
from consumer.settings import DeadLetterSettings, DecodeSettings, Environment, KafkaSettings, Settings
from tests.integration.harness import ROUTING, signup

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
T0 = int(NOW.timestamp() * 1000)


def source_record(event: dict[str, Any] | None = None, **fields: Any) -> Record:
    values: dict[str, Any] = {
        "topic": "events",
        "partition": 2,
        "offset": 40,
        "key": b"usr_000001",
        "value": orjson.dumps(event or signup(1)),
        "headers": (("content-type", b"application/cloudevents+json"), ("traceparent", b"00-ab-cd-01")),
    }
    values.update(fields)
    return Record(**values)


def dead_letter(
    record: Record | None = None,
    outcome: Outcome | None = None,
    *,
    offset: int = 7,
    partition: int = 0,
    at_ms: int = T0,
    **ctx: Any,
) -> DeadLetter:
    """A DLQ record exactly as the service's DLQ writer builds it, read back."""
    record = record or source_record()
    outcome = outcome or Outcome(
        OutcomeClass.PERMANENT,
        Reason.SEND_REJECTED,
        "missing properties",
        http_status=200,
        send_result="MISSING_TEMPLATE_PROPERTIES",
        correlation_id="corr-1",
    )
    context: dict[str, Any] = {
        "stage": "send",
        "group_id": "g",
        "event_type": "com.example.user.signed_up.v1",
        "event_id": "evt-000001",
        "route": "welcome",
        "send_id": "ab" * 32,
        "email_id": 10001,
        "attempts": 3,
    }
    context.update(ctx)
    headers = tuple(dead_letter_headers(record, outcome, FailureContext(**context)))
    dlq = Record("events.dlq", partition, offset, record.key, record.value, headers, at_ms)
    return DeadLetter.from_record(dlq)


# --- reading a DLQ record back ---------------------------------------------------------------------------


def test_a_dead_letter_exposes_what_the_dlq_writer_recorded() -> None:
    letter = dead_letter()
    assert (letter.reason, letter.outcome, letter.send_result) == (
        "send_rejected",
        "PERMANENT",
        "MISSING_TEMPLATE_PROPERTIES",
    )
    assert (letter.http_status, letter.correlation_id, letter.email_id, letter.attempts) == (
        200,
        "corr-1",
        10001,
        3,
    )
    assert (letter.event_type, letter.event_id, letter.route) == (
        "com.example.user.signed_up.v1",
        "evt-000001",
        "welcome",
    )
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == ("events", 2, 40)
    assert letter.position == "0:7"
    assert letter.source == "events-2@40"
    assert letter.label == "MISSING_TEMPLATE_PROPERTIES"
    assert letter.timestamp == NOW


def test_a_record_dead_lettered_by_another_tool_still_shows_its_event_identity() -> None:
    raw = source_record(signup(5), headers=(("__connect.errors.topic", b"events"),))
    letter = DeadLetter.from_record(Record("x.dlq", 0, 0, raw.key, raw.value, raw.headers, T0))
    assert (letter.event_type, letter.event_id) == ("com.example.user.signed_up.v1", "evt-000005")
    assert (letter.reason, letter.attempts, letter.source_offset) == (None, None, None)
    assert letter.label == "unknown"


# --- replay headers ----------------------------------------------------------------------------------------

_names = st.one_of(
    st.sampled_from(["ce_id", "ce_type", "content-type", "traceparent", "x-app"]),
    st.builds(lambda s: f"ssc.{s}", st.sampled_from(["reason", "attempts", "custom"])),
    st.builds(lambda s: f"__connect.errors.{s}", st.sampled_from(["topic", "offset"])),
    st.builds(lambda s: f"ssc.replay.{s}", st.sampled_from(["id", "count", "at"])),
)


@given(st.lists(st.tuples(_names, st.binary(max_size=8)), max_size=12))
def test_a_replay_keeps_the_original_headers_in_order_and_adds_fresh_provenance(
    original: list[tuple[str, bytes]],
) -> None:
    letter = dead_letter(source_record(headers=tuple(original)))
    counts = [v for k, v in original if k == "ssc.replay.count"]
    replays_before = int(counts[-1]) if counts and counts[-1].isdigit() else 0
    headers = replay_headers(letter, "run-1", NOW, "ops-jane")
    provenance = [(k, v) for k, v in headers if k.startswith("ssc.replay.")]
    kept = headers[: len(headers) - len(provenance)]
    assert kept == [
        (k, v) for k, v in original if not is_context_header(k) and not k.startswith("ssc.replay.")
    ]
    assert dict(provenance) == {
        "ssc.replay.id": b"run-1",
        "ssc.replay.at": b"2026-03-02T12:00:00.000Z",
        "ssc.replay.by": b"ops-jane",
        "ssc.replay.dlq-topic": b"events.dlq",
        "ssc.replay.dlq-partition": b"0",
        "ssc.replay.dlq-offset": b"7",
        "ssc.replay.count": str(replays_before + 1).encode(),
    }
    assert not any(is_context_header(k) for k, _ in headers)


def test_a_replayed_event_that_fails_again_counts_its_replays() -> None:
    first = dead_letter(offset=1)
    replayed = source_record(headers=tuple(replay_headers(first, "run-1", NOW)))
    again = dead_letter(replayed, offset=9)  # the consumer dead-letters the replayed record once more
    headers = dict(replay_headers(again, "run-2", NOW))
    assert headers["ssc.replay.count"] == b"2"
    assert headers["ssc.replay.id"] == b"run-2"
    assert headers["ssc.replay.dlq-offset"] == b"9"
    assert sum(1 for k, _ in replay_headers(again, "run-2", NOW) if k == "ssc.replay.id") == 1


# --- selection ----------------------------------------------------------------------------------------------


def test_filters_combine_with_and_values_with_or() -> None:
    a = dead_letter(offset=1, email_id=10001)
    no_route = Outcome(OutcomeClass.PERMANENT, Reason.NO_ROUTE)
    b = dead_letter(
        Record("events", 0, 1, b"k", b"{}"),
        no_route,
        offset=2,
        email_id=None,
        event_type="com.example.order.shipped.v1",
    )
    sel = build_selection(reasons=["no_route", "MISSING_TEMPLATE_PROPERTIES"], now=NOW)
    assert [sel.matches(x) for x in (a, b)] == [True, True]
    sel = build_selection(reasons=["no_route"], email_ids=["10001"], now=NOW)
    assert [sel.matches(x) for x in (a, b)] == [False, False]
    sel = build_selection(event_types=["com.example.order.shipped.v1"], outcomes=["permanent"], now=NOW)
    assert [sel.matches(x) for x in (a, b)] == [False, True]
    assert build_selection(correlation_ids=["corr-1"], now=NOW).matches(a)
    assert not build_selection(correlation_ids=["corr-2"], now=NOW).matches(a)
    assert Selection().matches(a)
    assert Selection().empty


def test_time_filters_use_when_the_record_was_dead_lettered() -> None:
    old, new = dead_letter(at_ms=T0 - 3 * 3600_000), dead_letter(at_ms=T0 - 600_000)
    sel = build_selection(since="2h", now=NOW)
    assert [sel.matches(x) for x in (old, new)] == [False, True]
    sel = build_selection(until="2026-03-02T11:00:00Z", now=NOW)
    assert [sel.matches(x) for x in (old, new)] == [True, False]


def test_positions_select_dlq_partition_and_offsets() -> None:
    letters = [dead_letter(partition=p, offset=o) for p in (0, 1) for o in (4, 5, 6)]
    sel = build_selection(positions=["0:5-", "1:4"], now=NOW)
    assert [x.position for x in letters if sel.matches(x)] == ["0:5", "0:6", "1:4"]
    assert sel.partitions() == {0, 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", PositionRange(3)),
        ("0:15", PositionRange(0, 15, 15)),
        ("0:15-20", PositionRange(0, 15, 20)),
        ("2:7-", PositionRange(2, 7, None)),
    ],
)
def test_position_syntax(text: str, expected: PositionRange) -> None:
    assert parse_position(text) == expected


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            {"reasons": ["bad_reqest"]},
            r"^--reason: unknown reason 'bad_reqest' \(did you mean bad_request\?\)",
        ),
        ({"outcomes": ["DONE"]}, r"^--outcome: unknown outcome class 'DONE'; one of SENT, "),
        ({"email_ids": ["12a"]}, r"^--email-id: a positive integer"),
        ({"since": "last tuesday"}, r"^--since: expected an ISO time"),
        ({"until": "soon"}, r"^--until: expected an ISO time"),
        ({"since": "1h", "until": "2h"}, r"^--since must be earlier than --until"),
        ({"positions": ["0:9-3"]}, r"^--partition: the range '0:9-3' ends before it starts"),
        ({"positions": ["a:1"]}, r"^--partition: PARTITION\[:OFFSET"),
        ({"event_types": [" "]}, r"^--event-type: must not be empty"),
    ],
)
def test_a_bad_filter_value_is_an_error_naming_the_flag(flags: dict[str, Any], message: str) -> None:
    with pytest.raises(ConsumerError, match=message):
        build_selection(now=NOW, **flags)


def test_an_unknown_future_send_result_is_a_valid_filter() -> None:
    assert build_selection(reasons=["SOME_NEW_RESULT"], now=NOW).reasons == {"SOME_NEW_RESULT"}


@given(st.integers(0, 400), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_relative_durations_count_back_from_now(days: int, hours: int, minutes: int, seconds: int) -> None:
    text = (
        "".join(f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if n)
        or "0s"
    )
    expected = NOW - timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    assert parse_time(text, NOW) == expected


def test_iso_times_without_a_zone_are_utc() -> None:
    assert parse_time("2026-03-01", NOW) == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_time("2026-03-01T10:00:00+02:00", NOW) == datetime(2026, 3, 1, 8, tzinfo=UTC)


def test_the_tally_counts_selected_records_by_reason_and_type() -> None:
    tally = Tally()
    tally.add(dead_letter(), selected=True)
    tally.add(dead_letter(), selected=True)
    tally.add(
        dead_letter(
            Record("e", 0, 0, b"k", b"{}"), Outcome(OutcomeClass.PERMANENT, Reason.NO_ROUTE), event_type=None
        ),
        selected=False,
    )
    assert tally.to_json() == {
        "read": 3,
        "selected": 2,
        "by_reason": {"MISSING_TEMPLATE_PROPERTIES": 2},
        "by_event_type": {"com.example.user.signed_up.v1": 2},
    }


# --- planning, re-validation, pacing ---------------------------------------------------------------------


SOURCES = source_topics(KafkaSettings(topics=("events",)))


def test_plan_targets_the_source_topic_unless_told_otherwise_and_skips_what_it_cannot_place() -> None:
    good = dead_letter()
    orphan = DeadLetter.from_record(Record("events.dlq", 0, 3, b"k", orjson.dumps(signup(2)), (), T0))
    assert [(i.target, i.skip) for i in plan([good], to_topic=None, allowed=SOURCES)] == [("events", None)]
    retry = plan([good], to_topic="events.retry", allowed=SOURCES)
    assert [(i.target, i.skip) for i in retry] == [("events.retry", None)]
    (item,) = plan([orphan], to_topic=None, allowed=SOURCES)
    assert item.skip is not None
    assert "--to-topic" in item.skip
    (loop,) = plan([good], to_topic="events.dlq", allowed=SOURCES)
    assert loop.skip == "the target is the DLQ topic itself"


def test_plan_skips_a_dead_letter_that_holds_only_a_prefix_of_its_value() -> None:
    cut = dead_letter()
    cut = DeadLetter.from_record(
        dataclasses.replace(cut.record, headers=(*cut.record.headers, ("ssc.original.truncated", b"true")))
    )
    (item,) = plan([cut], to_topic=None, allowed=SOURCES)
    assert item.skip is not None
    assert "events-" in item.skip


def test_a_dead_letter_cannot_choose_a_topic_that_is_not_a_configured_source() -> None:
    forged = dead_letter(source_record(topic="payments.commands"))
    (item,) = plan([forged], to_topic=None, allowed=SOURCES)
    assert item.skip == "payments.commands is not a configured source topic: name the target with --to-topic"
    (named,) = plan([forged], to_topic="payments.commands", allowed=SOURCES)
    assert named.skip is None, "an explicit target is the operator's decision"
    by_pattern = source_topics(KafkaSettings(topic_pattern=r"prod\.[a-z]+\.events"))
    assert by_pattern("prod.users.events")
    assert not by_pattern("prod.users.events.dlq")
    assert not by_pattern("payments.commands")


def test_revalidation_runs_decode_validate_and_the_current_routing() -> None:
    router = Router.build(load_routing(ROUTING), Environment.DEV)
    check = Revalidator(DecodeSettings(), router, now=lambda: NOW)
    fine = dead_letter()
    unknown = dead_letter(source_record({**signup(3), "type": "com.example.nope.v1"}))
    expired_event = {
        "specversion": "1.0",
        "id": "r-1",
        "source": "/identity/password",
        "type": "com.example.user.password_reset_requested.v1",
        "time": "2026-03-02T09:00:00Z",
        "data": {
            "user_id": "usr_1",
            "email": "jane@example.com",
            "reset_url": "https://app.example.com/r",
            "expires_at": "2026-03-02T10:00:00Z",
        },
    }
    expired = dead_letter(source_record(expired_event))
    assert check.problem(fine) is None
    assert (check.problem(unknown) or "").startswith("unknown_event_type:")
    assert (check.problem(expired) or "").startswith("expired:")
    items = plan([fine, unknown, expired], to_topic=None, allowed=SOURCES, revalidator=check)
    assert [i.skip is None for i in items] == [True, False, False]


async def test_the_pacer_spaces_records_at_the_rate() -> None:
    clock = [100.0]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    pacer = Pacer(4.0, clock=lambda: clock[0], sleep=sleep)
    started = []
    for _ in range(9):
        await pacer.wait()
        started.append(clock[0])
    assert started == [100.0 + i / 4 for i in range(9)]
    assert sum(sleeps) == pytest.approx(2.0)


async def test_an_unlimited_pacer_never_sleeps() -> None:
    async def sleep(seconds: float) -> None:
        raise AssertionError("slept")

    pacer = Pacer(None, sleep=sleep)
    for _ in range(5):
        await pacer.wait()


def test_a_rate_of_zero_is_refused() -> None:
    with pytest.raises(ConsumerError, match=r"^--rate"):
        Pacer(0)


def test_the_dlq_topic_is_the_flag_else_the_fixed_setting_else_that_of_the_one_source_topic() -> None:
    assert dlq_topic(Settings(), None) == "events.dlq"
    assert dlq_topic(Settings(), "other.dlq") == "other.dlq"
    assert dlq_topic(Settings(dlq=DeadLetterSettings(topic="all.dlq")), None) == "all.dlq"
    with pytest.raises(
        ConsumerError, match=r"several source topics: choose the DLQ with --topic \(a\.dlq, b\.dlq\)"
    ):
        dlq_topic(Settings(kafka=KafkaSettings(topics=("a", "b"))), None)
    with pytest.raises(ConsumerError, match="no single source topic"):
        dlq_topic(Settings(kafka=KafkaSettings(topic_pattern="orders\\..*")), None)
