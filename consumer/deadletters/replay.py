"""``consumer dlq replay``: republish selected dead letters to their source topic.

The target is the topic the dead letter names (``__connect.errors.topic``) only when that is one of
the configured source topics (``SSC_KAFKA__TOPICS`` or ``SSC_KAFKA__TOPIC_PATTERN``): anyone who can
write to the DLQ can write that header, and a replay publishes with the operator's credentials. Any
other target must be named by the operator (``--to-topic``); a record whose header names another
topic is skipped and listed.

Each replayed record carries the dead letter's key and value byte for byte and its original headers
(the context headers of the dead-lettering and the provenance of an earlier replay dropped), plus
provenance headers:

    ssc.replay.id              one id per replay run
    ssc.replay.at              when (ISO 8601, UTC)
    ssc.replay.by              who: ``--by``, else the OS user running the command
    ssc.replay.dlq-topic       the DLQ record it came from: topic,
    ssc.replay.dlq-partition   partition
    ssc.replay.dlq-offset      and offset
    ssc.replay.count           how many times this event was replayed (1 the first time)

Why a replay never sends an e-mail twice: the consumer derives every ``sendId`` from the event's
``source`` and ``id`` and the route name, all unchanged by a replay, so HubSpot answers
``IDEMPOTENT_IGNORE`` for every route that was already accepted and sends only the ones that were not.
The DLQ records stay where they are (Kafka topics are append-only); replaying one again is harmless.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from consumer.deadletters.display import letter_json, operator
from consumer.deadletters.format import REPLAY, DeadLetter, Header
from consumer.decode import decode, validate
from consumer.errors import ConsumerError, InputError
from consumer.logs import get_logger
from consumer.masking import mask_untrusted
from consumer.ops import connect
from consumer.ops.output import Output
from consumer.records import Record
from consumer.route import Router
from consumer.settings import DecodeSettings, KafkaSettings

log = get_logger("consumer.ops.replay")

CHUNK = 200
Progress = Callable[[int], None]


def source_topics(kafka: KafkaSettings) -> Callable[[str], bool]:
    """Whether a topic is one this deployment consumes (the only implicit replay targets)."""
    pattern = re.compile(kafka.topic_pattern) if kafka.topic_pattern else None
    topics = frozenset(kafka.topics)
    return lambda topic: topic in topics if pattern is None else bool(pattern.fullmatch(topic))


def replay_headers(letter: DeadLetter, replay_id: str, at: datetime, by: str = "") -> list[tuple[str, bytes]]:
    """The headers of the republished record: original ones first, then fresh provenance."""
    record = letter.record
    provenance = {
        "id": replay_id,
        "at": at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "by": by or operator(),
        "dlq-topic": record.topic,
        "dlq-partition": str(record.partition),
        "dlq-offset": str(record.offset),
        "count": str(letter.replay_count() + 1),
    }
    return letter.original_headers() + [(f"{REPLAY}{k}", v.encode()) for k, v in provenance.items()]


class Revalidator:
    """Runs a dead letter's original record through decode, validate and routing, as the consumer would
    now (current schemas, current routing file, current time: an expired event stays expired)."""

    def __init__(
        self,
        decode_settings: DecodeSettings,
        router: Router,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._decode = decode_settings
        self._router = router
        self._now = now

    def problem(self, letter: DeadLetter) -> str | None:
        r = letter.record
        topic, partition, offset = (
            letter.source_topic or r.topic,
            letter.source_partition,
            letter.source_offset,
        )
        original = Record(
            topic, partition or 0, offset or 0, r.key, r.value, tuple(letter.original_headers())
        )
        try:
            self._router.plan(validate(decode(original, self._decode)), self._now())
        except InputError as exc:
            return f"{exc.code.value}: {exc}"
        return None


@dataclass(frozen=True, slots=True)
class ReplayItem:
    """One selected dead letter, where it goes, or why it is skipped."""

    letter: DeadLetter
    target: str | None
    skip: str | None = None


def plan(
    letters: Iterable[DeadLetter],
    *,
    to_topic: str | None,
    allowed: Callable[[str], bool],
    revalidator: Revalidator | None = None,
) -> list[ReplayItem]:
    """Where each letter goes: ``to_topic`` when given, else its source topic if ``allowed`` says it
    is a configured source topic; otherwise it is skipped with the reason."""
    items = []
    for letter in letters:
        target = to_topic or letter.source_topic
        skip = None
        if target is None:
            skip = "source topic unknown (no __connect.errors.topic header): use --to-topic"
        elif to_topic is None and not allowed(target):
            skip = f"{target} is not a configured source topic: name the target with --to-topic"
        elif target == letter.record.topic:
            skip = "the target is the DLQ topic itself"
        elif letter.record.header(Header.TRUNCATED) == b"true":
            skip = f"only a prefix of the value was dead-lettered: the original is at {letter.source}"
        elif revalidator is not None:
            skip = revalidator.problem(letter)
        items.append(ReplayItem(letter, target, skip))
    return items


class Pacer:
    """Spaces calls to at most ``rate`` per second (``None``: no limit), against an injectable clock."""

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ConsumerError("--rate: records per second, above 0", reason="usage")
        self._rate = rate
        self._clock = clock
        self._sleep = sleep
        self._start: float | None = None
        self._count = 0

    async def wait(self) -> None:
        if self._rate is None:
            return
        now = self._clock()
        if self._start is None:
            self._start = now
        due = self._start + self._count / self._rate
        self._count += 1
        if due > now:
            await self._sleep(due - now)


@dataclass(frozen=True, slots=True)
class ReplaySummary:
    replay_id: str
    dry_run: bool
    selected: int
    replayed: int
    skipped: Sequence[tuple[str, str]] = ()  # (DLQ position, why)
    by_topic: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "replay_id": self.replay_id,
            "dry_run": self.dry_run,
            "selected": self.selected,
            "replayed": self.replayed,
            "skipped": [{"dlq": position, "reason": why} for position, why in self.skipped],
            "by_topic": self.by_topic,
            "seconds": round(self.seconds, 3),
        }


def new_replay_id() -> str:
    return uuid.uuid4().hex


async def republish(
    producer: Any,
    items: Sequence[ReplayItem],
    *,
    replay_id: str,
    pacer: Pacer,
    by: str = "",
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ReplaySummary:
    """Send every non-skipped item (paced) and wait for every acknowledgement."""
    by = by or operator()
    started = time.monotonic()
    by_topic: Counter[str] = Counter()
    pending: list[tuple[str, Awaitable[Any]]] = []

    async def settle() -> None:
        for topic, future in pending:
            await future
            by_topic[topic] += 1
        if progress is not None:
            progress(len(pending))
        pending.clear()

    for item in items:
        if item.skip is not None or item.target is None:
            continue
        await pacer.wait()
        record = item.letter.record
        headers = replay_headers(item.letter, replay_id, now(), by)
        future = await producer.send(item.target, value=record.value, key=record.key, headers=headers)
        pending.append((item.target, future))
        if len(pending) >= CHUNK:
            await settle()
    await settle()
    summary = ReplaySummary(
        replay_id=replay_id,
        dry_run=False,
        selected=len(items),
        replayed=sum(by_topic.values()),
        skipped=skipped(items),
        by_topic=dict(by_topic),
        seconds=time.monotonic() - started,
    )
    log.info(
        "dlq.replayed", replay_id=replay_id, by=by, replayed=summary.replayed, skipped=len(summary.skipped)
    )
    return summary


def skipped(items: Iterable[ReplayItem]) -> list[tuple[str, str]]:
    return [(item.letter.position, item.skip) for item in items if item.skip is not None]


def dry_run_summary(items: Sequence[ReplayItem], replay_id: str) -> ReplaySummary:
    targets = Counter(item.target for item in items if item.skip is None and item.target is not None)
    return ReplaySummary(
        replay_id, True, len(items), 0, skipped(items), {t: n for t, n in targets.items() if t}
    )


async def execute(
    kafka: KafkaSettings,
    items: Sequence[ReplayItem],
    *,
    rate: float | None,
    timeout_s: float = 10.0,
    progress: Progress | None = None,
    replay_id: str | None = None,
    by: str = "",
) -> ReplaySummary:
    """Republish ``items`` through an idempotent, acks=all producer (targets must exist or be creatable)."""
    replay_id = replay_id or new_replay_id()
    pacer = Pacer(rate)
    bootstrap = kafka.bootstrap_servers
    async with connect.started(connect.producer(kafka), bootstrap, timeout_s) as producer:
        with connect.kafka_errors(bootstrap, "replaying"):
            for target in sorted({i.target for i in items if i.skip is None and i.target is not None}):
                await connect.require_topic(producer, target, timeout_s)
            return await republish(
                producer, items, replay_id=replay_id, pacer=pacer, by=by, progress=progress
            )


def render(out: Output, dlq_topic: str, items: Sequence[ReplayItem], summary: ReplaySummary) -> None:
    """The plan (one row per selected record: where it goes or why it is skipped) and the summary."""
    if not out.human:
        data = summary.to_json()
        data["dlq_topic"] = dlq_topic
        data["records"] = [
            {**letter_json(i.letter, False, full=False), "target": i.target, "skip": i.skip} for i in items
        ]
        out.json(data)
        return
    if items:
        rows = [
            [
                i.letter.position,
                i.letter.label,
                mask_untrusted(i.letter.event_type or "?"),
                mask_untrusted(i.letter.event_id or "?"),
                f"skip: {i.skip}" if i.skip else f"-> {i.target}",
            ]
            for i in items
        ]
        out.table(["dlq", "reason", "event type", "event id", "replay"], rows)
        out.line()
    verb = "would replay" if summary.dry_run else "replayed"
    count = sum(summary.by_topic.values())
    targets = ", ".join(f"{t}: {n}" for t, n in sorted(summary.by_topic.items())) or "-"
    prefix = "dry run: " if summary.dry_run else ""
    out.pairs(
        [
            ("selected", summary.selected),
            (verb, count),
            ("skipped", len(summary.skipped)),
            ("to", targets),
            ("replay id", summary.replay_id),
        ],
        title=f"{prefix}{verb} {count} of {summary.selected} from {dlq_topic}",
    )
