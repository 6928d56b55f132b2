"""Kafka clients for the operator tools: started within a deadline, always stopped, errors mapped.

Every failure to reach or use the broker leaves here as a :class:`KafkaUnavailable` with a one-line
message (``cannot reach Kafka at 127.0.0.1:9092: no broker answered (connection refused or timed
out)``), never as an aiokafka exception or a traceback. Connection options come from the same
settings as the service (``SSC_KAFKA__*`` or ``--config``); ``--bootstrap`` overrides the servers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    NodeNotReadyError,
    UnknownTopicOrPartitionError,
)

from consumer.errors import ConsumerError, KafkaUnavailable
from consumer.kafka import build_consumer, build_producer
from consumer.scrubbing import scrub
from consumer.settings import KafkaSettings, Settings

_MAX_DETAIL = 200


class Startable(Protocol):
    async def start(self) -> Any: ...

    async def stop(self) -> Any: ...


C = TypeVar("C", bound=Startable)


def with_bootstrap(settings: Settings, bootstrap: str | None) -> Settings:
    """``settings`` with ``kafka.bootstrap_servers`` replaced (the ``--bootstrap`` flag), or as is."""
    if not bootstrap:
        return settings
    kafka = settings.kafka.model_copy(update={"bootstrap_servers": bootstrap})
    return settings.model_copy(update={"kafka": kafka})


def describe_kafka_error(exc: BaseException) -> str:
    """A short, scrubbed reason for a Kafka failure (no addresses, no secrets, one line)."""
    if isinstance(exc, KafkaConnectionError | NodeNotReadyError):
        return "no broker answered (connection refused or timed out)"
    if isinstance(exc, KafkaTimeoutError | TimeoutError):
        return "timed out"
    text = " ".join(str(exc).split())
    name = type(exc).__name__
    return scrub(f"{name}: {text}" if text else name)[:_MAX_DETAIL]


@contextlib.contextmanager
def kafka_errors(bootstrap: str, doing: str) -> Iterator[None]:
    """Map aiokafka / socket failures inside the block to :class:`KafkaUnavailable`; ``doing`` names
    the operation (``"reading t.dlq"``) for errors that are not about reaching the broker."""
    try:
        yield
    except ConsumerError:
        raise
    except (KafkaConnectionError, NodeNotReadyError, OSError) as exc:
        raise KafkaUnavailable(f"cannot reach Kafka at {bootstrap}: {describe_kafka_error(exc)}") from exc
    except (KafkaError, TimeoutError) as exc:
        raise KafkaUnavailable(f"Kafka at {bootstrap}: {doing} failed: {describe_kafka_error(exc)}") from exc


@contextlib.asynccontextmanager
async def started(client: C, bootstrap: str, timeout_s: float) -> AsyncIterator[C]:
    """Start ``client`` within ``timeout_s`` and stop it on exit, whatever happened."""
    try:
        try:
            with kafka_errors(bootstrap, "connecting"):
                async with asyncio.timeout(timeout_s):
                    await client.start()
        except KafkaUnavailable as exc:
            if isinstance(exc.__cause__, TimeoutError):
                raise KafkaUnavailable(
                    f"cannot reach Kafka at {bootstrap}: no answer within {timeout_s:g} s"
                ) from exc.__cause__
            raise
        yield client
    finally:
        await close(client)


async def close(client: Startable) -> None:
    """Stop a client, swallowing its errors; our own cancellation still propagates."""
    try:
        await client.stop()
    except asyncio.CancelledError:
        # aiokafka cancels and awaits a coordinator task on stop(); when stop() follows start()
        # without a loop iteration in between, that task never ran and re-raises the cancellation.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
    except Exception:  # noqa: S110 - a client that failed to start may fail to stop: nothing to release
        pass


async def topic_partitions(consumer: Any) -> Mapping[str, frozenset[int]]:
    """Every visible topic and its partitions, from fresh metadata (never creates a topic).

    aiokafka's consumer has no public call for this: its bootstrap asks for no topics,
    ``partitions_for_topic`` knows only assigned or subscribed ones, and ``topics()`` fetches the
    full metadata but returns the names only. So the same metadata is read through its client.
    """
    cluster = await consumer._client.fetch_all_metadata()
    return {topic: frozenset(cluster.partitions_for_topic(topic) or ()) for topic in cluster.topics()}


async def require_topic(producer: Any, topic: str, timeout_s: float) -> None:
    """Wait for ``topic``'s metadata through ``producer``; ``ConsumerError`` when it does not exist
    (a broker with ``auto.create.topics.enable`` creates it here, as the first write would)."""
    try:
        async with asyncio.timeout(timeout_s):
            await producer.partitions_for(topic)
    except (TimeoutError, UnknownTopicOrPartitionError):
        raise ConsumerError(
            f"topic {topic} does not exist (and the broker did not create it within {timeout_s:g} s)",
            reason="no_topic",
        ) from None


def reader(kafka: KafkaSettings) -> AIOKafkaConsumer:
    """A consumer without a group: it cannot join the service's group nor commit anything."""
    return build_consumer(kafka, group_id="")


def group_prober(kafka: KafkaSettings) -> AIOKafkaConsumer:
    """A consumer carrying the service's group id that is never subscribed: it may *fetch* committed
    offsets (OffsetFetch needs no membership) but never joins the group, never commits."""
    return build_consumer(kafka)


def producer(kafka: KafkaSettings) -> AIOKafkaProducer:
    """The service's producer configuration (idempotent, ``acks="all"``) with its own client id."""
    return build_producer(kafka, client_id=f"{kafka.client_id}-ops")
