"""Value types owned at the Kafka boundary.

aiokafka's ``ConsumerRecord`` is converted to :class:`Record` as soon as it leaves the fetcher, so the
core never sees a library type (and tests build records directly).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TopicPartition:
    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}-{self.partition}"


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record as bytes and headers; header values stay bytes, names are decoded text."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = field(default=())
    timestamp_ms: int = 0
    fetched_at: float = 0.0  # time.monotonic() when this member fetched it (latency metrics)
    #: The record's partition, built once: the worker looks it up several times per record.
    tp: TopicPartition = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tp", TopicPartition(self.topic, self.partition))

    def header(self, name: str) -> bytes | None:
        """The last value of header ``name`` (case-sensitive, as Kafka headers are), or ``None``."""
        found = None
        for key, value in self.headers:
            if key == name:
                found = value
        return found
