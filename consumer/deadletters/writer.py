"""Dead-letter records: the original key, value and headers plus scrubbed context headers.

Header names follow Kafka Connect's DLQ conventions (``__connect.errors.*``, so existing tooling
reads them) plus service-specific ``ssc.*`` ones. Values never contain tokens, recipient addresses
or raw response bodies (they pass through :func:`consumer.scrubbing.scrub`). A record is *done* only
after :meth:`DeadLetterWriter.write` returned, i.e. after the broker acknowledged the write with
``acks=all``; until then its offset is not committable.

A dead letter never exceeds what its topic and the producer accept (the smaller of the producer's
``max_request_size`` and the topic's ``max.message.bytes``, read from the broker). When the original
record does not fit, the dead letter keeps the longest prefix of the value that fits (possibly none)
and says so: ``ssc.original.truncated`` is ``true``; ``ssc.original.size`` and
``ssc.original.sha256`` describe the whole original value on every dead letter, and the
``__connect.errors.topic/partition/offset`` headers say where the original still is.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from consumer import __version__
from consumer.errors import DeadLetterUnwritable
from consumer.logs import get_logger
from consumer.metrics import DLQ_TRUNCATED, DLQ_UNWRITABLE_TOTAL, DLQ_WRITES
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.pause import DLQ_UNWRITABLE
from consumer.ports import Blocker, DeadLetterTarget
from consumer.records import Record
from consumer.scrubbing import scrub
from consumer.settings import DeadLetterSettings

log = get_logger("consumer.deadletter")

Headers = list[tuple[str, bytes]]

CONNECT = "__connect.errors."
OURS = "ssc."
#: Provenance headers added by ``consumer dlq replay``; kept when a replayed record fails again.
REPLAY = "ssc.replay."
MAX_MESSAGE = 512
ORIGINAL_SIZE = f"{OURS}original.size"
ORIGINAL_SHA256 = f"{OURS}original.sha256"
TRUNCATED = f"{OURS}original.truncated"


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


@dataclass(frozen=True, slots=True)
class Fitted:
    """What is written: the value (whole, a prefix, or nothing) and the headers that say which."""

    value: bytes | None
    headers: Headers
    truncated: bool


RecordSize = Callable[[bytes | None, bytes | None, Headers], int]


def fit(record: Record, headers: Headers, limit: int, size: RecordSize) -> Fitted:
    """The dead letter of ``record`` within ``limit`` bytes (pure). ``size`` is an upper bound of a
    record's size on the wire. Raises :class:`DeadLetterUnwritable` when even an empty value with the
    key and the headers does not fit."""
    original = record.value or b""
    about = [
        (ORIGINAL_SIZE, str(len(original)).encode()),
        (ORIGINAL_SHA256, hashlib.sha256(original).hexdigest().encode()),
    ]
    whole = headers + about + [(TRUNCATED, b"false")]
    if size(record.key, record.value, whole) <= limit:
        return Fitted(record.value, whole, False)
    cut = headers + about + [(TRUNCATED, b"true")]
    room = limit - size(record.key, b"", cut) - 5  # 5: the longest varint of the value's length
    if room < 0:
        raise DeadLetterUnwritable(
            "too_large", f"key and headers alone exceed the dead-letter limit of {limit} bytes"
        )
    return Fitted(original[:room], cut, True)


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
