"""The pipeline decides each record's one final outcome: SENT and TERMINAL end it; PERMANENT answers
and bad input are dead-lettered (with the stage that failed) before it ends; RETRY pauses it and the
same request is sent again as the probe; a burst of PERMANENT answers trips the mass-DLQ breaker,
whose healthy probe ends the record without a dead letter. Fakes stand in for HubSpot (the sender),
the dead-letter topic (the sink) and the rate limiter's gate; decode, route, the pause controller
and the breaker are real."""

from __future__ import annotations

from typing import Any

import orjson

from consumer.breaker import MassDeadLetterBreaker
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.pause import PauseController
from consumer.pipeline import Pipeline
from consumer.records import Record
from consumer.route import Router
from consumer.settings import DecodeSettings, Environment
from schemas.routing import RoutingConfig
from tests.unit.fakes import SENT, FakeGate, RecordingSink, ScriptedSender

SIGNED_UP = "com.example.user.signed_up.v1"
RESET = "com.example.user.password_reset_requested.v1"
ROUTING = RoutingConfig.model_validate(
    {"routes": [{"name": "welcome", "event_type": SIGNED_UP, "email_id": {"dev": 11}, "to": "data.email"}]}
)
TERMINAL = Outcome(
    OutcomeClass.TERMINAL, Reason.TERMINAL, http_status=200, send_result="BLOCKED_UNSUBSCRIBED"
)
REFUSED = Outcome(OutcomeClass.PERMANENT, Reason.BAD_REQUEST, http_status=400)
DOWN = Outcome(OutcomeClass.RETRY, Reason.SERVER_ERROR, http_status=503)


SIGNUP_DATA = {"user_id": "usr_1", "email": "user1@example.com", "first_name": "Test", "plan": "starter"}
RESET_DATA = {
    "user_id": "usr_1",
    "email": "user1@example.com",
    "reset_url": "https://example.com/reset",
    "expires_at": "2030-01-01T00:00:00Z",
}


def signup(event_type: str = SIGNED_UP, data: dict[str, Any] = SIGNUP_DATA) -> Record:
    event = {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "/test",
        "type": event_type,
        "datacontenttype": "application/json",
        "data": data,
    }
    return Record(topic="t", partition=0, offset=7, key=b"usr_1", value=orjson.dumps(event))


async def no_sleep(seconds: float) -> None:
    pass


def pipeline(sender: ScriptedSender, sink: RecordingSink, *, consecutive_limit: int = 100) -> Pipeline:
    return Pipeline(
        decode_settings=DecodeSettings(),
        router=Router.build(ROUTING, Environment.DEV),
        sender=sender,
        dead_letters=sink,
        controller=PauseController(
            gate=FakeGate(), transient_threshold=100, probe_interval_s=1.0, sleep=no_sleep
        ),
        mass_breaker=MassDeadLetterBreaker(
            window=100, ratio=1.0, consecutive_limit=consecutive_limit, min_events=100
        ),
        group_id="g",
    )


async def test_a_sent_record_is_done_without_a_dead_letter() -> None:
    sender, sink = ScriptedSender(SENT), RecordingSink()
    assert await pipeline(sender, sink).process(signup()) == SENT
    assert [probe for _, probe in sender.calls] == [False]
    assert sink.written == []


async def test_a_terminal_answer_ends_the_record_without_a_dead_letter() -> None:
    sender, sink = ScriptedSender(TERMINAL), RecordingSink()
    assert await pipeline(sender, sink).process(signup()) == TERMINAL
    assert len(sender.calls) == 1
    assert sink.written == []


async def test_a_refused_request_is_dead_lettered_with_its_send_context() -> None:
    sender, sink = ScriptedSender(REFUSED), RecordingSink()
    record = signup()
    assert await pipeline(sender, sink).process(record) == REFUSED
    [(written, outcome, ctx)] = sink.written
    assert (written, outcome) == (record, REFUSED)
    [(send_id, _)] = sender.calls
    assert (ctx.stage, ctx.route, ctx.send_id, ctx.email_id) == ("send", "welcome", send_id, 11)
    assert (ctx.group_id, ctx.event_type, ctx.event_id) == ("g", SIGNED_UP, "evt-1")


async def test_undecodable_input_is_dead_lettered_without_a_send() -> None:
    sender, sink = ScriptedSender(SENT), RecordingSink()
    record = Record(topic="t", partition=0, offset=7, key=None, value=b"{not json")
    outcome = await pipeline(sender, sink).process(record)
    assert (outcome.cls, outcome.reason) == (OutcomeClass.PERMANENT, Reason.INVALID_JSON)
    [(_, _, ctx)] = sink.written
    assert ctx.stage == "decode"
    assert sender.calls == []


async def test_an_event_type_without_a_route_is_dead_lettered_at_the_route_stage() -> None:
    sender, sink = ScriptedSender(SENT), RecordingSink()
    record = signup(RESET, RESET_DATA)  # in the catalog, valid, but not routed
    outcome = await pipeline(sender, sink).process(record)
    assert outcome.reason is Reason.NO_ROUTE
    [(_, _, ctx)] = sink.written
    assert (ctx.stage, ctx.event_type) == ("route", RESET)
    assert sender.calls == []


async def test_a_retry_pauses_and_the_same_request_is_sent_again_as_the_probe() -> None:
    sender, sink = ScriptedSender(DOWN, SENT), RecordingSink()
    assert await pipeline(sender, sink).process(signup()) == SENT
    [(first, probe_first), (again, probe_again)] = sender.calls
    assert first == again  # the same sendId: HubSpot sends it once
    assert (probe_first, probe_again) == (False, True)
    assert sink.written == []


async def test_a_refusal_that_would_trip_the_mass_breaker_waits_for_a_healthy_probe_instead() -> None:
    sender, sink = ScriptedSender(REFUSED, SENT), RecordingSink()
    assert await pipeline(sender, sink, consecutive_limit=1).process(signup()) == SENT
    assert [probe for _, probe in sender.calls] == [False, True]
    assert sink.written == []
