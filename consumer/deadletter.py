"""Dead-letter records: the original key, value and headers plus scrubbed context headers.

Header names follow Kafka Connect's DLQ conventions (``__connect.errors.*``, so existing tooling
reads them) plus service-specific ``ssc.*`` ones. Values never contain tokens, recipient addresses
or raw response bodies (they pass through :func:`consumer.redact.scrub`). A record is *done* only
after :meth:`DeadLetterWriter.write` returned, i.e. after the broker acknowledged the write with
``acks=all``; until then its offset is not committable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from consumer import __version__
from consumer.logs import get_logger
from consumer.metrics import DLQ_WRITES
from consumer.outcome import Outcome
from consumer.records import Record
from consumer.redact import scrub
from consumer.settings import DeadLetterSettings

log = get_logger("consumer.deadletter")

CONNECT = "__connect.errors."
OURS = "ssc."
#: Provenance headers added by ``consumer dlq replay``; kept when a replayed record fails again.
REPLAY = "ssc.replay."
MAX_MESSAGE = 512


@dataclass(frozen=True, slots=True)
class FailureContext:
    """What the pipeline knows about a failed record beyond its Outcome."""

    stage: str  # decode | validate | route | send
    group_id: str
    event_type: str | None = None
    event_id: str | None = None
    route: str | None = None
    send_id: str | None = None
    email_id: int | None = None
    attempts: int = 1
    first_failure: datetime | None = None
    last_failure: datetime | None = None


def context_headers(record: Record, outcome: Outcome, ctx: FailureContext) -> list[tuple[str, bytes]]:
    """The DLQ context headers for ``record`` (pure; values are scrubbed UTF-8)."""
    now = datetime.now(UTC)
    pairs: list[tuple[str, str | int | None]] = [
        (f"{CONNECT}topic", record.topic),
        (f"{CONNECT}partition", record.partition),
        (f"{CONNECT}offset", record.offset),
        (f"{CONNECT}connector.name", ctx.group_id),
        (f"{CONNECT}stage", ctx.stage),
        (f"{CONNECT}class.name", "single-send-consumer"),
        (f"{CONNECT}exception.class.name", f"{outcome.cls.value}:{outcome.reason.value}"),
        (f"{CONNECT}exception.message", (outcome.detail or outcome.label)[:MAX_MESSAGE]),
        (f"{OURS}reason", outcome.reason.value),
        (f"{OURS}outcome", outcome.cls.value),
        (f"{OURS}http.status", outcome.http_status),
        (f"{OURS}send.result", outcome.send_result),
        (f"{OURS}correlation.id", outcome.correlation_id),
        (f"{OURS}event.type", ctx.event_type),
        (f"{OURS}event.id", ctx.event_id),
        (f"{OURS}route", ctx.route),
        (f"{OURS}send.id", ctx.send_id),
        (f"{OURS}email.id", ctx.email_id),
        (f"{OURS}attempts", ctx.attempts),
        (f"{OURS}failure.first", (ctx.first_failure or now).isoformat()),
        (f"{OURS}failure.last", (ctx.last_failure or now).isoformat()),
        (f"{OURS}group", ctx.group_id),
        (f"{OURS}consumer.version", __version__),
    ]
    return [(name, scrub(str(value)).encode()) for name, value in pairs if value is not None]


def is_context_header(name: str) -> bool:
    """True for headers a dead-lettering added (replay strips them; replay provenance is kept)."""
    return name.startswith(CONNECT) or (name.startswith(OURS) and not name.startswith(REPLAY))


def dead_letter_headers(record: Record, outcome: Outcome, ctx: FailureContext) -> list[tuple[str, bytes]]:
    """Original headers (minus context headers of an earlier dead-lettering) + fresh context headers."""
    original = [(k, v) for k, v in record.headers if not is_context_header(k)]
    return original + context_headers(record, outcome, ctx)


class DeadLetterSink(Protocol):
    async def write(self, record: Record, outcome: Outcome, ctx: FailureContext) -> None: ...


SendAndWait = Callable[..., Awaitable[object]]


class DeadLetterWriter:
    """Writes to ``<source topic>.dlq`` (or a fixed topic) through an idempotent, acks=all producer.

    A failed write is retried with capped backoff until it is acknowledged or the task is cancelled
    (shutdown): the record then stays not-done and is redelivered, never lost.
    """

    def __init__(
        self,
        send_and_wait: SendAndWait,
        settings: DeadLetterSettings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._send = send_and_wait
        self._settings = settings
        self._sleep = sleep

    async def write(self, record: Record, outcome: Outcome, ctx: FailureContext) -> None:
        topic = self._settings.topic_for(record.topic)
        headers = dead_letter_headers(record, outcome, ctx)
        delay = 0.2
        while True:
            try:
                async with asyncio.timeout(self._settings.send_timeout_s):
                    await self._send(
                        topic, value=record.value, key=record.key, headers=headers, partition=None
                    )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker down, timeout, topic missing: retry, never drop
                log.warning(
                    "dlq.write_failed", dlq_topic=topic, topic=record.topic, partition=record.partition,
                    offset=record.offset, error=type(exc).__name__, retry_in_s=delay,
                )  # fmt: skip
                await self._sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            DLQ_WRITES.labels(reason=outcome.reason.value).inc()
            log.info(
                "dlq.written", dlq_topic=topic, topic=record.topic, partition=record.partition,
                offset=record.offset, reason=outcome.reason.value, outcome=outcome.cls.value,
                send_result=outcome.send_result, http_status=outcome.http_status, event_id=ctx.event_id,
            )  # fmt: skip
            return
