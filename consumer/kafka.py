"""Kafka adapter: builds aiokafka clients from settings and converts their records at the boundary.

Every consumer this service builds has ``enable_auto_commit=False`` and an explicit
``auto_offset_reset`` (aiokafka defaults to auto-commit and ``latest``: both would lose events).
Every producer is idempotent with ``acks="all"`` (the default is ``acks=1``) and compresses its
batches with lz4. Offsets are only ever committed explicitly, ``{tp: (position, metadata)}``, by the
worker.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka import TopicPartition as KafkaTP
from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment, ConsumerProtocolMemberMetadata
from aiokafka.helpers import create_ssl_context

from consumer.errors import ConfigError
from consumer.ports import KafkaConsumer
from consumer.records import Record, TopicPartition
from consumer.scrubbing import register_secret
from consumer.settings import KafkaSecurity, KafkaSettings

#: The producer's ``max_request_size`` (aiokafka's default): no record larger than this is sent.
PRODUCER_MAX_REQUEST_SIZE = 1_048_576


def _read_secret_file(path: str, field: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", field=field) from exc


def security_kwargs(sec: KafkaSecurity) -> dict[str, Any]:
    """aiokafka keyword arguments for TLS and SASL (PLAIN, SCRAM-SHA-256/512)."""
    kw: dict[str, Any] = {"security_protocol": sec.protocol}
    if sec.protocol in ("SSL", "SASL_SSL"):
        ctx: ssl.SSLContext = create_ssl_context(
            cafile=sec.ssl_cafile, certfile=sec.ssl_certfile, keyfile=sec.ssl_keyfile
        )
        ctx.check_hostname = sec.ssl_check_hostname
        kw["ssl_context"] = ctx
    if sec.protocol.startswith("SASL"):
        if sec.sasl_password is not None:
            password = sec.sasl_password.get_secret_value()
        elif sec.sasl_password_file is not None:
            password = _read_secret_file(
                str(sec.sasl_password_file), "SSC_KAFKA__SECURITY__SASL_PASSWORD_FILE"
            )
        else:
            raise ConfigError("a SASL password is required", field="SSC_KAFKA__SECURITY__SASL_PASSWORD")
        register_secret(password)
        kw.update(
            sasl_mechanism=sec.sasl_mechanism,
            sasl_plain_username=sec.sasl_username,
            sasl_plain_password=password,
        )
    return kw


class VotingAssignor:
    """aiokafka's round-robin assignment that also carries one value its group agrees on at each
    rebalance: every member states its vote when it joins (the user data of its subscription), the
    leader reduces the votes with ``agree`` and hands the result to every member with its partitions
    (the user data of the assignment), through ``seat`` with the member's place in the deal: how
    many partitions it assigned to the members before it, in the order of their ids (by default the
    result alone). Every member takes what it was handed (``adopt``) before its partitions are
    assigned. Every join of one rebalance states the vote of its first join: a member that
    joins again with other metadata (a retry) would make the coordinator start the rebalance over,
    and a vote that moves between joins would keep the group rebalancing. It is offered alone, under
    round robin's protocol name: aiokafka sends one join per offered protocol, the second with other
    metadata, which starts the rebalance over; under that name, members of an older version and
    tools (round robin, ignoring the user data) join the same group and assign alike, and their
    empty votes count for nothing."""

    name = RoundRobinPartitionAssignor.name
    version = 0

    def __init__(
        self,
        vote: Callable[[], bytes],
        agree: Callable[[Sequence[bytes | None]], bytes],
        adopt: Callable[[bytes | None], None],
        seat: Callable[[bytes, int], bytes] = lambda agreed, first: agreed,
    ) -> None:
        self._vote, self._agree, self._adopt, self._seat = vote, agree, adopt, seat
        self._stated: bytes | None = None  # the vote of the rebalance under way

    def metadata(self, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:
        if self._stated is None:
            self._stated = self._vote()
        return ConsumerProtocolMemberMetadata(self.version, sorted(topics), self._stated)

    def assign(
        self, cluster: ClusterMetadata, members: Mapping[str, ConsumerProtocolMemberMetadata]
    ) -> dict[str, ConsumerProtocolMemberAssignment]:
        agreed = self._agree([m.user_data for m in members.values()])
        dealt, first = {}, 0
        for member, assigned in sorted(RoundRobinPartitionAssignor.assign(cluster, members).items()):
            user_data = self._seat(agreed, first)
            dealt[member] = ConsumerProtocolMemberAssignment(self.version, assigned.assignment, user_data)
            first += sum(len(partitions) for _, partitions in assigned.assignment)
        return dealt

    def on_assignment(self, assignment: ConsumerProtocolMemberAssignment) -> None:
        self._stated = None  # the rebalance is over: the next one states a fresh vote
        self._adopt(assignment.user_data)


def build_consumer(
    settings: KafkaSettings, *, group_id: str | None = None, assignor: VotingAssignor | None = None
) -> AIOKafkaConsumer:
    """A group member that never auto-commits. ``group_id=""`` builds a group-less reader (DLQ tools).
    With ``assignor``, the group's round robin carries its vote (see :class:`VotingAssignor`)."""
    group = settings.group_id if group_id is None else (group_id or None)
    strategies: tuple[Any, ...] = (RoundRobinPartitionAssignor,) if assignor is None else (assignor,)
    return AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=settings.client_id,
        group_id=group,
        group_instance_id=settings.group_instance_id if group else None,
        enable_auto_commit=False,
        auto_offset_reset=settings.auto_offset_reset,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        max_poll_interval_ms=settings.max_poll_interval_ms,
        rebalance_timeout_ms=settings.rebalance_timeout_ms,
        max_poll_records=settings.max_poll_records,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        request_timeout_ms=settings.request_timeout_ms,
        isolation_level="read_committed",
        partition_assignment_strategy=strategies,
        **security_kwargs(settings.security),
    )


def build_producer(settings: KafkaSettings, *, client_id: str | None = None) -> AIOKafkaProducer:
    """An idempotent producer that waits for all in-sync replicas and compresses with lz4 (cheap on
    CPU, readable by every Kafka client; the consumer's dependency carries the codec)."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=client_id or f"{settings.client_id}-producer",
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=settings.request_timeout_ms,
        linger_ms=5,
        compression_type="lz4",
        max_request_size=PRODUCER_MAX_REQUEST_SIZE,
        **security_kwargs(settings.security),
    )


async def fetch_committed(
    consumer: KafkaConsumer, tps: Iterable[TopicPartition]
) -> dict[TopicPartition, tuple[int, str]]:
    """The group's committed position and metadata of each of ``tps`` that has one, in one request.

    aiokafka's public ``committed()`` returns the offset alone; the coordinator call it wraps returns
    both. Raises ``KafkaError`` (retriable errors are retried inside, without a deadline)."""
    ktps = [to_kafka_tp(tp) for tp in tps]
    if not ktps:
        return {}
    found = await consumer._coordinator.fetch_committed_offsets(ktps)
    return {from_kafka_tp(k): (int(v.offset), v.metadata or "") for k, v in found.items() if v.offset >= 0}


def to_record(msg: ConsumerRecord[bytes, bytes], fetched_at: float = 0.0) -> Record:
    """Convert an aiokafka record at the boundary; header names are decoded leniently."""
    return Record(
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        key=msg.key,
        value=msg.value,
        headers=tuple((k, bytes(v) if v is not None else b"") for k, v in msg.headers),
        timestamp_ms=msg.timestamp,
        fetched_at=fetched_at,
    )


def to_kafka_tp(tp: TopicPartition) -> KafkaTP:
    return KafkaTP(tp.topic, tp.partition)


def from_kafka_tp(tp: KafkaTP) -> TopicPartition:
    return TopicPartition(tp.topic, tp.partition)


def ownership(consumer: AIOKafkaConsumer) -> tuple[int, int]:
    """(partitions assigned to this member, partitions of every topic it subscribes to), from the
    client's metadata: this member's part of its group's work."""
    total = sum(len(consumer.partitions_for_topic(t) or ()) for t in consumer.subscription())
    return len(consumer.assignment()), total
