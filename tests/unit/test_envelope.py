"""The envelope builder: both modes read back by the consumer and the SDK unchanged; ids of facts."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from cloudevents.core.bindings import kafka as sdk_kafka

from consumer.decode import decode, validate
from consumer.records import Record
from consumer.settings import DecodeSettings
from schemas.catalog import CATALOG
from schemas.envelope import EVENT_ID_NAMESPACE, Envelope, EnvelopeError, Mode, build, event_id
from schemas.orders import OrderShippedV1
from schemas.samples import examples, expand_time_placeholders
from schemas.types import EventData
from schemas.users import PasswordResetRequestedV1, UserSignedUpV1
from tests.integration.harness import ROOT
from tests.unit.test_docs_examples import only_block

MODES: tuple[Mode, ...] = ("structured", "binary")
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SAMPLES = ROOT / "consumer" / "samples" / "sample-events.ndjson"
# Deliberately broken sample events (the demo shows what the consumer does with them): no model
# instance can hold their data, so no builder wrote them.
BROKEN_SAMPLES = {"demo-0014-poison", "demo-0015-bad-address"}
STANDARD = ("specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "data")


def full_example(event_type: str) -> dict[str, Any]:
    (example,) = (e for e in examples(event_type) if e.name == "valid-full")
    loaded: dict[str, Any] = orjson.loads(example.read_bytes())
    return loaded


def instance(event_type: str) -> EventData:
    return CATALOG[event_type].model_validate_json(
        orjson.dumps(full_example(event_type)["data"]), strict=True
    )


def reset(**changes: Any) -> PasswordResetRequestedV1:
    fields: dict[str, Any] = {
        "request_id": "rst_1",
        "user_id": "usr_1",
        "email": "jane.doe@example.com",
        "reset_url": "https://app.example.com/reset?t=1",
        "expires_at": NOW + timedelta(hours=1),
        **changes,
    }
    return PasswordResetRequestedV1(**fields)


def as_record(event: Envelope, mode: Mode) -> Record:
    message = event.message(mode)
    return Record("events", 0, 0, message.key, message.value, message.headers)


# --- what the consumer reads ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("event_type", sorted(CATALOG))
def test_every_event_type_built_in_either_mode_passes_the_consumers_decoding_and_validation(
    event_type: str, mode: Mode
) -> None:
    data = instance(event_type)
    event = build(
        data,
        "/test/producer",
        time=NOW,
        extensions={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"},
    )

    decoded = validate(decode(as_record(event, mode), DecodeSettings()))

    envelope = decoded.envelope
    assert envelope.mode == mode
    assert (envelope.id, envelope.source, envelope.type, envelope.time) == (
        event_id(data),
        "/test/producer",
        event_type,
        NOW,
    )
    entity = getattr(data, type(data).KEY_FIELD)
    assert envelope.subject == entity
    assert dict(envelope.extensions)["partitionkey"] == entity
    assert event.message(mode).key == entity.encode()
    assert decoded.data == data


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("event_type", sorted(CATALOG))
def test_the_official_cloudevents_sdk_reads_what_the_builder_writes(event_type: str, mode: Mode) -> None:
    data = instance(event_type)
    event = build(data, "/test/producer", time=NOW)
    message = event.message(mode)

    sdk_event = sdk_kafka.from_kafka_event(
        sdk_kafka.KafkaMessage(dict(message.headers), message.key, message.value)
    )

    assert sdk_event.get_id() == event.id
    assert sdk_event.get_type() == event_type
    assert sdk_event.get_source() == "/test/producer"
    assert sdk_event.get_time() == NOW
    assert sdk_event.get_subject() == event.attributes["subject"]
    assert sdk_event.get_extension("partitionkey") == event.key
    assert sdk_event.get_data() == json.loads(orjson.dumps(data.model_dump(mode="json", exclude_unset=True)))
    # The SDK's own encoder keys the record by the partitionkey extension, as the builder does.
    assert sdk_kafka.to_binary_event(sdk_event).key == message.key.decode()


def test_structured_and_binary_carry_the_content_types_of_the_kafka_binding() -> None:
    event = build(reset(), "/identity/password", time=NOW)
    structured, binary = event.structured(), event.binary()
    assert dict(structured.headers) == {"content-type": b"application/cloudevents+json; charset=UTF-8"}
    assert orjson.loads(structured.value) == event.to_dict()
    headers = dict(binary.headers)
    assert headers["content-type"] == b"application/json"
    assert headers["ce_type"] == b"com.example.user.password_reset_requested.v1"
    assert headers["ce_time"] == b"2026-03-02T12:00:00.000Z"
    assert {"ce_data", "ce_datacontenttype"}.isdisjoint(headers)
    assert orjson.loads(binary.value) == event.data


# --- ids of facts -----------------------------------------------------------------------------------------


def test_the_id_is_uuid5_of_the_type_and_the_identity_fields_one_per_line() -> None:
    shipped = OrderShippedV1.model_validate_json(
        orjson.dumps(full_example("com.example.order.shipped.v1")["data"]), strict=True
    )
    expected = uuid.uuid5(
        EVENT_ID_NAMESPACE, f"com.example.order.shipped.v1\n{shipped.order_id}\n{shipped.tracking_number}"
    )
    assert event_id(shipped) == str(expected)
    failed = instance("com.example.billing.subscription_payment_failed.v1")
    name = "com.example.billing.subscription_payment_failed.v1\ninv_2026_0301\n2"  # integers in decimal
    assert event_id(failed) == str(uuid.uuid5(EVENT_ID_NAMESPACE, name))


def test_publishing_the_same_fact_again_gives_the_same_id_whatever_else_changed() -> None:
    first = build(reset(), "/identity/password", time=NOW)
    again = build(reset(first_name="Jane"), "/identity/password", time=NOW + timedelta(seconds=30))
    assert first.id == again.id
    assert build(reset(request_id="rst_2"), "/identity/password").id != first.id


def test_the_same_identity_values_in_two_event_types_are_two_facts() -> None:
    signup = UserSignedUpV1(user_id="usr_1", email="jane.doe@example.com")
    assert event_id(signup) != str(
        uuid.uuid5(EVENT_ID_NAMESPACE, "com.example.user.password_reset_requested.v1\nusr_1")
    )
    assert event_id(signup) == str(uuid.uuid5(EVENT_ID_NAMESPACE, "com.example.user.signed_up.v1\nusr_1"))


def test_without_its_identity_field_a_fact_needs_an_explicit_stable_id() -> None:
    with pytest.raises(EnvelopeError, match=r"PasswordResetRequestedV1\.request_id is needed"):
        build(reset(request_id=None), "/identity/password")
    assert build(reset(request_id=None), "/identity/password", id="outbox-4711").id == "outbox-4711"


def test_every_model_declares_an_entity_key_and_identity_fields() -> None:
    for model in CATALOG.values():
        assert model.model_fields[model.KEY_FIELD].is_required(), model
        assert set(model.IDENTITY_FIELDS) <= set(model.model_fields), model


# --- refusals ---------------------------------------------------------------------------------------------


def test_time_is_written_in_utc_and_a_naive_time_is_refused() -> None:
    zurich = timezone(timedelta(hours=1))
    assert build(reset(), "/p", time=datetime(2026, 3, 2, 13, 0, tzinfo=zurich)).attributes["time"] == (
        "2026-03-02T12:00:00.000Z"
    )
    with pytest.raises(EnvelopeError, match="UTC offset"):
        build(reset(), "/p", time=datetime(2026, 3, 2, 13, 0))  # naive: no UTC offset
    before = datetime.now(UTC)
    written = datetime.fromisoformat(build(reset(), "/p").attributes["time"])
    assert before - timedelta(milliseconds=1) <= written <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("source", "extensions", "message"),
    [
        ("", {}, "source: 1 to 1024"),
        ("/identity reset", {}, "no spaces"),
        ("/p", {"partitionkey": "x"}, "extension 'partitionkey'"),
        ("/p", {"Trace": "x"}, "extension 'Trace'"),
        ("/p", {"traceparent": "a\nb"}, "traceparent: no control characters"),
    ],
)
def test_envelope_arguments_the_consumer_would_refuse_are_refused(
    source: str, extensions: dict[str, str], message: str
) -> None:
    with pytest.raises(EnvelopeError, match=message):
        build(reset(), source, extensions=extensions)


def test_data_that_skipped_validation_is_refused_before_it_is_sent() -> None:
    unchecked = PasswordResetRequestedV1.model_construct(**{**reset().__dict__, "email": "not-an-address"})
    with pytest.raises(ValueError, match="email"):
        build(unchecked, "/identity/password")


# --- the committed events were written by the builder -----------------------------------------------------


def _same_event(written: dict[str, Any], built: Envelope) -> None:
    """Attribute for attribute, and field for field as the model reads them (timestamps as instants)."""
    expected = built.to_dict()
    assert {k: v for k, v in written.items() if k not in ("time", "data")} == {
        k: v for k, v in expected.items() if k not in ("time", "data")
    }
    assert datetime.fromisoformat(written["time"]) == datetime.fromisoformat(expected["time"])
    model = CATALOG[written["type"]]
    assert model.model_validate(written["data"]) == model.model_validate(expected["data"])
    assert written["data"].keys() == expected["data"].keys()


def test_every_valid_full_example_is_what_the_builder_writes_with_a_derived_id() -> None:
    for event_type in CATALOG:
        written = full_example(event_type)
        data = CATALOG[event_type].model_validate_json(orjson.dumps(written["data"]), strict=True)
        extensions = {k: v for k, v in written.items() if k not in (*STANDARD, "partitionkey")}
        built = build(
            data,
            written["source"],
            time=datetime.fromisoformat(written["time"]),
            dataschema=written["dataschema"],
            extensions=extensions,
        )
        _same_event(written, built)


def test_the_demo_sample_events_are_what_the_builder_writes() -> None:
    lines = expand_time_placeholders(SAMPLES.read_text(encoding="utf-8"), NOW).splitlines()
    built_ids = []
    for line in lines:
        try:
            written = json.loads(line)
        except ValueError:
            continue  # the poison record: a truncated line
        if written["id"] in BROKEN_SAMPLES:
            continue
        data = CATALOG[written["type"]].model_validate_json(orjson.dumps(written["data"]), strict=True)
        built = build(data, written["source"], id=written["id"], time=datetime.fromisoformat(written["time"]))
        _same_event(written, built)
        built_ids.append(written["id"])
    assert len(built_ids) == len(lines) - len(BROKEN_SAMPLES)


# --- the publishing page ----------------------------------------------------------------------------------


def test_the_node_id_example_of_the_publishing_page_derives_the_builders_id(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node is not None, "node is needed (deploy/tools/install.sh needs it too)"
    script = tmp_path / "event-id.mjs"
    script.write_text(only_block("event-id.mjs"), encoding="utf-8")
    shipped = OrderShippedV1.model_validate_json(
        orjson.dumps(full_example("com.example.order.shipped.v1")["data"]), strict=True
    )

    out = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60, check=True)

    assert out.stdout.strip() == event_id(shipped) == full_example("com.example.order.shipped.v1")["id"]
    page = (ROOT / "docs" / "events" / "publishing.md").read_text(encoding="utf-8")
    assert f"= `{event_id(shipped)}`" in page
    assert f"namespace `{EVENT_ID_NAMESPACE}`" in page
    for model in CATALOG.values():
        fields = ", ".join(f"`{name}`" for name in model.IDENTITY_FIELDS)
        assert f"| `{model.EVENT_TYPE}` | {fields} |" in page
