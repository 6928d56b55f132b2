"""Every line logged while a record is processed names that record (topic, partition, offset, and
once decoded its event id, type and trace), and only that record: a task that processes one record
after another never lends the previous record's fields to the next one's lines."""

from __future__ import annotations

import asyncio
import contextvars
import io
from typing import Any

import orjson

from bench.tracing import pipeline as bench_pipeline
from consumer import logs
from consumer.hubspot.request import SingleSendRequest
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.pipeline import Pipeline
from consumer.records import Record

TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class Terminal:
    """HubSpot answers PREVIOUSLY_BOUNCED: a TERMINAL outcome, which the pipeline logs."""

    async def send(self, request: SingleSendRequest, *, probe: bool = False) -> Outcome:
        return Outcome(
            OutcomeClass.TERMINAL, Reason.TERMINAL, http_status=200, send_result="PREVIOUSLY_BOUNCED"
        )


def pipeline() -> Pipeline:
    return bench_pipeline(sender=Terminal())


def signup(offset: int) -> Record:
    event = {
        "specversion": "1.0",
        "id": f"evt-{offset}",
        "source": "/test",
        "type": "com.example.user.signed_up.v1",
        "traceparent": TRACE,
        "data": {"user_id": "u1", "email": "a@example.com", "first_name": "A", "last_name": "B"},
    }
    headers = (("content-type", b"application/cloudevents+json"),)
    return Record("signups", 3, offset, b"u1", orjson.dumps(event), headers)


def garbage(offset: int) -> Record:
    return Record("signups", 4, offset, None, b"{not json")


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in out.getvalue().splitlines() if line.strip()]


async def test_lines_carry_the_record_and_never_the_previous_records_event() -> None:
    out = io.StringIO()
    logs.configure("INFO", "json", stream=out)
    try:
        p = pipeline()
        assert (await p.process(signup(7))).cls is OutcomeClass.TERMINAL
        assert (await p.process(garbage(9))).cls is OutcomeClass.PERMANENT  # same task, next record
    finally:
        logs.configure("INFO", "json")
    found = lines(out)
    terminal = next(x for x in found if x["event"] == "send.terminal")
    assert (terminal["topic"], terminal["partition"], terminal["offset"]) == ("signups", 3, 7)
    assert (terminal["event_id"], terminal["event_type"]) == ("evt-7", "com.example.user.signed_up.v1")
    assert terminal["traceparent"] == TRACE
    rejected = next(x for x in found if x["event"] == "record.rejected")
    assert (rejected["topic"], rejected["partition"], rejected["offset"]) == ("signups", 4, 9)
    assert "event_id" not in rejected
    assert "traceparent" not in rejected
    done = [x for x in found if x["event"] == "record.done"]
    assert [(x["offset"], x["outcome"]) for x in done] == [(7, "TERMINAL"), (9, "PERMANENT")]


async def test_concurrent_records_keep_their_own_context() -> None:
    out = io.StringIO()
    logs.configure("INFO", "json", stream=out)
    try:
        p = pipeline()
        await asyncio.gather(*(p.process(signup(n)) for n in range(5)))
    finally:
        logs.configure("INFO", "json")
    terminal = [x for x in lines(out) if x["event"] == "send.terminal"]
    assert sorted((x["offset"], x["event_id"]) for x in terminal) == [(n, f"evt-{n}") for n in range(5)]


def test_a_lines_own_fields_win_over_the_bound_record() -> None:
    out = io.StringIO()
    logs.configure("INFO", "json", stream=out)

    def log_in_a_fresh_context() -> None:
        logs.bind_record(topic="t", offset=1)
        logs.get_logger("test").info("x.happened", offset=2)

    try:
        contextvars.copy_context().run(log_in_a_fresh_context)
        logs.get_logger("test").info("y.happened")
    finally:
        logs.configure("INFO", "json")
    first, second = lines(out)
    assert (first["topic"], first["offset"]) == ("t", 2)
    assert "topic" not in second
