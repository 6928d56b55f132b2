"""Decoding guards and the CloudEvents Kafka binding (structured, binary, SDK-produced records)."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from cloudevents.core.bindings import kafka as core_kafka
from cloudevents.core.v1.event import CloudEvent as CoreEvent
from cloudevents.v1 import kafka as v1_kafka
from cloudevents.v1.http import CloudEvent as V1Event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumer.decode import CloudEvent, check_depth, decode, peek_identity
from consumer.errors import InputError
from consumer.outcome import Reason
from consumer.records import Record
from consumer.settings import DecodeSettings

SETTINGS = DecodeSettings()
CE_JSON = b"application/cloudevents+json"
SIGNED_UP = "com.example.user.signed_up.v1"


def event(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "/identity/signup",
        "type": SIGNED_UP,
        "time": "2026-03-02T09:15:00Z",
        "data": {"user_id": "usr_1", "email": "jane.doe@example.com"},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def structured(
    body: Any, content_type: bytes | None = CE_JSON, extra: Iterable[tuple[str, bytes]] = ()
) -> Record:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = ((("content-type", content_type),) if content_type is not None else ()) + tuple(extra)
    return Record("events", 0, 7, b"key", raw, headers)


def binary(
    attributes: Mapping[str, str | bytes] | None = None,
    data: bytes | None = None,
    content_type: bytes | None = None,
) -> Record:
    attrs: dict[str, str | bytes] = {
        "specversion": "1.0",
        "id": "evt-2",
        "source": "/identity/signup",
        "type": SIGNED_UP,
        "time": "2026-03-02T09:15:00Z",
    }
    attrs.update(attributes or {})
    headers = [(f"ce_{k}", v if isinstance(v, bytes) else v.encode()) for k, v in attrs.items()]
    if content_type is not None:
        headers.append(("content-type", content_type))
    value = data if data is not None else b'{"user_id": "usr_2", "email": "max@example.org"}'
    return Record("events", 1, 9, None, value, tuple(headers))


def reason(record: Record, config: DecodeSettings = SETTINGS) -> Reason:
    with pytest.raises(InputError) as caught:
        decode(record, config)
    return caught.value.code


# --- happy paths ------------------------------------------------------------------------------------


def test_a_structured_event_decodes_with_its_attributes_extensions_and_data() -> None:
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    result = decode(structured(event(subject="usr_1", traceparent=trace, partitionkey="usr_1")), SETTINGS)
    assert (result.id, result.source, result.type, result.subject, result.mode) == (
        "evt-1",
        "/identity/signup",
        SIGNED_UP,
        "usr_1",
        "structured",
    )
    assert result.time is not None
    assert result.time.utcoffset() is not None
    assert result.time.isoformat() == "2026-03-02T09:15:00+00:00"
    assert dict(result.extensions) == {"traceparent": trace, "partitionkey": "usr_1"}
    assert result.data == {"user_id": "usr_1", "email": "jane.doe@example.com"}


@pytest.mark.parametrize(
    "content_type",
    [
        b"application/cloudevents+json; charset=UTF-8",
        b"Application/CloudEvents+JSON",
        b"application/cloudevents+json;",
    ],
)
def test_the_structured_content_type_is_matched_case_insensitively_with_parameters(
    content_type: bytes,
) -> None:
    assert decode(structured(event(), content_type), SETTINGS).mode == "structured"


def test_a_binary_event_maps_ce_headers_to_attributes_and_content_type_to_datacontenttype() -> None:
    result = decode(
        binary({"subject": "usr_2", "traceparent": "00-ab-cd-01"}, content_type=b"application/json"), SETTINGS
    )
    assert result.mode == "binary"
    assert (result.id, result.subject, result.datacontenttype) == ("evt-2", "usr_2", "application/json")
    assert dict(result.extensions) == {"traceparent": "00-ab-cd-01"}
    assert result.data == {"user_id": "usr_2", "email": "max@example.org"}


def test_binary_header_names_are_matched_case_insensitively() -> None:
    record = binary()
    shouted = Record(record.topic, 0, 0, None, record.value, tuple((k.upper(), v) for k, v in record.headers))
    assert decode(shouted, SETTINGS).id == "evt-2"


def test_a_binary_event_without_content_type_is_taken_as_json() -> None:
    assert decode(binary(), SETTINGS).datacontenttype is None


def test_a_record_without_headers_is_structured_when_the_value_is_a_cloudevent() -> None:
    assert decode(structured(event(), content_type=None), SETTINGS).mode == "structured"


def test_a_record_without_headers_and_without_specversion_is_missing_an_attribute() -> None:
    assert reason(structured({"user_id": "x"}, content_type=None)) is Reason.MISSING_ATTRIBUTE


def test_structured_ce_headers_are_ignored_in_favour_of_the_value() -> None:
    record = structured(event(), extra=[("ce_id", b"header-id"), ("ce_type", b"other")])
    assert decode(record, SETTINGS).id == "evt-1"


def test_data_base64_with_a_json_payload_decodes() -> None:
    payload = base64.b64encode(b'{"user_id": "usr_1", "email": "a@example.com"}').decode()
    assert decode(structured(event(data=..., data_base64=payload)), SETTINGS).data["user_id"] == "usr_1"


def test_an_event_without_data_decodes_with_none() -> None:
    assert decode(structured(event(data=...)), SETTINGS).data is None


# --- the cloudevents SDK ----------------------------------------------------------------------------


def _sdk_record(headers: Mapping[str, bytes], key: str | bytes | None, value: str | bytes) -> Record:
    encoded_key = key.encode() if isinstance(key, str) else key
    encoded_value = value.encode() if isinstance(value, str) else value
    return Record("events", 0, 0, encoded_key, encoded_value, tuple(headers.items()))


# The v1 API's to_binary needs a datacontenttype (it raises KeyError without one); its to_structured
# moves datacontenttype into the content-type header, or sends no header at all.
@pytest.mark.parametrize(
    ("mode", "with_content_type"), [("binary", True), ("structured", True), ("structured", False)]
)
def test_records_from_the_sdk_v1_kafka_api_decode(mode: str, with_content_type: bool) -> None:
    attributes = {"type": SIGNED_UP, "source": "/identity/signup", "partitionkey": "usr_1"}
    if with_content_type:
        attributes["datacontenttype"] = "application/json"
    sdk_event = V1Event.create(attributes, {"user_id": "usr_1", "email": "jane@example.com"})
    message = v1_kafka.to_binary(sdk_event) if mode == "binary" else v1_kafka.to_structured(sdk_event)
    result = decode(_sdk_record(message.headers, message.key, message.value), SETTINGS)
    assert result.mode == mode
    assert (result.id, result.type, result.source) == (sdk_event["id"], SIGNED_UP, "/identity/signup")
    assert result.data == {"user_id": "usr_1", "email": "jane@example.com"}
    assert result.time is not None


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_records_from_the_sdk_core_kafka_binding_decode(mode: str) -> None:
    sdk_event = CoreEvent(
        attributes={"type": SIGNED_UP, "source": "/identity/signup", "datacontenttype": "application/json"},
        data={"user_id": "usr_1", "email": "jane@example.com"},
    )
    message = (
        core_kafka.to_binary_event(sdk_event)
        if mode == "binary"
        else core_kafka.to_structured_event(sdk_event)
    )
    result = decode(_sdk_record(message.headers, message.key, message.value), SETTINGS)
    assert (result.mode, result.id, result.time) == (mode, sdk_event.get_id(), sdk_event.get_time())
    assert result.data == {"user_id": "usr_1", "email": "jane@example.com"}


# --- guards -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, b""])
def test_a_record_without_value_is_empty(value: bytes | None) -> None:
    assert reason(Record("events", 0, 0, None, value)) is Reason.EMPTY_VALUE


def test_a_value_above_the_limit_is_oversize() -> None:
    big = event(data={"user_id": "u", "email": "a@example.com", "pad": "x" * 70_000})
    assert reason(structured(big)) is Reason.OVERSIZE


def test_ce_headers_count_towards_the_size_limit() -> None:
    assert reason(binary({"subject": "s" * 300}), DecodeSettings(max_bytes=400)) is Reason.OVERSIZE


def test_a_value_just_under_the_limit_passes_the_size_guard() -> None:
    raw = orjson.dumps(event(subject="s" * 100))
    record = structured(raw)
    exact = len(raw) + len("content-type") + len(CE_JSON)
    assert decode(record, DecodeSettings(max_bytes=exact)).id == "evt-1"
    assert reason(record, DecodeSettings(max_bytes=exact - 1)) is Reason.OVERSIZE


@pytest.mark.parametrize(
    "record",
    [
        structured(b'{"specversion": "1.0", "id": "\xff\xfe"}'),
        binary(data=b'{"name": "\xc3\x28"}'),
        binary({"id": b"evt-\xff"}),
        structured(event(), content_type=b"application/\xffjson"),
    ],
    ids=["structured-value", "binary-value", "binary-header", "content-type"],
)
def test_bytes_that_are_not_utf8_are_refused(record: Record) -> None:
    assert reason(record) is Reason.INVALID_UTF8


def test_nesting_above_the_limit_is_too_deep_before_parsing() -> None:
    deep = b'{"specversion": "1.0", "data": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}"
    assert reason(structured(deep)) is Reason.TOO_DEEP


def test_hostile_nesting_far_beyond_any_parser_limit_is_too_deep_not_a_crash() -> None:
    assert reason(binary(data=b"[" * 200_000), DecodeSettings(max_bytes=10**6)) is Reason.TOO_DEEP


def test_brackets_inside_strings_do_not_count_towards_depth() -> None:
    noisy = event(data={"user_id": "u", "email": "a@example.com", "note": "[[[[{{{{" * 50 + '\\"[[['})
    assert decode(structured(noisy), SETTINGS).data["note"].startswith("[[[[")


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"a": 1,}',
        b"{'a': 1}",
        b'{"a": NaN}',
        b'{"a": 1e400}',
        b'{"a": 1} trailing',
        b"\xef\xbb\xbf{}",
    ],
)
def test_malformed_json_is_invalid_json(raw: bytes) -> None:
    assert reason(structured(raw)) is Reason.INVALID_JSON


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"42", b"null", b"true"])
def test_a_structured_value_that_is_not_an_object_is_refused(raw: bytes) -> None:
    assert reason(structured(raw)) is Reason.NOT_OBJECT


@pytest.mark.parametrize("data", [[1, 2], "text", 42])
def test_data_that_is_not_an_object_is_refused(data: Any) -> None:
    assert reason(structured(event(data=data))) is Reason.NOT_OBJECT
    assert reason(binary(data=orjson.dumps(data))) is Reason.NOT_OBJECT


@pytest.mark.parametrize(
    "record",
    [
        structured(event(), b"application/cloudevents-batch+json"),
        structured(event(), b"application/cloudevents+avro"),
        structured(event(datacontenttype="application/xml", data="<a/>")),
        binary(content_type=b"text/plain"),
        binary(content_type=b"application/json; charset=iso-8859-1"),
        structured(event(), content_type=b"application/avro"),
    ],
    ids=["batch", "avro-format", "xml-data", "text-binary", "latin1", "avro-no-ce-headers"],
)
def test_content_types_other_than_json_are_unsupported(record: Record) -> None:
    assert reason(record) is Reason.UNSUPPORTED_CONTENT_TYPE


@pytest.mark.parametrize(
    "json_type", ["application/json", "text/json", "application/vnd.example+json; charset=utf-8"]
)
def test_json_media_types_are_accepted_as_data(json_type: str) -> None:
    assert decode(structured(event(datacontenttype=json_type)), SETTINGS).datacontenttype == json_type


@pytest.mark.parametrize("name", ["specversion", "id", "source", "type"])
def test_each_required_attribute_missing_is_reported(name: str) -> None:
    assert reason(structured(event(**{name: ...}))) is Reason.MISSING_ATTRIBUTE
    record = binary()
    without = tuple(h for h in record.headers if h[0] != f"ce_{name}")
    assert reason(Record("events", 0, 0, None, record.value, without)) is Reason.MISSING_ATTRIBUTE


@pytest.mark.parametrize(
    "overrides",
    [
        {"specversion": "0.3"},
        {"id": ""},
        {"id": 42},
        {"source": "/with space"},
        {"id": "x" * 257},
        {"time": "yesterday"},
        {"time": "2026-03-02T09:15:00"},
        {"time": "2026-02-30T09:15:00Z"},
        {"subject": ""},
        {"traceparent": {"nested": "object"}},
        {"sampled": 2**40},
        {"Trace-Parent": "x"},
        {"data_base64": "e30="},
        {"data": ..., "data_base64": "%%%"},
        {"data": ..., "data_base64": 12},
    ],
)
def test_malformed_attributes_are_invalid(overrides: dict[str, Any]) -> None:
    assert reason(structured(event(**overrides))) is Reason.INVALID_ATTRIBUTE


def test_extension_integers_and_booleans_become_strings() -> None:
    result = decode(structured(event(sampled=True, priority=3)), SETTINGS)
    assert dict(result.extensions) == {"sampled": "true", "priority": "3"}


def test_a_repeated_ce_header_with_a_different_value_is_invalid() -> None:
    record = binary()
    repeated = Record("events", 0, 0, None, record.value, (*record.headers, ("ce_id", b"other")))
    assert reason(repeated) is Reason.INVALID_ATTRIBUTE


def test_ten_thousand_extension_attributes_are_refused_without_parsing_them_all() -> None:
    crowded = event(**{f"x{i}": "v" for i in range(10_000)})
    assert reason(structured(crowded)) is Reason.OVERSIZE
    assert reason(structured(crowded), DecodeSettings(max_bytes=10**6)) is Reason.INVALID_ATTRIBUTE


@pytest.mark.parametrize("bad", ["\r\n", "\n", "\x00", "\x1b[31m", "\u2028", "\x7f"])
@pytest.mark.parametrize("name", ["id", "source", "type", "subject", "traceparent"])
def test_control_characters_in_single_line_attributes_are_refused(name: str, bad: str) -> None:
    value = f"/x{bad}Bcc: victim@example.org"
    assert reason(structured(event(**{name: value}))) is Reason.CONTROL_CHARACTERS
    assert reason(binary({name: value})) is Reason.CONTROL_CHARACTERS


@pytest.mark.parametrize(
    ("exc", "expected", "message"),
    [
        (RecursionError(), Reason.TOO_DEEP, "nesting too deep to decode"),
        (MemoryError(), Reason.OVERSIZE, "record too large to decode"),
        (UnicodeError(), Reason.INVALID_UTF8, "record is not valid UTF-8"),
        (ValueError(), Reason.INVALID_JSON, "record could not be decoded (ValueError)"),
        (KeyError("x"), Reason.INVALID_JSON, "record could not be decoded (KeyError)"),
    ],
)
def test_unexpected_exceptions_from_the_parser_become_reasons(
    monkeypatch: pytest.MonkeyPatch, exc: Exception, expected: Reason, message: str
) -> None:
    def explode(_raw: bytes) -> Any:
        raise exc

    monkeypatch.setattr(orjson, "loads", explode)
    with pytest.raises(InputError) as caught:
        decode(structured(event()), SETTINGS)
    assert (caught.value.code, str(caught.value)) == (expected, message)


def test_the_event_repr_shows_no_data() -> None:
    result = decode(structured(event()), SETTINGS)
    assert isinstance(result, CloudEvent)
    assert "jane" not in repr(result)
    assert "evt-1" in repr(result)


# --- depth scan -------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(alphabet='ab[]{}"\\', max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet="k[{", max_size=3), inner, max_size=3)
    ),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(value=json_values, limit=st.integers(min_value=0, max_value=8))
def test_the_depth_scan_agrees_with_the_parsed_structure(value: Any, limit: int) -> None:
    raw = orjson.dumps(value)
    if _depth(value) > limit:
        with pytest.raises(InputError) as caught:
            check_depth(raw, limit)
        assert caught.value.code is Reason.TOO_DEEP
    else:
        check_depth(raw, limit)


# --- nothing escapes --------------------------------------------------------------------------------

header_names = st.sampled_from(
    ["content-type", "ce_id", "ce_type", "ce_source", "ce_specversion", "ce_time", "ce_x"]
)
header_values = st.sampled_from([b"1.0", b"application/json", CE_JSON, b"\xff", b"\r\n", b""]) | st.binary(
    max_size=20
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=st.none() | st.binary(max_size=300) | json_values.map(orjson.dumps),
    headers=st.lists(st.tuples(header_names, header_values), max_size=6),
)
def test_arbitrary_records_yield_an_event_or_an_input_error(value: bytes | None, headers: list[Any]) -> None:
    record = Record("events", 0, 0, None, value, tuple(headers))
    with contextlib.suppress(InputError):  # anything else fails the test
        decode(record, DecodeSettings(max_bytes=256, max_depth=4))
    peek_identity(record)


attribute_values = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8) | json_values
)


@settings(max_examples=400)
@given(
    overrides=st.dictionaries(
        st.sampled_from([*event(), "subject", "traceparent", "data_base64"]), attribute_values
    )
)
def test_mutated_structured_events_yield_an_event_or_an_input_error(overrides: dict[str, Any]) -> None:
    with contextlib.suppress(InputError):  # anything else fails the test
        decode(structured(event(**overrides)), SETTINGS)


# --- peek_identity ----------------------------------------------------------------------------------


def test_peek_identity_reads_binary_headers_first() -> None:
    assert peek_identity(binary()) == (SIGNED_UP, "evt-2")


def test_peek_identity_reads_a_structured_value() -> None:
    assert peek_identity(structured(event())) == (SIGNED_UP, "evt-1")


def test_peek_identity_of_poison_is_none_and_does_not_raise() -> None:
    assert peek_identity(structured(b'{"id": "x", "type": ')) == (None, None)
    assert peek_identity(Record("events", 0, 0, None, b"[" * 100_000)) == (None, None)


def test_peek_identity_strips_control_characters_and_truncates() -> None:
    event_type, event_id = peek_identity(structured(event(type="a\r\nb", id="i" * 1000)))
    assert event_type == "a??b"
    assert event_id == "i" * 256


# --- exact limits, the binary binding's details and what a rejection says ---------------------------


def headers_record(headers: Iterable[tuple[str, bytes | None]], value: bytes | None = None) -> Record:
    body = value if value is not None else b'{"user_id": "usr_2", "email": "max@example.org"}'
    return Record("events", 1, 9, None, body, tuple(headers))  # type: ignore[arg-type]


def ce_headers(**overrides: bytes | None) -> list[tuple[str, bytes | None]]:
    return [
        (f"ce_{k}", v) for k, v in {**{k: v.encode() for k, v in binary_attrs().items()}, **overrides}.items()
    ]


def binary_attrs() -> dict[str, str]:
    return {"specversion": "1.0", "id": "evt-2", "source": "/identity/signup", "type": SIGNED_UP}


def test_headers_before_the_ce_headers_do_not_hide_the_binary_mode() -> None:
    record = headers_record([("traceid", b"abc"), ("x-origin", b"billing"), *ce_headers()])
    result = decode(record, SETTINGS)
    assert (result.mode, result.id) == ("binary", "evt-2")


def test_headers_other_than_ce_and_content_type_do_not_count_towards_the_size_limit() -> None:
    record = headers_record(ce_headers(subject=b"s" * 300))
    exact = len(record.value or b"") + sum(len(k) + len(v or b"") for k, v in record.headers)
    padded = headers_record([("x-padding", b"p" * 1000), *record.headers])
    assert decode(padded, DecodeSettings(max_bytes=exact)).id == "evt-2"
    assert reason(padded, DecodeSettings(max_bytes=exact - 1)) is Reason.OVERSIZE


def test_a_ce_header_without_a_value_is_an_empty_attribute() -> None:
    assert reason(headers_record(ce_headers(subject=None))) is Reason.INVALID_ATTRIBUTE


@pytest.mark.parametrize("value", [None, b""])
def test_a_content_type_header_without_a_value_is_an_empty_datacontenttype(value: bytes | None) -> None:
    record = headers_record([*ce_headers(), ("content-type", value)])
    with pytest.raises(InputError) as caught:
        decode(record, SETTINGS)
    assert (caught.value.code, str(caught.value)) == (
        Reason.INVALID_ATTRIBUTE,
        "attribute datacontenttype must not be empty",
    )


@pytest.mark.parametrize("name", ["data", "datacontenttype"])
def test_ce_data_and_ce_datacontenttype_headers_are_refused(name: str) -> None:
    record = headers_record(ce_headers(**{name: b"application/json"}))
    with pytest.raises(InputError) as caught:
        decode(record, SETTINGS)
    assert (caught.value.code, str(caught.value)) == (
        Reason.INVALID_ATTRIBUTE,
        f"header ce_{name} is not allowed or repeated",
    )


def test_a_repeated_ce_header_with_the_same_value_is_accepted() -> None:
    record = headers_record([*ce_headers(), ("ce_id", b"evt-2")])
    assert decode(record, SETTINGS).id == "evt-2"


def extensions(count: int) -> dict[str, bytes | None]:
    return {f"x{i}": b"v" for i in range(count)}


def test_forty_ce_headers_are_accepted_repeats_included() -> None:
    # 4 required + subject, time, dataschema + 32 extensions = 39 distinct, plus one identical repeat.
    attributes = {"subject": b"usr_2", "time": b"2026-03-02T09:15:00Z", "dataschema": b"/s", **extensions(32)}
    headers = [*ce_headers(**attributes), ("ce_id", b"evt-2")]
    assert len(headers) == 40
    result = decode(headers_record(headers), SETTINGS)
    assert len(result.extensions) == 32


def test_forty_one_ce_headers_are_too_many_even_when_they_are_repeats() -> None:
    headers = [*ce_headers(), *[("ce_id", b"evt-2")] * 37]
    assert len(headers) == 41
    with pytest.raises(InputError) as caught:
        decode(headers_record(headers), SETTINGS)
    assert (caught.value.code, str(caught.value)) == (Reason.INVALID_ATTRIBUTE, "too many ce_ headers")


@pytest.mark.parametrize("count", [32, 33])
def test_at_most_32_extension_attributes_are_accepted(count: int) -> None:
    structured_event = structured(event(**dict.fromkeys(extensions(count), "v")))
    binary_event = headers_record(ce_headers(**extensions(count)))
    if count == 32:
        assert len(decode(structured_event, SETTINGS).extensions) == 32
        assert len(decode(binary_event, SETTINGS).extensions) == 32
    else:
        assert reason(structured_event) is Reason.INVALID_ATTRIBUTE
        assert reason(binary_event) is Reason.INVALID_ATTRIBUTE


def filled(name: str, length: int) -> str:
    if name == "datacontenttype":
        return "application/" + "j" * (length - len("application/+json")) + "+json"
    return "/" + "s" * (length - 1)


@pytest.mark.parametrize(
    ("name", "limit"),
    [
        ("id", 256),
        ("type", 256),
        ("datacontenttype", 256),
        ("source", 1024),
        ("subject", 1024),
        ("dataschema", 2048),
        ("traceparent", 2048),
    ],
)
def test_each_attribute_is_accepted_up_to_its_length_limit_and_refused_one_above(
    name: str, limit: int
) -> None:
    at_limit, above = filled(name, limit), filled(name, limit + 1)
    assert (len(at_limit), len(above)) == (limit, limit + 1)
    result = decode(structured(event(**{name: at_limit})), SETTINGS)
    value = result.extensions[name] if name == "traceparent" else getattr(result, name)
    assert value == at_limit
    with pytest.raises(InputError) as caught:
        decode(structured(event(**{name: above})), SETTINGS)
    assert (caught.value.code, str(caught.value)) == (
        Reason.INVALID_ATTRIBUTE,
        f"attribute {name} is longer than {limit} characters",
    )


def test_an_extension_name_has_at_most_64_characters() -> None:
    assert dict(decode(structured(event(**{"n" * 64: "v"})), SETTINGS).extensions) == {"n" * 64: "v"}
    assert reason(structured(event(**{"n" * 65: "v"}))) is Reason.INVALID_ATTRIBUTE


@pytest.mark.parametrize(
    ("value", "text"),
    [(-(2**31), "-2147483648"), (2**31 - 1, "2147483647"), (0, "0"), (False, "false"), (True, "true")],
)
def test_extension_integers_within_32_bits_and_booleans_become_strings(value: Any, text: str) -> None:
    assert dict(decode(structured(event(sampled=value)), SETTINGS).extensions) == {"sampled": text}


@pytest.mark.parametrize("value", [-(2**31) - 1, 2**31, 1.5, [1]])
def test_extension_values_outside_32_bit_integers_or_of_other_types_are_refused(value: Any) -> None:
    assert reason(structured(event(sampled=value))) is Reason.INVALID_ATTRIBUTE


def test_an_event_without_time_decodes_with_none() -> None:
    assert decode(structured(event(time=...)), SETTINGS).time is None
    assert decode(headers_record(ce_headers()), SETTINGS).time is None


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "application/json; charset=UTF-8",
        "application/json;charset=utf8",
        'application/json; charset="utf-8"',
        "application/json ; Charset = UTF-8 ",
        "Application/JSON; profile=x; charset=utf-8",
        "application/json; profile=latin1",
    ],
)
def test_a_utf8_charset_in_any_spelling_is_accepted(content_type: str) -> None:
    assert decode(structured(event(datacontenttype=content_type)), SETTINGS).datacontenttype == content_type
    record = headers_record([*ce_headers(), ("content-type", content_type.encode())])
    assert decode(record, SETTINGS).datacontenttype == content_type


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=latin1",
        'application/json; charset="iso-8859-1"',
        "application/json; profile=x; CHARSET=utf-16",
        "application/json; charset=",
        "application/json;profile=x;charset=latin1",
        "application/json; charset=latin1=x",
        "application/json; charset=Xutf-8X",
    ],
)
def test_a_charset_other_than_utf8_is_unsupported(content_type: str) -> None:
    with pytest.raises(InputError) as caught:
        decode(structured(event(datacontenttype=content_type)), SETTINGS)
    assert (caught.value.code, str(caught.value)) == (
        Reason.UNSUPPORTED_CONTENT_TYPE,
        "data charset is not UTF-8",
    )


@pytest.mark.parametrize(
    ("record", "code", "message"),
    [
        (Record("events", 0, 0, None, b""), Reason.EMPTY_VALUE, "record has no value"),
        (
            structured(b"{}", content_type=b"application/cloudevents+avro"),
            Reason.UNSUPPORTED_CONTENT_TYPE,
            "only the JSON event format is supported",
        ),
        (
            structured(b"{}", content_type=b"application/\xffjson"),
            Reason.INVALID_UTF8,
            "content-type is not valid UTF-8",
        ),
        (headers_record(ce_headers(id=b"\xff")), Reason.INVALID_UTF8, "ce_id is not valid UTF-8"),
        (
            headers_record([*ce_headers(), ("ce_trace-parent", b"\xff")]),
            Reason.INVALID_UTF8,
            "a ce_ header is not valid UTF-8",
        ),
        (
            headers_record([*ce_headers(), ("ce_id", b"other")]),
            Reason.INVALID_ATTRIBUTE,
            "header ce_id is not allowed or repeated",
        ),
        (headers_record(ce_headers(), b"[1]"), Reason.NOT_OBJECT, "data must be a JSON object"),
        (structured(event(id=42)), Reason.INVALID_ATTRIBUTE, "attribute id must be a string"),
        (structured(event(subject="")), Reason.INVALID_ATTRIBUTE, "attribute subject must not be empty"),
        (
            structured(event(type="a\nb")),
            Reason.CONTROL_CHARACTERS,
            "attribute type contains control characters",
        ),
        (
            structured(event(source="/a b")),
            Reason.INVALID_ATTRIBUTE,
            "attribute source must not contain spaces",
        ),
        (structured(event(specversion="0.3")), Reason.INVALID_ATTRIBUTE, "specversion must be 1.0"),
        (binary(data=b'{"name": "\xc3\x28"}'), Reason.INVALID_UTF8, "value is not valid UTF-8"),
        (structured(b"{"), Reason.INVALID_JSON, "value is not valid JSON"),
        (structured(b"[1]"), Reason.NOT_OBJECT, "a structured event must be a JSON object"),
        (
            structured(b'{"id": "x"}', content_type=None),
            Reason.MISSING_ATTRIBUTE,
            "specversion is missing (no ce_ headers: not a CloudEvent?)",
        ),
        (structured(event(id=...)), Reason.MISSING_ATTRIBUTE, "required attribute id is missing"),
        (structured(event(data=[1])), Reason.NOT_OBJECT, "data must be a JSON object"),
        (
            structured(event(data_base64="e30=")),
            Reason.INVALID_ATTRIBUTE,
            "data and data_base64 are both present",
        ),
        (
            structured(event(data=..., data_base64=12)),
            Reason.INVALID_ATTRIBUTE,
            "data_base64 must be a string",
        ),
        (
            structured(event(data=..., data_base64="%%%")),
            Reason.INVALID_ATTRIBUTE,
            "data_base64 is not valid base64",
        ),
        (
            structured(event(time="yesterday")),
            Reason.INVALID_ATTRIBUTE,
            "attribute time is not an RFC 3339 timestamp",
        ),
        (
            structured(event(time="2026-02-30T09:15:00Z")),
            Reason.INVALID_ATTRIBUTE,
            "attribute time is not a valid date-time",
        ),
        (
            structured(event(**{"Trace-Parent": "x"})),
            Reason.INVALID_ATTRIBUTE,
            "an extension attribute name is not [a-z0-9]{1,64}",
        ),
        (
            structured(event(**dict.fromkeys(extensions(33), "v"))),
            Reason.INVALID_ATTRIBUTE,
            "more than 32 extension attributes",
        ),
        (
            structured(event(sampled=2**31)),
            Reason.INVALID_ATTRIBUTE,
            "extension sampled is outside the integer range",
        ),
        (
            structured(event(sampled=1.5)),
            Reason.INVALID_ATTRIBUTE,
            "extension sampled must be a string, integer or boolean",
        ),
        (
            structured(event(datacontenttype="application/xml")),
            Reason.UNSUPPORTED_CONTENT_TYPE,
            "data content type is not JSON",
        ),
        (binary(data=b"[" * 40), Reason.TOO_DEEP, "JSON nesting deeper than 32"),
    ],
)
def test_a_rejection_names_the_guard_and_the_attribute_never_the_value(
    record: Record, code: Reason, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        decode(record, SETTINGS)
    assert (caught.value.code, str(caught.value)) == (code, message)


def test_an_oversize_rejection_gives_the_size_and_the_limit() -> None:
    record = headers_record(ce_headers(subject=b"s" * 300))
    size = len(record.value or b"") + sum(len(k) + len(v or b"") for k, v in record.headers)
    with pytest.raises(InputError) as caught:
        decode(record, DecodeSettings(max_bytes=size - 1))
    assert str(caught.value) == f"record is {size} bytes, above the limit of {size - 1}"


def test_a_datacontenttype_in_the_value_wins_over_the_content_type_header() -> None:
    body = event(datacontenttype="application/vnd.example+json")
    result = decode(structured(body, content_type=b"application/json"), SETTINGS)
    assert (result.mode, result.datacontenttype) == ("structured", "application/vnd.example+json")


def test_an_empty_data_base64_is_an_event_without_data() -> None:
    assert decode(structured(event(data=..., data_base64="")), SETTINGS).data is None


def test_the_structured_content_type_is_the_media_type_before_the_first_parameter() -> None:
    record = structured(event(), b"application/cloudevents+json; charset=utf-8; profile=x")
    assert decode(record, SETTINGS).mode == "structured"


@pytest.mark.parametrize(
    "time", ["2026-03-02 09:15:00Z", "2026-03-02t09:15:00z", "2026-03-02T10:15:00+01:00"]
)
def test_rfc3339_separator_and_zone_spellings_give_the_same_instant(time: str) -> None:
    result = decode(structured(event(time=time)), SETTINGS)
    assert result.time == datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


def test_the_envelope_keeps_specversion_and_dataschema() -> None:
    result = decode(structured(event(dataschema="https://example.com/s.json")), SETTINGS)
    assert (result.specversion, result.dataschema) == ("1.0", "https://example.com/s.json")


def test_peek_identity_replaces_bytes_that_are_not_utf8() -> None:
    record = headers_record([("ce_type", b"t\xff"), ("ce_id", b"evt-\xff")])
    assert peek_identity(record) == ("t\ufffd", "evt-\ufffd")


def test_peek_identity_reads_null_headers_as_absent() -> None:
    assert peek_identity(headers_record([("ce_type", None), ("ce_id", None)], b"[]")) == (None, None)


def test_peek_identity_parses_the_value_only_for_what_the_headers_lack() -> None:
    assert peek_identity(headers_record(ce_headers(), b"not json")) == (SIGNED_UP, "evt-2")
    type_only = headers_record([("ce_type", b"t")], b'{"type": "other", "id": "evt-9"}')
    assert peek_identity(type_only) == ("t", "evt-9")
    id_only = headers_record([("ce_id", b"i")], b'{"type": "other", "id": "evt-9"}')
    assert peek_identity(id_only) == ("other", "i")


def test_peek_identity_ignores_values_that_are_not_strings() -> None:
    assert peek_identity(structured(b'{"type": 42, "id": "evt-9"}')) == (None, "evt-9")
    assert peek_identity(structured(b'{"type": "t", "id": 7}')) == ("t", None)


def test_peek_identity_parses_values_up_to_one_mebibyte() -> None:
    head = b'{"type": "t", "id": "i", "pad": "'
    at_limit = head + b"p" * ((1 << 20) - len(head) - 2) + b'"}'
    assert len(at_limit) == 1 << 20
    assert peek_identity(Record("events", 0, 0, None, at_limit)) == ("t", "i")
    above = at_limit[:-2] + b'p"}'
    assert peek_identity(Record("events", 0, 0, None, above)) == (None, None)
