"""The dead-letter writer: a failed record to its DLQ topic, acknowledged before the record is done.

A record is *done* only after :meth:`DeadLetterWriter.write` returned, i.e. after the broker
acknowledged the write with ``acks=all``; until then its offset is not committable. What is written
(the context headers, the fitting to the topic's limit) is :mod:`consumer.deadletters.format`; the
Kafka edge is :mod:`consumer.deadletters.producer`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from consumer.deadletters.format import MAX_MESSAGE, FailureContext, Headers, dead_letter_headers, fit
from consumer.errors import DeadLetterUnwritable
from consumer.logs import get_logger
from consumer.metrics import DLQ_TRUNCATED, DLQ_UNWRITABLE_TOTAL, DLQ_WRITES
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.pause import DLQ_UNWRITABLE
from consumer.ports import Blocker, DeadLetterTarget
from consumer.records import Record
from consumer.settings import DeadLetterSettings

log = get_logger("consumer.deadletter")


class DeadLetterWriter:
    """Writes to ``<source topic>.dlq`` (or a fixed topic) through an idempotent, acks=all producer.

    A write that failed in a way a retry may fix (broker down, timeout, leader moving) is retried with
    capped backoff until it is acknowledged or the task is cancelled (shutdown): the record then stays
    not-done and is redelivered, never lost. A write no retry can fix pauses the whole pipeline with
    the cause ``dlq_unwritable`` (``blocker``); the pause probes by writing again (the limit is read
    again each time) and resumes when a write is acknowledged. Without a blocker (tools) it raises.
    """

    def __init__(
        self,
        target: DeadLetterTarget,
        settings: DeadLetterSettings,
        *,
        blocker: Blocker | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._target = target
        self._settings = settings
        self._blocker = blocker
        self._sleep = sleep

    async def write(self, record: Record, outcome: Outcome, ctx: FailureContext) -> None:
        topic = self._settings.topic_for(record.topic)
        headers = dead_letter_headers(record, outcome, ctx)
        where = {
            "dlq_topic": topic,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
        }
        delay = 0.2
        written = False

        async def attempt() -> Outcome:
            """One write; the outcome a pause probe judges (the record's own when acknowledged)."""
            nonlocal written
            try:
                await self._write_once(topic, record, headers, outcome, ctx)
            except DeadLetterUnwritable as exc:
                return self._unwritable(exc, where)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a probe that hit a transient error: still paused
                return Outcome(OutcomeClass.PAUSE, Reason.DLQ_UNWRITABLE, f"retriable: {type(exc).__name__}")
            written = True
            return outcome

        while not written:
            try:
                await self._write_once(topic, record, headers, outcome, ctx)
            except asyncio.CancelledError:
                raise
            except DeadLetterUnwritable as exc:
                held = self._unwritable(exc, where)
                if self._blocker is None:
                    raise
                await self._blocker.block(DLQ_UNWRITABLE, held, attempt)
                continue  # written by a probe, or resumed: write (again)
            except Exception as exc:  # broker down, timeout, topic being created: retry, never drop
                log.warning("dlq.write_failed", **where, error=type(exc).__name__, retry_in_s=delay)
                self._target.forget(topic)  # a deleted topic or a changed limit shows on the next try
                await self._sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            return

    def _unwritable(self, exc: DeadLetterUnwritable, where: dict[str, Any]) -> Outcome:
        self._target.forget(str(where["dlq_topic"]))  # the probe reads the topic's limit afresh
        DLQ_UNWRITABLE_TOTAL.labels(error=exc.error).inc()
        log.error("dlq.unwritable", **where, error=exc.error, detail=str(exc))
        return Outcome(OutcomeClass.PAUSE, Reason.DLQ_UNWRITABLE, f"{exc.error}: {exc}"[:MAX_MESSAGE])

    async def _write_once(
        self, topic: str, record: Record, headers: Headers, outcome: Outcome, ctx: FailureContext
    ) -> None:
        limit = await self._target.limit(topic)
        fitted = fit(record, headers, limit, self._target.size)
        async with asyncio.timeout(self._settings.send_timeout_s):
            await self._target.send(topic, record.key, fitted.value, fitted.headers)
        DLQ_WRITES.labels(reason=outcome.reason.value).inc()
        if fitted.truncated:
            DLQ_TRUNCATED.inc()
        log.info(
            "dlq.written",
            dlq_topic=topic,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=outcome.reason.value,
            outcome=outcome.cls.value,
            send_result=outcome.send_result,
            http_status=outcome.http_status,
            event_id=ctx.event_id,
            truncated=fitted.truncated,
            original_size=len(record.value or b""),
        )
