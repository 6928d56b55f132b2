"""The dead-letter record format: what the writer adds to a failed record, and what a reader gets back.

A dead letter is the original record (key, value, headers) plus context headers. Their names follow
Kafka Connect's DLQ conventions (``__connect.errors.*``, so existing tooling reads them) plus
service-specific ``ssc.*`` ones; values never contain tokens, recipient addresses or raw response
bodies (they pass through :func:`consumer.scrubbing.scrub`).

A dead letter never exceeds what its topic and the producer accept (:func:`fit`). When the original
record does not fit, the dead letter keeps the longest prefix of the value that fits (possibly none)
and says so: ``ssc.original.truncated`` is ``true``; ``ssc.original.size`` and
``ssc.original.sha256`` describe the whole original value on every dead letter, and the
``__connect.errors.topic/partition/offset`` headers say where the original still is.

A :class:`DeadLetter` is one record of a DLQ topic read back. Records dead-lettered by other tools
(Kafka Connect) parse too: missing headers are ``None`` and the event's type and id are peeked from
the value. ``consumer dlq replay`` adds ``ssc.replay.*`` provenance headers, which a later
dead-lettering keeps. Everything here is pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from consumer import __version__
from consumer.decode import peek_identity
from consumer.errors import DeadLetterUnwritable
from consumer.outcome import Outcome, Stage
from consumer.records import Record
from consumer.scrubbing import scrub

Headers = list[tuple[str, bytes]]

CONNECT = "__connect.errors."
OURS = "ssc."
#: Provenance headers added by ``consumer dlq replay``; kept when a replayed record fails again.
REPLAY = "ssc.replay."
MAX_MESSAGE = 512


class Header(StrEnum):
    """The context headers of a dead letter, by name: written by :func:`context_headers` and
    :func:`fit`, read by :meth:`DeadLetter.from_record`."""

    TOPIC = f"{CONNECT}topic"
    PARTITION = f"{CONNECT}partition"
    OFFSET = f"{CONNECT}offset"
    CONNECTOR = f"{CONNECT}connector.name"
    STAGE = f"{CONNECT}stage"
    CLASS = f"{CONNECT}class.name"
    EXCEPTION_CLASS = f"{CONNECT}exception.class.name"
    MESSAGE = f"{CONNECT}exception.message"
    REASON = f"{OURS}reason"
    OUTCOME = f"{OURS}outcome"
    HTTP_STATUS = f"{OURS}http.status"
    SEND_RESULT = f"{OURS}send.result"
    CORRELATION_ID = f"{OURS}correlation.id"
    EVENT_TYPE = f"{OURS}event.type"
    EVENT_ID = f"{OURS}event.id"
    ROUTE = f"{OURS}route"
    SEND_ID = f"{OURS}send.id"
    EMAIL_ID = f"{OURS}email.id"
    ATTEMPTS = f"{OURS}attempts"
    FIRST_FAILURE = f"{OURS}failure.first"
    LAST_FAILURE = f"{OURS}failure.last"
    GROUP = f"{OURS}group"
    CONSUMER_VERSION = f"{OURS}consumer.version"
    ORIGINAL_SIZE = f"{OURS}original.size"
    ORIGINAL_SHA256 = f"{OURS}original.sha256"
    TRUNCATED = f"{OURS}original.truncated"


@dataclass(frozen=True, slots=True)
class FailureContext:
    """What the pipeline knows about a failed record beyond its Outcome."""

    stage: Stage
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
    pairs: list[tuple[Header, str | int | None]] = [
        (Header.TOPIC, record.topic),
        (Header.PARTITION, record.partition),
        (Header.OFFSET, record.offset),
        (Header.CONNECTOR, ctx.group_id),
        (Header.STAGE, ctx.stage),
        (Header.CLASS, "single-send-consumer"),
        (Header.EXCEPTION_CLASS, f"{outcome.cls.value}:{outcome.reason.value}"),
        (Header.MESSAGE, (outcome.detail or outcome.label)[:MAX_MESSAGE]),
        (Header.REASON, outcome.reason.value),
        (Header.OUTCOME, outcome.cls.value),
        (Header.HTTP_STATUS, outcome.http_status),
        (Header.SEND_RESULT, outcome.send_result),
        (Header.CORRELATION_ID, outcome.correlation_id),
        (Header.EVENT_TYPE, ctx.event_type),
        (Header.EVENT_ID, ctx.event_id),
        (Header.ROUTE, ctx.route),
        (Header.SEND_ID, ctx.send_id),
        (Header.EMAIL_ID, ctx.email_id),
        (Header.ATTEMPTS, ctx.attempts),
        (Header.FIRST_FAILURE, (ctx.first_failure or now).isoformat()),
        (Header.LAST_FAILURE, (ctx.last_failure or now).isoformat()),
        (Header.GROUP, ctx.group_id),
        (Header.CONSUMER_VERSION, __version__),
    ]
    return [(name.value, scrub(str(value)).encode()) for name, value in pairs if value is not None]


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
        (Header.ORIGINAL_SIZE.value, str(len(original)).encode()),
        (Header.ORIGINAL_SHA256.value, hashlib.sha256(original).hexdigest().encode()),
    ]
    whole = headers + about + [(Header.TRUNCATED.value, b"false")]
    if size(record.key, record.value, whole) <= limit:
        return Fitted(record.value, whole, False)
    cut = headers + about + [(Header.TRUNCATED.value, b"true")]
    room = limit - size(record.key, b"", cut) - 5  # 5: the longest varint of the value's length
    if room < 0:
        raise DeadLetterUnwritable(
            "too_large", f"key and headers alone exceed the dead-letter limit of {limit} bytes"
        )
    return Fitted(original[:room], cut, True)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One DLQ record and what its context headers say about the failure."""

    record: Record = field(repr=False)
    timestamp: datetime
    reason: str | None
    outcome: str | None
    http_status: int | None
    send_result: str | None
    correlation_id: str | None
    event_type: str | None
    event_id: str | None
    route: str | None
    send_id: str | None
    email_id: int | None
    attempts: int | None
    source_topic: str | None
    source_partition: int | None
    source_offset: int | None
    message: str | None

    @classmethod
    def from_record(cls, record: Record) -> DeadLetter:
        def text(name: str) -> str | None:
            raw = record.header(name)
            return None if raw is None else raw.decode("utf-8", "replace")

        def number(name: str) -> int | None:
            value = text(name)
            return int(value) if value is not None and value.lstrip("-").isdigit() else None

        event_type, event_id = text(Header.EVENT_TYPE), text(Header.EVENT_ID)
        if event_type is None or event_id is None:
            kept = tuple((k, v) for k, v in record.headers if not is_context_header(k))
            original = Record(record.topic, record.partition, record.offset, record.key, record.value, kept)
            peeked_type, peeked_id = peek_identity(original)
            event_type, event_id = event_type or peeked_type, event_id or peeked_id
        return cls(
            record=record,
            timestamp=datetime.fromtimestamp(record.timestamp_ms / 1000, UTC),
            reason=text(Header.REASON),
            outcome=text(Header.OUTCOME),
            http_status=number(Header.HTTP_STATUS),
            send_result=text(Header.SEND_RESULT),
            correlation_id=text(Header.CORRELATION_ID),
            event_type=event_type,
            event_id=event_id,
            route=text(Header.ROUTE),
            send_id=text(Header.SEND_ID),
            email_id=number(Header.EMAIL_ID),
            attempts=number(Header.ATTEMPTS),
            source_topic=text(Header.TOPIC),
            source_partition=number(Header.PARTITION),
            source_offset=number(Header.OFFSET),
            message=text(Header.MESSAGE),
        )

    @property
    def position(self) -> str:
        """``PARTITION:OFFSET`` in the DLQ topic (what ``--show`` and ``--partition`` take)."""
        return f"{self.record.partition}:{self.record.offset}"

    @property
    def label(self) -> str:
        """The most specific reason: the sendResult when HubSpot gave one, else the reason code."""
        return self.send_result or self.reason or "unknown"

    @property
    def source(self) -> str:
        if self.source_topic is None:
            return "?"
        return f"{self.source_topic}-{self.source_partition}@{self.source_offset}"

    def original_headers(self) -> list[tuple[str, bytes]]:
        """The source record's headers: without context headers and earlier replay provenance."""
        return [
            (k, v) for k, v in self.record.headers if not is_context_header(k) and not k.startswith(REPLAY)
        ]

    def replay_count(self) -> int:
        raw = self.record.header(f"{REPLAY}count")
        text = raw.decode("ascii", "replace") if raw is not None else ""
        return int(text) if text.isdigit() else 0
