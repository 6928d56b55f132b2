"""Publishing through the producer seam: nothing is sent when an event is invalid, acks bound memory."""

from __future__ import annotations

import zlib
from collections.abc import Awaitable
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from consumer.deadletters.replay import Pacer, plan, republish
from consumer.errors import ConsumerError
from consumer.ops import publish
from consumer.ops.publish_input import InvalidEvents, Options, Outgoing, prepare_records
from consumer.settings import DecodeSettings
from schemas.envelope import build
from schemas.users import UserSignedUpV1
from tests.integration.harness import signup
from tests.unit.test_ops_deadletters import dead_letter


class FakeProducer:
    """``send`` returns an acknowledgement awaitable; tracks how many were outstanding at once."""

    def __init__(self, partitions: int = 3, topics: tuple[str, ...] = ("events",)) -> None:
        self.partitions = partitions
        self.topics = topics
        self.sent: list[dict[str, Any]] = []
        self.outstanding = 0
        self.max_outstanding = 0

    async def partitions_for(self, topic: str) -> set[int]:
        if topic not in self.topics:
            raise TimeoutError
        return set(range(self.partitions))

    async def send(
        self, topic: str, *, value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> Awaitable[Any]:
        self.sent.append({"topic": topic, "value": value, "key": key, "headers": headers})
        self.outstanding += 1
        self.max_outstanding = max(self.max_outstanding, self.outstanding)
        return self._ack(zlib.crc32(key or b"") % self.partitions)

    async def _ack(self, partition: int) -> Any:
        self.outstanding -= 1
        return SimpleNamespace(partition=partition)


def prepared(events: list[dict[str, Any]], *, allow_invalid: bool = False, **options: Any) -> list[Outgoing]:
    """``events`` as NDJSON, one per line, prepared for publishing."""
    ndjson = b"".join(orjson.dumps(event) + b"\n" for event in events)
    return prepare_records(ndjson, Options(**options), allow_invalid=allow_invalid)


async def test_events_are_published_in_order_with_their_keys_and_summarised() -> None:
    producer = FakeProducer()
    events = [signup(i) for i in range(7)]
    advanced: list[int] = []
    records = prepared(events, key_field="data.user_id")
    summary = await publish.publish(producer, "events", records, mode="structured", progress=advanced.append)
    assert [s["key"] for s in producer.sent] == [f"usr_{i:06d}".encode() for i in range(7)]
    assert summary.published == 7
    assert summary.invalid == 0
    assert sum(summary.partitions.values()) == 7
    assert set(summary.partitions) <= {0, 1, 2}
    sizes = [
        len(s["key"]) + len(s["value"]) + sum(len(k) + len(v) for k, v in s["headers"]) for s in producer.sent
    ]
    assert summary.bytes == sum(sizes)
    assert sum(advanced) == 7


async def test_one_invalid_event_stops_the_run_before_anything_is_sent() -> None:
    producer = FakeProducer()
    events = [signup(1), signup(2, email="nobody"), signup(3), {"id": "x"}]
    with pytest.raises(InvalidEvents) as caught:
        await publish.publish(producer, "events", prepared(events), mode="structured")
    assert producer.sent == []
    assert [p.split(":")[0] for p in caught.value.problems] == ["line 2", "line 4"]
    assert "nobody" not in str(caught.value)


async def test_allow_invalid_publishes_them_and_counts_them() -> None:
    producer = FakeProducer()
    records = prepared([signup(1), {"id": "x"}], allow_invalid=True)
    summary = await publish.publish(producer, "events", records, mode="structured")
    assert summary.published == 2
    assert summary.invalid == 1


async def test_acknowledgements_are_awaited_chunk_by_chunk() -> None:
    producer = FakeProducer()
    records = prepared([signup(i) for i in range(3 * publish.CHUNK + 5)])
    summary = await publish.publish(producer, "events", records, mode="binary")
    assert summary.published == 3 * publish.CHUNK + 5
    assert producer.max_outstanding == publish.CHUNK


async def test_a_missing_topic_is_named() -> None:
    with pytest.raises(ConsumerError, match=r"^topic nope does not exist"):
        await publish.publish(FakeProducer(), "nope", prepared([signup(1)]), mode="structured", timeout_s=0.5)


async def test_no_events_is_an_error() -> None:
    with pytest.raises(ConsumerError, match="no events"):
        prepared([])


async def test_republish_sends_only_what_the_plan_keeps_with_provenance() -> None:
    producer = FakeProducer(topics=("events",))
    letters = [dead_letter(offset=1), dead_letter(offset=2)]
    items = plan(letters, to_topic=None, allowed=lambda topic: topic == "events")
    items[1] = items[1].__class__(items[1].letter, items[1].target, "schema_violation: data.email")
    summary = await republish(producer, items, replay_id="run-9", pacer=Pacer(None))
    assert len(producer.sent) == 1
    sent = producer.sent[0]
    assert (sent["topic"], sent["key"], sent["value"]) == (
        "events",
        letters[0].record.key,
        letters[0].record.value,
    )
    assert dict(sent["headers"])["ssc.replay.dlq-offset"] == b"1"
    assert (summary.replayed, summary.selected, summary.by_topic) == (1, 2, {"events": 1})
    assert summary.skipped == [("0:2", "schema_violation: data.email")]


def test_built_events_that_the_consumer_would_refuse_are_named_by_position_type_and_id() -> None:
    welcome = build(UserSignedUpV1(user_id="usr_1", email="jane.doe@example.com"), "/identity/signup")
    (record,) = prepare_records([welcome], Options(mode="binary"))
    assert (record.problem, record.key) == (None, b"usr_1")
    with pytest.raises(InvalidEvents) as caught:
        prepare_records([welcome, welcome], Options(decode=DecodeSettings(max_bytes=256)))
    assert caught.value.problems[1].startswith(
        f"event 2 (com.example.user.signed_up.v1, id {welcome.id}): oversize:"
    )


def test_text_and_built_events_take_the_same_path_to_the_same_records() -> None:
    welcome = build(UserSignedUpV1(user_id="usr_1", email="jane.doe@example.com"), "/identity/signup")
    for mode in ("structured", "binary"):
        (from_text,) = prepare_records(orjson.dumps(welcome.to_dict()), Options(mode=mode))
        (built,) = prepare_records([welcome], Options(mode=mode))
        assert (from_text.key, from_text.value, from_text.headers) == (built.key, built.value, built.headers)
        assert (from_text.problem, built.problem) == (None, None)
