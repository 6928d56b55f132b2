"""The per-record pipeline: decode -> validate -> route -> send each request -> one final outcome.

:meth:`Pipeline.process` returns only when the record is *done*: every request reached SENT or
TERMINAL, or the record's dead-letter write was acknowledged. RETRY and PAUSE never end a record:
they pause the pipeline (:mod:`consumer.pause`) and the same request (same body, same ``sendId``) is
sent again after the pause. Only ``CancelledError`` escapes (shutdown or revocation); the record is
then not done and will be redelivered.

The outcome is decided here, once, by branching on :class:`OutcomeClass`.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from consumer.breaker import MassDeadLetterBreaker
from consumer.deadletters.format import FailureContext
from consumer.decode import decode, peek_identity, validate
from consumer.errors import InputError
from consumer.logs import bind_record, get_logger
from consumer.metrics import EVENTS
from consumer.outcome import Outcome, OutcomeClass, Reason, Stage
from consumer.pause import MASS_DLQ, TRANSIENT, PauseController
from consumer.ports import DeadLetterSink, EmailSender
from consumer.records import Record
from consumer.redact import RecipientHasher
from consumer.route import EmailJob, Router
from consumer.settings import DecodeSettings
from consumer.tracing import NO_TRACING, Tracing

log = get_logger("consumer.pipeline")
_stdlib_log = logging.getLogger("consumer.pipeline")  # a level check costs far less than a dropped event

_FINAL = (OutcomeClass.SENT, OutcomeClass.TERMINAL, OutcomeClass.PERMANENT)
_SENT_EVENTS = EVENTS.labels(outcome=OutcomeClass.SENT.value, reason="sent")
_NO_FAILURE = FailureContext(stage=Stage.SEND, group_id="")  # never written: only failures are


_TRACEPARENT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")


def traceparent(record: Record, extensions: Mapping[str, str]) -> str | None:
    """The W3C trace context of a record: the CloudEvents ``traceparent`` extension (``ce_traceparent``
    in binary mode), else a plain ``traceparent`` Kafka header (OpenTelemetry's Kafka propagation).
    Only well-formed values are returned, so a header cannot inject text into log lines."""
    value = extensions.get("traceparent")
    if value is None and (raw := record.header("traceparent")) is not None:
        value = raw.decode("ascii", "replace")
    return value if value is not None and _TRACEPARENT.fullmatch(value) else None


@dataclass(frozen=True, slots=True)
class _Attempt:
    outcome: Outcome
    ctx: FailureContext


class Pipeline:
    def __init__(
        self,
        *,
        decode_settings: DecodeSettings,
        router: Router,
        sender: EmailSender,
        dead_letters: DeadLetterSink,
        controller: PauseController,
        mass_breaker: MassDeadLetterBreaker,
        group_id: str,
        recipient_id: RecipientHasher | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        tracing: Tracing = NO_TRACING,
    ) -> None:
        self._decode_settings = decode_settings
        self._router = router
        self._sender = sender
        self._dlq = dead_letters
        self._controller = controller
        self._mass = mass_breaker
        self._group = group_id
        self._recipient_id = recipient_id
        self._now = now
        self._tracing = tracing
        self._sequence = itertools.count()
        self._dispatched = -1

    async def process(self, record: Record) -> Outcome:
        """Run ``record`` until it is done; returns SENT, TERMINAL or (dead-lettered) PERMANENT."""
        started = time.monotonic()
        seq = self._dispatched = next(self._sequence)  # dispatch order, for the mass-DLQ breaker
        # This record's log context, replacing whatever this task processed before.
        context = bind_record(topic=record.topic, partition=record.partition, offset=record.offset)
        first_failure: datetime | None = None
        while True:
            attempt = await self._attempt(record, context)
            outcome = attempt.outcome
            if outcome.cls is not OutcomeClass.PERMANENT:
                self._mass.record(seq, False)
                break
            first_failure = first_failure or self._now()
            # Only what a configuration fix changes counts: HubSpot refusing our requests (template
            # ids, unpublished emails, template properties) and event types without a route. Bad
            # input, schema violations and expired events are per-event problems: dead-letter them.
            counted = attempt.ctx.stage is Stage.SEND or outcome.reason is Reason.NO_ROUTE
            if counted and self._mass.would_open(seq, self._dispatched):
                probed = await self._controller.block(MASS_DLQ, outcome, lambda: self._probe(record, context))
                if probed is None:
                    continue  # resumed after someone else's healthy probe: run the record again
                self._mass.reset()  # healthy again: the burst is over, count afresh
                self._mass.record(seq, False)
                outcome = probed
                break
            if counted:
                self._mass.record(seq, True)  # decided now, so concurrent failures see it at once
            ctx = replace(attempt.ctx, first_failure=first_failure, last_failure=self._now())
            await self._dlq.write(record, outcome, ctx)
            break
        if outcome.cls is OutcomeClass.SENT:
            _SENT_EVENTS.inc()  # the bulk: a cached metric child, and a debug line only when enabled
            if _stdlib_log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "record.done", outcome="SENT", elapsed_ms=round((time.monotonic() - started) * 1000, 2)
                )
        else:
            EVENTS.labels(outcome=outcome.cls.value, reason=outcome.label).inc()
            log.info(
                "record.done",
                outcome=outcome.cls.value,
                reason=outcome.label,
                elapsed_ms=round((time.monotonic() - started) * 1000, 2),
            )
        self._tracing.record_finished(outcome)
        return outcome

    async def _probe(self, record: Record, context: dict[str, object]) -> Outcome:
        """The mass-DLQ breaker's half-open check: the record once more, each send a single probe."""
        return (await self._attempt(record, context, probe=True)).outcome

    async def _attempt(self, record: Record, context: dict[str, object], *, probe: bool = False) -> _Attempt:
        """One pass over the record; PERMANENT results carry the context for the DLQ headers (built
        only then: the success path allocates nothing it does not need)."""
        stage, event_type, event_id = Stage.DECODE, None, None
        try:
            event = decode(record, self._decode_settings)
            event_type, event_id = event.type, event.id
            trace = traceparent(record, event.extensions)
            context.update(event_id=event_id, event_type=event_type, traceparent=trace)
            self._tracing.record_started(record, trace, event_type, event_id)
            stage = Stage.VALIDATE
            validated = validate(event)
            stage = Stage.ROUTE
            jobs = self._router.plan(validated, self._now())
        except InputError as exc:
            if event_type is None:
                event_type, event_id = peek_identity(record)
            self._tracing.record_started(record, None, event_type, event_id)
            log.info("record.rejected", stage=stage, reason=exc.code.value, detail=str(exc))
            ctx = FailureContext(stage=stage, group_id=self._group, event_type=event_type, event_id=event_id)
            return _Attempt(exc.outcome(), ctx)

        final: Outcome | None = None
        failed: _Attempt | None = None
        for job in jobs:
            outcome = await (self._sender.send(job.request, probe=True) if probe else self._send(job))
            if outcome.cls is OutcomeClass.PERMANENT:
                if failed is None:
                    failed = _Attempt(
                        outcome,
                        FailureContext(
                            stage=Stage.SEND,
                            group_id=self._group,
                            event_type=event_type,
                            event_id=event_id,
                            route=job.route,
                            send_id=job.request.send_id,
                            email_id=job.request.email_id,
                            attempts=outcome.attempts,
                        ),
                    )
            elif final is None or outcome.cls is OutcomeClass.TERMINAL:
                final = outcome
        if failed is not None:
            return failed
        assert final is not None  # plan() never returns an empty list
        return _Attempt(final, _NO_FAILURE)

    async def _send(self, job: EmailJob) -> Outcome:
        """Send one request until HubSpot gives a per-event answer (SENT, TERMINAL or PERMANENT).

        The sender makes every later attempt of the request (after a pause, or as the pause's
        probe) honour a ``Retry-After`` HubSpot gave for it."""
        request = job.request

        def probe() -> Awaitable[Outcome]:
            return self._sender.send(request, probe=True)

        while True:
            self._controller.offer_probe(probe)
            outcome = await self._sender.send(request, probe=False)
            if outcome.cls in _FINAL:
                break
            cause = TRANSIENT if outcome.cls in (OutcomeClass.RETRY, OutcomeClass.THROTTLE) else None
            probed = await self._controller.block(cause or outcome.reason, outcome, probe)
            if probed is not None and probed.cls in _FINAL:
                outcome = probed
                break
        if outcome.cls is OutcomeClass.TERMINAL:
            recipient = self._recipient_id(request.message.to) if self._recipient_id else None
            log.info(
                "send.terminal",
                send_id=request.send_id,
                route=job.route,
                send_result=outcome.send_result,
                email_id=request.email_id,
                recipient=recipient,
            )
        return outcome
