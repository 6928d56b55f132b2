"""DLQ records keep the original bytes and headers and add scrubbed, Connect-compatible context."""

from __future__ import annotations

import asyncio
from typing import Any

from consumer.deadletter import DeadLetterWriter, FailureContext, dead_letter_headers
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.records import Record
from consumer.redact import register_secret
from consumer.settings import DeadLetterSettings

RECORD = Record(
    topic="events", partition=3, offset=42, key=b"user-1", value=b'{"x":1}',
    headers=(("ce_id", b"e-1"), ("traceparent", b"00-aa-bb-01"), ("__connect.errors.topic", b"old")),
)  # fmt: skip
CTX = FailureContext(stage="send", group_id="g", event_type="com.example.t.v1", event_id="e-1", route="r",
                     send_id="ab" * 32, email_id=123, attempts=2)  # fmt: skip


def as_dict(headers: list[tuple[str, bytes]]) -> dict[str, str]:
    return {k: v.decode() for k, v in headers}


def test_context_headers_use_kafka_connect_names_and_ours() -> None:
    outcome = Outcome(OutcomeClass.PERMANENT, Reason.BAD_REQUEST, "emailId not published", http_status=400,
                      correlation_id="c-1")  # fmt: skip
    h = as_dict(dead_letter_headers(RECORD, outcome, CTX))
    assert h["__connect.errors.topic"] == "events"  # the stale one from an earlier DLQ round is replaced
    assert h["__connect.errors.partition"] == "3"
    assert h["__connect.errors.offset"] == "42"
    assert h["__connect.errors.exception.message"] == "emailId not published"
    assert h["ssc.reason"] == "bad_request"
    assert h["ssc.outcome"] == "PERMANENT"
    assert h["ssc.http.status"] == "400"
    assert h["ssc.correlation.id"] == "c-1"
    assert h["ssc.send.id"] == "ab" * 32
    assert h["ssc.email.id"] == "123"
    assert h["ssc.attempts"] == "2"
    assert h["ce_id"] == "e-1"
    assert h["traceparent"] == "00-aa-bb-01"


def test_context_headers_never_carry_addresses_or_tokens() -> None:
    register_secret("pat-na1-canary-token-0123456789")
    outcome = Outcome(
        OutcomeClass.PERMANENT, Reason.BAD_REQUEST,
        "to jane.doe@example.com rejected; Authorization: Bearer pat-na1-canary-token-0123456789",
    )  # fmt: skip
    raw = b"".join(v for _, v in dead_letter_headers(RECORD, outcome, CTX))
    assert b"jane.doe@example.com" not in raw
    assert b"pat-na1-canary-token-0123456789" not in raw
    assert b"j***@example.com" in raw


async def test_the_writer_retries_until_the_broker_acknowledges() -> None:
    calls: list[dict[str, Any]] = []

    async def send_and_wait(topic: str, **kw: Any) -> None:
        calls.append({"topic": topic, **kw})
        if len(calls) < 3:
            raise ConnectionError("broker down")

    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    writer = DeadLetterWriter(send_and_wait, DeadLetterSettings(), sleep=no_sleep)
    await writer.write(RECORD, Outcome(OutcomeClass.PERMANENT, Reason.INVALID_JSON), CTX)
    assert len(calls) == 3
    assert calls[-1]["topic"] == "events.dlq"
    assert calls[-1]["value"] == RECORD.value
    assert calls[-1]["key"] == RECORD.key
