"""A service publishing built events through ``Publisher`` to the real broker, then ``consumer run``."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from consumer.decode import decode, validate
from consumer.errors import KafkaUnavailable
from consumer.ops.publish import Publisher
from consumer.ops.publish_input import InvalidEvents
from consumer.records import Record
from consumer.route import Router
from consumer.routing_loader import load_routing
from consumer.settings import DecodeSettings, Environment, KafkaSettings
from schemas.catalog import CATALOG
from schemas.envelope import Envelope, build
from schemas.samples import examples
from schemas.types import EventData
from tests.conftest import CreateTopic
from tests.fixtures_simulator import StartSim
from tests.integration.harness import ROUTING, read_all, run_until_drained, settings_for, sim_config
from tests.unit.test_docs_examples import only_block

pytestmark = pytest.mark.kafka


def facts() -> list[EventData]:
    """One fact of every event type (the full example's data)."""
    found = []
    for example in examples():
        if example.name == "valid-full":
            data = orjson.loads(example.read_bytes())["data"]
            found.append(CATALOG[example.event_type].model_validate_json(orjson.dumps(data), strict=True))
    return found


def built(data: EventData, at: datetime) -> Envelope:
    return build(data, f"/test/{type(data).__name__}", time=at)


async def test_a_retried_publish_of_the_same_facts_sends_one_email_per_fact_and_route(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic(partitions=3)
    sim = await start_sim(sim_config())
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    now = datetime.now(UTC)
    first = [built(data, now) for data in facts()]
    # The service did not learn whether the first publish succeeded (a timeout), so it builds the same
    # facts again, a little later, and publishes them again (in the other binding mode, to show both).
    retry = [built(data, now + timedelta(seconds=5)) for data in facts()]
    async with Publisher(kafka, mode="structured") as publisher:
        await publisher.publish(topic, *first)
    async with Publisher(kafka, mode="binary") as publisher:
        summary = await publisher.publish(topic, *retry)
    assert summary.published == len(retry) == len(CATALOG)

    result = await run_until_drained(settings_for(kafka_bootstrap, topic, sim))

    assert result.counts.by_outcome == {"SENT": 2 * len(first)}
    router = Router.build(load_routing(ROUTING), Environment.DEV)
    routes = sum(len(router.plan(_validated(event), now)) for event in first)
    sends = sim.state.sends_json()
    assert len(sends) == routes  # one email per fact and route, not two
    assert [s["attempts"] for s in sends] == [2] * routes  # both publishes reached HubSpot, same sendId


def _validated(event: Envelope) -> object:
    message = event.structured()
    return validate(decode(Record("t", 0, 0, message.key, message.value, message.headers), DecodeSettings()))


async def test_the_publisher_keys_records_by_the_entity_and_the_consumer_decodes_them(
    kafka_bootstrap: str, create_topic: CreateTopic
) -> None:
    topic = await create_topic(partitions=2)
    events = [built(data, datetime.now(UTC)) for data in facts()]
    async with Publisher(KafkaSettings(bootstrap_servers=kafka_bootstrap), mode="binary") as publisher:
        summary = await publisher.publish(topic, *events)

    assert (summary.published, summary.mode, sum(summary.partitions.values())) == (len(events), "binary", 7)
    records = await read_all(kafka_bootstrap, topic, idle_ms=800)
    assert sorted((r.key, r.headers["ce_id"]) for r in records) == sorted(
        (e.key.encode(), e.id) for e in events
    )


async def test_publisher_errors_are_clear_and_nothing_invalid_is_sent(
    kafka_bootstrap: str, create_topic: CreateTopic
) -> None:
    topic = await create_topic()
    (event, *_) = [built(data, datetime.now(UTC)) for data in facts()]
    small = DecodeSettings(max_bytes=256)
    async with Publisher(
        KafkaSettings(bootstrap_servers=kafka_bootstrap), decode_settings=small
    ) as publisher:
        with pytest.raises(
            InvalidEvents, match=r"^event 1 \(com\.example\.[a-z_.]+v1, id [0-9a-f-]{36}\): oversize"
        ):
            await publisher.publish(topic, event)
    assert await read_all(kafka_bootstrap, topic, idle_ms=500) == []
    with pytest.raises(KafkaUnavailable, match=r"^cannot reach Kafka at 127\.0\.0\.1:1"):
        async with Publisher(KafkaSettings(bootstrap_servers="127.0.0.1:1"), timeout_s=2):
            pass


async def test_the_python_example_of_the_publishing_page_publishes_a_reset_the_consumer_accepts(
    kafka_bootstrap: str, create_topic: CreateTopic
) -> None:
    topic = await create_topic()
    code = only_block("publish_reset.py").replace('"kafka:9092"', repr(kafka_bootstrap))
    code = code.replace('publisher.publish("events"', f"publisher.publish({topic!r}")
    namespace: dict[str, Any] = {}
    source = "async def example():\n" + textwrap.indent(code, "    ")
    exec(compile(source, "publish_reset.py", "exec"), namespace)  # noqa: S102 - the page's own example

    await namespace["example"]()

    (record,) = await read_all(kafka_bootstrap, topic, idle_ms=800)
    event = validate(
        decode(
            Record(
                topic,
                0,
                0,
                record.key,
                record.value,
                tuple((k, v.encode()) for k, v in record.headers.items()),
            ),
            DecodeSettings(),
        )
    )
    assert (event.envelope.type, event.envelope.source, record.key) == (
        "com.example.user.password_reset_requested.v1",
        "/identity/password",
        b"usr_51Kq9",
    )
