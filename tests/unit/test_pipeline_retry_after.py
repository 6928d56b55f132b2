"""A Retry-After HubSpot gave for a request is honoured by its later attempts, probes included."""

from __future__ import annotations

import asyncio
import time

from consumer.breaker import MassDeadLetterBreaker
from consumer.deadletter import FailureContext
from consumer.hubspot.request import SingleSendMessage, SingleSendRequest
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.pause import PauseController
from consumer.pipeline import Pipeline
from consumer.records import Record
from consumer.route import EmailJob, Router, load_routing
from consumer.settings import DecodeSettings, Environment
from tests.integration.harness import ROUTING

UNAVAILABLE = Outcome(OutcomeClass.RETRY, Reason.RETRIES_EXHAUSTED, http_status=503, retry_after_s=0.4)
SENT = Outcome(OutcomeClass.SENT, Reason.SENT, http_status=200)


class ScriptedSender:
    """Answers per sendId from a script; remembers when each request was sent."""

    def __init__(self, script: dict[str, list[Outcome]]) -> None:
        self.script = script
        self.sent_at: dict[str, list[float]] = {k: [] for k in script}

    async def send(self, request: SingleSendRequest, *, probe: bool = False) -> Outcome:
        assert request.send_id is not None
        self.sent_at[request.send_id].append(time.monotonic())
        answers = self.script[request.send_id]
        return answers.pop(0) if answers else SENT  # a repeat of an accepted sendId: IDEMPOTENT_IGNORE


class NoDeadLetters:
    async def write(self, record: Record, outcome: Outcome, ctx: FailureContext) -> None:
        raise AssertionError("nothing is dead-lettered here")


class Gate:
    def hold(self, cause: str) -> None: ...
    def release(self, cause: str) -> None: ...


def job(send_id: str) -> EmailJob:
    message = SingleSendMessage(to=f"{send_id}@example.com", sendId=send_id)
    return EmailJob("welcome", SingleSendRequest(emailId=1, message=message))


async def test_a_request_resumed_by_another_ones_probe_still_waits_out_its_retry_after() -> None:
    down_no_hint = Outcome(OutcomeClass.RETRY, Reason.RETRIES_EXHAUSTED, http_status=503)
    sender = ScriptedSender({"a": [down_no_hint, SENT], "b": [UNAVAILABLE, SENT]})
    controller = PauseController(gate=Gate(), transient_threshold=100, probe_interval_s=0.01)
    pipeline = Pipeline(
        decode_settings=DecodeSettings(), router=Router.build(load_routing(ROUTING), Environment.DEV),
        sender=sender, dead_letters=NoDeadLetters(), controller=controller,
        mass_breaker=MassDeadLetterBreaker(window=200, ratio=0.2, consecutive_limit=25, min_events=50),
        group_id="g",
    )  # fmt: skip

    # "a" pauses the pipeline first and probes after 10 ms; "b" was told Retry-After 0.4 s
    a = asyncio.create_task(pipeline._send(job("a")))
    await asyncio.sleep(0)
    results = await asyncio.gather(a, pipeline._send(job("b")))

    assert results == [SENT, SENT]
    first, *later = sender.sent_at["b"]
    assert later
    assert min(later) - first >= 0.4  # neither a probe nor the resumed pipeline re-sent "b" early
