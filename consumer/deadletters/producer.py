"""The dead-letter producer at the Kafka edge: writes, and each DLQ topic's size limit from the broker.

The limit of a dead-letter topic is the smaller of the producer's ``max_request_size`` and the
topic's ``max.message.bytes`` (``DescribeConfigs``). A topic that does not exist yet takes the broker's
``message.max.bytes`` when the broker creates topics on first write (``auto.create.topics.enable``);
when it does not, the write can never succeed. A topic's limit is cached until a write is refused as
too large or times out, so a changed topic configuration is read again by the next attempt. When the
principal may not describe the topic's configuration, the producer's limit alone applies (logged once).

aiokafka's errors are mapped here: refusals no retry fixes raise :class:`DeadLetterUnwritable` (too
large, authorization, unknown topic with auto-creation off, invalid record); anything else raises
:class:`KafkaUnavailable`, which the writer retries.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    CorruptRecordException,
    InvalidTimestampError,
    InvalidTopicError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
    UnknownTopicOrPartitionError,
)
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from consumer.deadletters.format import Headers
from consumer.errors import DeadLetterUnwritable, KafkaUnavailable
from consumer.kafka import security_kwargs
from consumer.logs import get_logger
from consumer.settings import KafkaSettings

log = get_logger("consumer.deadletter_producer")

TOPIC_LIMIT = "max.message.bytes"
BROKER_LIMIT = "message.max.bytes"
AUTO_CREATE = "auto.create.topics.enable"
_UNKNOWN_TOPIC = UnknownTopicOrPartitionError.errno
_TOPIC_DENIED = TopicAuthorizationFailedError.errno
_INVALID_TOPIC = InvalidTopicError.errno
_REFUSALS: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError), "too_large"),
    (
        (TopicAuthorizationFailedError, ClusterAuthorizationFailedError, TransactionalIdAuthorizationFailed),
        "unauthorized",
    ),
    ((InvalidTopicError, CorruptRecordException, InvalidTimestampError), "invalid_record"),
)


def refusal(exc: BaseException) -> str | None:
    """The ``dlq_unwritable`` error code of an aiokafka exception, or None when a retry may succeed."""
    for types, code in _REFUSALS:
        if isinstance(exc, types):
            return code
    return None


def build_admin(settings: KafkaSettings, role: str = "admin") -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=f"{settings.client_id}-{role}",
        request_timeout_ms=settings.request_timeout_ms,
        **security_kwargs(settings.security),
    )


async def describe_configs(
    admin: AIOKafkaAdminClient, kind: ConfigResourceType, name: str, keys: tuple[str, ...]
) -> dict[str, Any]:
    """The values of ``keys`` the broker reports for one config resource (absent keys left out)."""
    resource = ConfigResource(kind, name, configs=dict.fromkeys(keys))
    found: dict[str, Any] = {}
    for response in await admin.describe_configs([resource]):
        for _error, _message, _type, _name, entries in response.resources:
            found.update({entry[0]: entry[1] for entry in entries})
    return found


async def broker_configs(admin: AIOKafkaAdminClient, keys: tuple[str, ...]) -> dict[str, Any]:
    """``keys`` of the first broker's configuration (the cluster-wide defaults topics inherit)."""
    broker = (await admin.describe_cluster())["brokers"][0]["node_id"]
    return await describe_configs(admin, ConfigResourceType.BROKER, str(broker), keys)


class DeadLetterProducer:
    """Implements :class:`consumer.ports.DeadLetterTarget` with an aiokafka producer and admin."""

    def __init__(
        self, producer: AIOKafkaProducer, admin: AIOKafkaAdminClient, *, max_request_size: int
    ) -> None:
        self._producer = producer
        self._admin = admin
        self._max_request_size = max_request_size
        self._limits: dict[str, int] = {}
        self._undescribable: set[str] = set()

    @staticmethod
    def size(key: bytes | None, value: bytes | None, headers: Headers) -> int:
        """Upper bound of the record's size alone in a batch (what the producer and broker check)."""
        return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers))

    async def limit(self, topic: str) -> int:
        cached = self._limits.get(topic)
        if cached is not None:
            return cached
        try:
            error, value = await self._describe(ConfigResourceType.TOPIC, topic, TOPIC_LIMIT)
            if error == _UNKNOWN_TOPIC:
                return min(self._max_request_size, await self._auto_created_limit(topic))
        except KafkaError as exc:
            raise KafkaUnavailable(f"cannot read the configuration of {topic}: {type(exc).__name__}") from exc
        if error == _INVALID_TOPIC:
            raise DeadLetterUnwritable("invalid_record", f"{topic!r} is not a valid topic name")
        if error == _TOPIC_DENIED or (error == 0 and value is None):
            if topic not in self._undescribable:
                self._undescribable.add(topic)
                log.warning("dlq.limit_unknown", dlq_topic=topic, limit=self._max_request_size)
            topic_limit = self._max_request_size
        elif error != 0:
            raise KafkaUnavailable(f"cannot read the configuration of {topic}: error {error}")
        else:
            topic_limit = int(str(value))
        limit = self._limits[topic] = min(self._max_request_size, topic_limit)
        return limit

    async def _auto_created_limit(self, topic: str) -> int:
        configs = await broker_configs(self._admin, (BROKER_LIMIT, AUTO_CREATE))
        if str(configs.get(AUTO_CREATE, "true")).lower() != "true":
            raise DeadLetterUnwritable(
                "unknown_topic",
                f"{topic} does not exist and the broker does not create topics ({AUTO_CREATE}=false)",
            )
        return int(str(configs.get(BROKER_LIMIT, self._max_request_size)))

    async def _describe(self, kind: ConfigResourceType, name: str, key: str) -> tuple[int, object]:
        resource = ConfigResource(kind, name, configs={key: None})
        for response in await self._admin.describe_configs([resource]):
            for error, _message, _type, _name, entries in response.resources:
                values = {entry[0]: entry[1] for entry in entries}
                return int(error), values.get(key)
        return 0, None

    async def send(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers) -> None:
        try:
            await self._producer.send_and_wait(topic, value=value, key=key, headers=headers)
        except KafkaError as exc:
            code = refusal(exc)
            if code == "too_large":
                self.forget(topic)  # the topic's limit may have changed: read it again next time
            if code is None:
                raise KafkaUnavailable(f"{topic}: {type(exc).__name__}") from exc
            raise DeadLetterUnwritable(code, f"{topic}: {type(exc).__name__}") from exc

    def forget(self, topic: str) -> None:
        self._limits.pop(topic, None)
