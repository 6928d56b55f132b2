"""``consumer publish`` input: JSON / NDJSON with line numbers, encoding in both binding modes, validation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from cloudevents.v1 import kafka as sdk_kafka
from hypothesis import given, settings
from hypothesis import strategies as st

from consumer.decode import decode
from consumer.errors import ConsumerError
from consumer.ops.publish_input import Options, Outgoing, SourceEvent, event_key, prepare, read_events
from consumer.records import Record
from consumer.settings import DecodeSettings
from schemas.envelope import event_id
from schemas.samples import examples
from schemas.users import UserSignedUpV1

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SIGNED_UP = "com.example.user.signed_up.v1"


def signup(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "/identity/signup",
        "type": SIGNED_UP,
        "subject": "usr_1",
        "time": "2026-03-02T09:15:00Z",
        "datacontenttype": "application/json",
        "data": {"user_id": "usr_1", "email": "jane.doe@example.com", "first_name": "Jane"},
    }
    event.update(overrides)
    return {k: v for k, v in event.items() if v is not None}


def ndjson(*events: Any) -> bytes:
    return b"\n".join(e if isinstance(e, bytes) else orjson.dumps(e) for e in events) + b"\n"


def prepared(data: bytes, **options: Any) -> list[Outgoing]:
    return [prepare(item, Options(**options), now=NOW) for item in read_events(data, now=NOW)]


def as_record(out: Outgoing) -> Record:
    return Record("t", 0, 0, out.key, out.value, out.headers)


# --- reading -------------------------------------------------------------------------------------------


def test_ndjson_lines_are_numbered_and_blank_lines_skipped() -> None:
    data = orjson.dumps(signup(id="a")) + b"\n\n" + orjson.dumps(signup(id="b")) + b"\n"
    items = read_events(data, now=NOW)
    assert [(i.line, i.value["id"]) for i in items] == [(1, "a"), (3, "b")]


def test_a_malformed_ndjson_line_is_reported_on_its_line_and_reading_resumes() -> None:
    data = ndjson(signup(id="a"), b'{"id": "b", oops}', signup(id="c"))
    items = read_events(data, now=NOW)
    assert [i.line for i in items] == [1, 2, 3]
    assert items[1].problem is not None
    assert items[1].problem.startswith("not valid JSON (at column")
    assert items[2].value["id"] == "c"


def test_a_truncated_line_is_reported_on_its_own_line_where_its_text_ends() -> None:
    whole = orjson.dumps(signup(id="c"))
    data = ndjson(signup(id="a"), b'{"id": "b", "type": "x"', whole)
    items = read_events(data, now=NOW)
    assert [(i.line, i.problem) for i in items] == [
        (1, None),
        (2, "not valid JSON (incomplete at the end of the line, column 24)"),
        (3, None),
    ]


def test_a_truncated_last_line_is_reported_on_its_own_line() -> None:
    (item,) = read_events(b'{"id": "a"\n\n', now=NOW)
    assert (item.line, item.problem) == (1, "not valid JSON (incomplete at the end of the line, column 11)")


def test_a_pretty_printed_object_missing_a_comma_points_at_the_line_that_lacks_it() -> None:
    (item, *_) = read_events(b'{\n  "a": 1\n  "b": 2\n}\n', now=NOW)
    assert (item.line, item.problem) == (1, "not valid JSON (incomplete at the end of line 2, column 9)")


def test_array_elements_carry_the_line_they_start_on() -> None:
    data = b'[\n  {"id": "a"},\n\n  {"id": "b",\n   "x": 1}\n]\n'
    items = read_events(data, now=NOW)
    assert [(i.line, i.value["id"]) for i in items] == [(2, "a"), (4, "b")]


def test_a_pretty_printed_single_object_is_one_event() -> None:
    data = orjson.dumps(signup(), option=orjson.OPT_INDENT_2)
    items = read_events(data, now=NOW)
    assert len(items) == 1
    assert items[0].value == signup()


def test_a_broken_array_stops_with_the_line_of_the_break() -> None:
    with pytest.raises(ConsumerError, match=r"^line 3: not valid JSON"):
        read_events(b'[\n {"id": "a"},\n {"id": }\n]', now=NOW)


def test_input_that_is_not_utf8_names_the_line() -> None:
    with pytest.raises(ConsumerError, match=r"^line 2: input is not valid UTF-8"):
        read_events(b'{"a": 1}\n{"a": "\xff"}\n', now=NOW)


def test_nan_is_refused_like_the_consumer_refuses_it() -> None:
    (item,) = read_events(b'{"a": NaN}', now=NOW)
    assert item.problem is not None
    assert "not valid JSON" in item.problem


def test_time_placeholders_are_expanded_unless_switched_off() -> None:
    data = orjson.dumps(signup(time="{{now-2h}}"))
    (expanded,) = read_events(data, now=NOW)
    (kept,) = read_events(data, now=NOW, expand_time=False)
    assert expanded.value["time"] == "2026-03-02T10:00:00.000Z"
    assert kept.value["time"] == "{{now-2h}}"


# --- validation ------------------------------------------------------------------------------------------


def test_an_invalid_event_names_its_line_and_field_but_never_the_value() -> None:
    bad = signup(data={"user_id": "usr_2", "email": "not-an-address@@example.com"})
    outs = prepared(ndjson(signup(), bad))
    assert outs[0].problem is None
    assert outs[1].problem is not None
    assert outs[1].problem.startswith("line 2: schema_violation:")
    assert "data.email" in outs[1].problem
    assert "not-an-address" not in outs[1].problem


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (signup(type="com.example.nope.v1"), "line 1: unknown_event_type"),
        (signup(id=None), "line 1: missing_attribute: required attribute id is missing"),
        (signup(time="yesterday"), "line 1: invalid_attribute: attribute time is not an RFC 3339 timestamp"),
        ("an event?", "line 1: an event must be an object"),
    ],
)
def test_envelope_problems_name_the_attribute(event: Any, expected: str) -> None:
    (out,) = prepared(orjson.dumps(event))
    assert out.problem is not None
    assert out.problem.startswith(expected)


def test_fill_id_and_fill_time_only_when_asked() -> None:
    bare = signup(id=None, time=None)
    (unfilled,) = prepared(orjson.dumps(bare))
    (filled,) = prepared(orjson.dumps(bare), fill_id=True, fill_time=True)
    assert unfilled.problem is not None
    assert "id is missing" in unfilled.problem
    assert filled.problem is None
    event = decode(as_record(filled), DecodeSettings())
    assert len(event.id) == 36
    assert event.time == NOW


def test_fill_id_derives_the_id_of_the_fact_as_the_builder_does_so_a_second_run_keeps_it() -> None:
    bare = signup(id=None)
    first, again = (prepared(orjson.dumps(bare), fill_id=True)[0] for _ in range(2))
    derived = event_id(UserSignedUpV1.model_validate(bare["data"]))
    assert decode(as_record(first), DecodeSettings()).id == derived
    assert decode(as_record(again), DecodeSettings()).id == derived


def test_fill_id_without_the_identity_value_is_a_problem_naming_the_field() -> None:
    reset = {**signup(id=None), "type": "com.example.user.password_reset_requested.v1"}
    reset["data"] = {
        **reset["data"],
        "reset_url": "https://app.example.com/r",
        "expires_at": "2026-03-02T13:00:00Z",
    }
    (out,) = prepared(orjson.dumps(reset), fill_id=True)
    assert out.problem == (
        "line 1: --fill-id: PasswordResetRequestedV1.request_id is needed to derive the event id: set it, "
        "or give the event a stable id of this fact (never a new random one per attempt)"
    )
    (invalid,) = prepared(orjson.dumps(signup(id=None, data={"user_id": "usr_1"})), fill_id=True)
    assert invalid.problem is not None
    assert invalid.problem.startswith("line 1: --fill-id: no id derived from invalid data (schema_violation:")


def test_fill_never_overwrites_a_present_id_or_time() -> None:
    (out,) = prepared(orjson.dumps(signup()), fill_id=True, fill_time=True)
    event = decode(as_record(out), DecodeSettings())
    assert (event.id, event.time) == ("evt-1", datetime(2026, 3, 2, 9, 15, tzinfo=UTC))


# --- keys ------------------------------------------------------------------------------------------------


def test_key_defaults_to_partitionkey_then_subject_then_id() -> None:
    assert event_key(signup(partitionkey="ord_7"), None) == (b"ord_7", None)
    assert event_key(signup(), None) == (b"usr_1", None)
    assert event_key(signup(subject=None), None) == (b"evt-1", None)


def test_key_from_a_field_path() -> None:
    assert event_key(signup(), "data.user_id") == (b"usr_1", None)
    assert event_key({"data": {"n": 42}}, "data.n") == (b"42", None)


def test_a_missing_key_field_is_a_problem_and_falls_back_to_the_default_key() -> None:
    key, problem = event_key(signup(), "data.nope")
    assert key == b"usr_1"
    assert problem == "key field data.nope is missing or not a string/integer"
    (out,) = prepared(orjson.dumps(signup()), key_field="data.nope")
    assert out.problem == "line 1: key field data.nope is missing or not a string/integer"


@pytest.mark.parametrize("path", ["", "data..x", "data.x y", "a" * 65, "$.data"])
def test_a_malformed_key_path_is_refused_at_once(path: str) -> None:
    with pytest.raises(ConsumerError, match=r"^--key:"):
        Options(key_field=path)


# --- binding modes ---------------------------------------------------------------------------------------


def test_binary_mode_follows_the_kafka_binding_so_the_sdk_reads_it() -> None:
    (out,) = prepared(orjson.dumps(signup()), mode="binary")
    headers = dict(out.headers)
    assert headers["content-type"] == b"application/json"
    assert headers["ce_id"] == b"evt-1"
    assert "ce_data" not in headers
    assert "ce_datacontenttype" not in headers
    sdk = sdk_kafka.from_binary(sdk_kafka.KafkaMessage(headers, out.key, out.value or b""))
    assert sdk["type"] == SIGNED_UP
    assert sdk["subject"] == "usr_1"
    assert sdk.data == signup()["data"]


def test_structured_mode_is_the_event_as_json_with_the_cloudevents_content_type() -> None:
    (out,) = prepared(orjson.dumps(signup()))
    assert dict(out.headers)["content-type"].startswith(b"application/cloudevents+json")
    assert orjson.loads(out.value or b"") == signup()


def test_every_catalog_example_gets_the_same_verdict_in_both_modes() -> None:
    for example in examples():
        item = SourceEvent(1, orjson.loads(example.read_bytes()), example.read_bytes())
        structured = prepare(item, Options(mode="structured"), now=NOW)
        binary = prepare(item, Options(mode="binary"), now=NOW)
        assert (structured.problem is None) == example.valid, example.path
        assert (binary.problem is None) == example.valid, example.path


_attribute_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    event_id=_attribute_text,
    subject=st.none() | _attribute_text,
    extension=st.none() | st.one_of(_attribute_text, st.integers(-(2**40), 2**40), st.booleans()),
)
def test_the_binding_mode_never_changes_the_verdict_nor_what_the_consumer_decodes(
    event_id: str, subject: str | None, extension: str | int | bool | None
) -> None:
    event = signup(id=event_id, subject=subject, partitionkey=extension)
    item = SourceEvent(1, event, orjson.dumps(event))
    structured, binary = (prepare(item, Options(mode=mode), now=NOW) for mode in ("structured", "binary"))
    assert (structured.problem is None) == (binary.problem is None)
    if structured.problem is None:
        a, b = (decode(as_record(out), DecodeSettings()) for out in (structured, binary))
        assert (a.id, a.source, a.type, a.subject, a.time, a.data, dict(a.extensions)) == (
            b.id,
            b.source,
            b.type,
            b.subject,
            b.time,
            b.data,
            dict(b.extensions),
        )
