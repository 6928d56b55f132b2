"""DLQ records keep the original bytes (or, when they do not fit, a described prefix) and headers, add
scrubbed, Connect-compatible context, and pause the pipeline when the broker refuses them for good."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from typing import Any

import pytest

from consumer.deadletters.format import DeadLetter, FailureContext, Header, dead_letter_headers, fit
from consumer.deadletters.producer import DeadLetterProducer
from consumer.deadletters.writer import DeadLetterWriter
from consumer.errors import DeadLetterUnwritable, KafkaUnavailable
from consumer.metrics import REGISTRY
from consumer.outcome import Outcome, OutcomeClass, Reason, Stage
from consumer.pause import PauseController
from consumer.records import Record
from consumer.scrubbing import register_secret
from consumer.settings import DeadLetterSettings

RECORD = Record(
    topic="events",
    partition=3,
    offset=42,
    key=b"user-1",
    value=b'{"x":1}',
    headers=(("ce_id", b"e-1"), ("traceparent", b"00-aa-bb-01"), ("__connect.errors.topic", b"old")),
)
CTX = FailureContext(
    stage=Stage.SEND,
    group_id="g",
    event_type="com.example.t.v1",
    event_id="e-1",
    route="r",
    send_id="ab" * 32,
    email_id=123,
    attempts=2,
)


def as_dict(headers: list[tuple[str, bytes]]) -> dict[str, str]:
    return {k: v.decode() for k, v in headers}


def test_context_headers_use_kafka_connect_names_and_ours() -> None:
    outcome = Outcome(
        OutcomeClass.PERMANENT,
        Reason.BAD_REQUEST,
        "emailId not published",
        http_status=400,
        correlation_id="c-1",
    )
    h = as_dict(dead_letter_headers(RECORD, outcome, CTX))
    assert h["__connect.errors.topic"] == "events"  # the stale one from an earlier DLQ round is replaced
    assert h["__connect.errors.partition"] == "3"
    assert h["__connect.errors.offset"] == "42"
    assert h["__connect.errors.stage"] == "send"
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


def test_every_header_the_writer_adds_is_one_the_reader_knows_by_name() -> None:
    rejected = Outcome(OutcomeClass.PERMANENT, Reason.SEND_REJECTED, "not published", http_status=400)
    outcome = dataclasses.replace(rejected, send_result="EMAIL_NOT_PUBLISHED", correlation_id="c-1")
    fitted = fit(RECORD, dead_letter_headers(RECORD, outcome, CTX), 10_000, DeadLetterProducer.size)
    added = [name for name, _ in fitted.headers if name not in ("ce_id", "traceparent")]
    assert sorted(added) == sorted(h.value for h in Header)
    assert all(type(name) is str for name, _ in fitted.headers)  # plain text on the wire
    stored = dataclasses.replace(RECORD, topic="events.dlq", headers=tuple(fitted.headers))
    letter = DeadLetter.from_record(stored)
    assert (letter.reason, letter.outcome, letter.http_status, letter.send_result) == (
        "send_rejected",
        "PERMANENT",
        400,
        "EMAIL_NOT_PUBLISHED",
    )
    assert (letter.event_type, letter.event_id, letter.route, letter.send_id) == (
        "com.example.t.v1",
        "e-1",
        "r",
        "ab" * 32,
    )
    assert (letter.email_id, letter.attempts, letter.correlation_id) == (123, 2, "c-1")
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == ("events", 3, 42)
    assert letter.message == "not published"


def test_context_headers_never_carry_addresses_or_tokens() -> None:
    register_secret("pat-na1-canary-token-0123456789")
    outcome = Outcome(
        OutcomeClass.PERMANENT,
        Reason.BAD_REQUEST,
        "to jane.doe@example.com rejected; Authorization: Bearer pat-na1-canary-token-0123456789",
    )
    raw = b"".join(v for _, v in dead_letter_headers(RECORD, outcome, CTX))
    assert b"jane.doe@example.com" not in raw
    assert b"pat-na1-canary-token-0123456789" not in raw
    assert b"j***@example.com" in raw


class FakeTarget:
    """The Kafka edge as the writer sees it: a limit, a size bound, and scripted send failures."""

    def __init__(self, limit: int = 1_048_576, failures: list[Exception] | None = None) -> None:
        self.max = limit
        self.failures = failures or []
        self.sent: list[dict[str, Any]] = []
        self.forgotten = 0

    async def limit(self, topic: str) -> int:
        return self.max

    @staticmethod
    def size(key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]) -> int:
        return DeadLetterProducer.size(key, value, headers)

    async def send(self, topic: str, key: bytes | None, value: bytes | None, headers: Any) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append({"topic": topic, "key": key, "value": value, "headers": as_dict(headers)})

    def forget(self, topic: str) -> None:
        self.forgotten += 1


async def no_sleep(_: float) -> None:
    await asyncio.sleep(0)


async def test_the_writer_retries_until_the_broker_acknowledges() -> None:
    target = FakeTarget(failures=[KafkaUnavailable("broker down"), TimeoutError()])
    writer = DeadLetterWriter(target, DeadLetterSettings(), sleep=no_sleep)
    await writer.write(RECORD, Outcome(OutcomeClass.PERMANENT, Reason.INVALID_JSON), CTX)
    assert len(target.sent) == 1
    assert target.forgotten == 2  # the limit (and the topic's existence) is read again after a failure
    assert target.sent[-1]["topic"] == "events.dlq"
    assert target.sent[-1]["value"] == RECORD.value
    assert target.sent[-1]["key"] == RECORD.key
    assert target.sent[-1]["headers"]["ssc.original.truncated"] == "false"
    assert target.sent[-1]["headers"]["ssc.original.size"] == str(len(RECORD.value or b""))


def test_a_dead_letter_that_fits_keeps_the_whole_value_and_describes_it() -> None:
    fitted = fit(RECORD, [("h", b"v")], 10_000, DeadLetterProducer.size)
    h = as_dict(fitted.headers)
    assert (fitted.value, fitted.truncated, h["ssc.original.truncated"]) == (RECORD.value, False, "false")
    assert h["ssc.original.sha256"] == hashlib.sha256(RECORD.value or b"").hexdigest()


@pytest.mark.parametrize("limit", [1_500, 5_000, 50_000])
def test_a_dead_letter_too_large_keeps_the_longest_prefix_that_fits_and_says_so(limit: int) -> None:
    value = bytes(range(256)) * 400  # 102 400 bytes
    record = dataclasses.replace(RECORD, value=value)
    headers = dead_letter_headers(record, Outcome(OutcomeClass.PERMANENT, Reason.OVERSIZE), CTX)
    fitted = fit(record, headers, limit, DeadLetterProducer.size)
    assert fitted.truncated
    assert fitted.value is not None
    assert value.startswith(fitted.value)
    assert DeadLetterProducer.size(record.key, fitted.value, fitted.headers) <= limit
    assert limit - DeadLetterProducer.size(record.key, fitted.value, fitted.headers) < 16  # nothing wasted
    h = as_dict(fitted.headers)
    assert h["ssc.original.truncated"] == "true"
    assert h["ssc.original.size"] == str(len(value))
    assert h["ssc.original.sha256"] == hashlib.sha256(value).hexdigest()
    where = (h["__connect.errors.topic"], h["__connect.errors.partition"], h["__connect.errors.offset"])
    assert where == ("events", "3", "42")


def test_a_dead_letter_whose_headers_alone_are_too_large_cannot_be_written() -> None:
    headers = dead_letter_headers(RECORD, Outcome(OutcomeClass.PERMANENT, Reason.OVERSIZE), CTX)
    with pytest.raises(DeadLetterUnwritable) as caught:
        fit(RECORD, headers, 300, DeadLetterProducer.size)
    assert caught.value.error == "too_large"


class Gate:
    def hold(self, cause: str) -> None: ...
    def release(self, cause: str) -> None: ...


async def test_an_unwritable_dead_letter_pauses_the_pipeline_until_a_probe_write_is_acknowledged() -> None:
    target = FakeTarget(failures=[DeadLetterUnwritable("unauthorized", "denied")] * 3)
    changes: list[tuple[bool, set[str]]] = []
    controller = PauseController(
        gate=Gate(),
        transient_threshold=3,
        probe_interval_s=5.0,
        sleep=no_sleep,
        on_change=lambda paused: changes.append((paused, set(controller.causes))),
    )
    writer = DeadLetterWriter(target, DeadLetterSettings(), blocker=controller, sleep=no_sleep)
    before = REGISTRY.get_sample_value("ssc_dlq_unwritable_total", {"error": "unauthorized"}) or 0.0
    task = asyncio.create_task(
        writer.write(RECORD, Outcome(OutcomeClass.PERMANENT, Reason.INVALID_JSON), CTX)
    )
    await asyncio.wait_for(task, 5)
    # paused once for its own cause, resumed by the probe that was acknowledged
    assert changes == [(True, {"dlq_unwritable"}), (False, set())]
    assert len(target.sent) == 1  # written once: by the probe, not again after it
    after = REGISTRY.get_sample_value("ssc_dlq_unwritable_total", {"error": "unauthorized"})
    assert after == before + 3


async def test_without_a_blocker_an_unwritable_dead_letter_raises() -> None:
    writer = DeadLetterWriter(FakeTarget(limit=100), DeadLetterSettings(), sleep=no_sleep)
    with pytest.raises(DeadLetterUnwritable):
        await writer.write(RECORD, Outcome(OutcomeClass.PERMANENT, Reason.INVALID_JSON), CTX)
