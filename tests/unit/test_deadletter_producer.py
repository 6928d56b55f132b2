"""The DLQ topic's limit and existence as the broker reports them (a fake admin client at the seam)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.admin.config_resource import ConfigResourceType
from aiokafka.errors import (
    KafkaConnectionError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    TopicAuthorizationFailedError,
)

from consumer.deadletters.producer import DeadLetterProducer, refusal
from consumer.errors import DeadLetterUnwritable, KafkaUnavailable

UNKNOWN_TOPIC, DENIED = 3, 29


class FakeAdmin:
    """Answers DescribeConfigs like a broker: per topic an error code and ``max.message.bytes``."""

    def __init__(self, topics: dict[str, tuple[int, str | None]], broker: dict[str, str]) -> None:
        self.topics = topics
        self.broker = broker
        self.described = 0

    async def describe_cluster(self) -> dict[str, Any]:
        return {"brokers": [{"node_id": 1}]}

    async def describe_configs(self, resources: list[Any]) -> list[SimpleNamespace]:
        self.described += 1
        [resource] = resources
        if resource.resource_type is ConfigResourceType.BROKER:
            entries = [(k, v, False, 5, False, []) for k, v in self.broker.items()]
            return [SimpleNamespace(resources=[(0, "", 4, resource.name, entries)])]
        error, value = self.topics[resource.name]
        entries = [] if value is None else [("max.message.bytes", value, False, 5, False, [])]
        return [SimpleNamespace(resources=[(error, "", 2, resource.name, entries)])]


def producer(admin: FakeAdmin) -> DeadLetterProducer:
    return DeadLetterProducer(None, admin, max_request_size=1_048_576)  # type: ignore[arg-type]


BROKER = {"message.max.bytes": "1048588", "auto.create.topics.enable": "true"}


async def test_the_limit_is_the_smaller_of_the_topics_and_the_producers_and_is_cached() -> None:
    admin = FakeAdmin({"small.dlq": (0, "4096"), "big.dlq": (0, "10485760")}, BROKER)
    dlq = producer(admin)
    assert await dlq.limit("small.dlq") == 4096
    assert await dlq.limit("big.dlq") == 1_048_576
    assert await dlq.limit("small.dlq") == 4096
    assert admin.described == 2
    admin.topics["small.dlq"] = (0, "8192")  # an operator raised it
    dlq.forget("small.dlq")
    assert await dlq.limit("small.dlq") == 8192


async def test_a_missing_topic_the_broker_will_create_takes_the_brokers_limit() -> None:
    broker = {**BROKER, "message.max.bytes": "500000"}
    assert await producer(FakeAdmin({"new.dlq": (UNKNOWN_TOPIC, None)}, broker)).limit("new.dlq") == 500_000


async def test_a_missing_topic_with_auto_creation_off_is_unwritable() -> None:
    broker = {**BROKER, "auto.create.topics.enable": "false"}
    with pytest.raises(DeadLetterUnwritable) as caught:
        await producer(FakeAdmin({"gone.dlq": (UNKNOWN_TOPIC, None)}, broker)).limit("gone.dlq")
    assert caught.value.error == "unknown_topic"


async def test_a_topic_whose_configuration_may_not_be_read_takes_the_producers_limit() -> None:
    assert await producer(FakeAdmin({"acl.dlq": (DENIED, None)}, BROKER)).limit("acl.dlq") == 1_048_576


async def test_an_invalid_topic_name_is_unwritable() -> None:
    with pytest.raises(DeadLetterUnwritable) as caught:
        await producer(FakeAdmin({"bad topic!": (17, None)}, BROKER)).limit("bad topic!")
    assert caught.value.error == "invalid_record"


async def test_other_describe_errors_are_retriable() -> None:
    with pytest.raises(KafkaUnavailable):
        await producer(FakeAdmin({"x.dlq": (7, None)}, BROKER)).limit("x.dlq")


def test_refusals_no_retry_fixes_are_told_from_transient_errors() -> None:
    assert refusal(MessageSizeTooLargeError()) == "too_large"
    assert refusal(TopicAuthorizationFailedError()) == "unauthorized"
    assert refusal(KafkaConnectionError()) is None
    assert refusal(NotLeaderForPartitionError()) is None
