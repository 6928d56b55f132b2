"""validate(): catalog lookup and payload validation, including hostile payloads."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumer.decode import CloudEvent, ValidatedEvent, decode, validate
from consumer.errors import InputError
from consumer.outcome import Reason
from consumer.records import Record
from consumer.settings import DecodeSettings
from schemas.catalog import CATALOG
from schemas.orders import OrderConfirmedV1
from schemas.samples import examples
from schemas.users import PasswordResetRequestedV1, UserSignedUpV1

SIGNED_UP = UserSignedUpV1.EVENT_TYPE


def envelope(data: Any, event_type: str = SIGNED_UP) -> CloudEvent:
    return CloudEvent(
        id="evt-1",
        source="/identity/signup",
        type=event_type,
        specversion="1.0",
        time=None,
        subject=None,
        datacontenttype=None,
        dataschema=None,
        data=data,
        extensions=MappingProxyType({}),
        mode="structured",
    )


def user(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"user_id": "usr_1", "email": "jane.doe@example.com", "first_name": "Jane"}
    data.update(overrides)
    return data


def reason(event: CloudEvent) -> InputError:
    with pytest.raises(InputError) as caught:
        validate(event)
    return caught.value


def test_a_valid_event_becomes_its_catalog_model() -> None:
    result = validate(envelope(user(plan="pro")))
    assert isinstance(result, ValidatedEvent)
    assert isinstance(result.data, UserSignedUpV1)
    assert result.data.plan == "pro"
    assert result.envelope.id == "evt-1"


def test_the_validated_model_is_frozen() -> None:
    result = validate(envelope(user()))
    assert isinstance(result.data, UserSignedUpV1)
    with pytest.raises(ValueError, match="frozen"):
        result.data.email = "other@example.com"  # type: ignore[misc]


def test_an_unknown_event_type_is_reported_without_echoing_it() -> None:
    error = reason(envelope(user(), event_type="com.example.user.signed_up.v9"))
    assert error.code is Reason.UNKNOWN_EVENT_TYPE
    assert "v9" not in str(error)


def test_an_event_without_data_is_a_schema_violation() -> None:
    assert reason(envelope(None)).code is Reason.SCHEMA_VIOLATION


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (user(email="jane.doe-at-example.com"), "data.email"),
        (user(email=None), "data.email"),
        (user(first_name="J" * 101), "data.first_name"),
        (user(plan="platinum"), "data.plan"),
        (user(user_id="usr 1"), "data.user_id"),
        (user(locale="english"), "data.locale"),
        ({"email": "jane@example.com"}, "data.user_id"),
    ],
)
def test_payload_errors_are_schema_violations_naming_the_field_not_the_value(
    data: dict[str, Any], field: str
) -> None:
    error = reason(envelope(data))
    assert error.code is Reason.SCHEMA_VIOLATION
    assert field in str(error)
    assert "jane" not in str(error)


def test_an_unexpected_property_named_like_an_address_is_not_echoed() -> None:
    error = reason(envelope(user(**{"victim@example.org": 1})))
    assert error.code is Reason.SCHEMA_VIOLATION
    assert "victim" not in str(error)
    assert "data.<key>: extra_forbidden" in str(error)


@pytest.mark.parametrize(
    "data",
    [
        user(first_name="Jane\r\nBcc: victim@example.org"),
        user(first_name="Ja\x00ne"),
        user(email="jane@example.com\r\nBcc: victim@example.org"),
        user(email="Jane <jane@example.com>\nX: y"),
        user(user_id="usr\t1"),
        user(referral_code="A\u2028B"),
    ],
)
def test_control_characters_in_payload_fields_are_their_own_reason(data: dict[str, Any]) -> None:
    error = reason(envelope(data))
    assert error.code is Reason.CONTROL_CHARACTERS
    assert "victim" not in str(error)


def test_a_newline_inside_a_link_is_refused_not_silently_dropped_by_the_url_parser() -> None:
    data = {
        "user_id": "u1",
        "email": "jane@example.com",
        "reset_url": "https://app.exam\nple.com/reset",
        "expires_at": "2026-03-02T11:00:00Z",
    }
    assert reason(envelope(data, PasswordResetRequestedV1.EVENT_TYPE)).code is Reason.CONTROL_CHARACTERS


def test_free_text_allows_line_feeds_but_not_carriage_returns_or_nul() -> None:
    order = orjson.loads(open_example("com.example.order.confirmed.v1"))["data"]
    ok = validate(
        envelope({**order, "gift_message": "Happy birthday!\n\tLove, Max"}, OrderConfirmedV1.EVENT_TYPE)
    )
    assert isinstance(ok.data, OrderConfirmedV1)
    assert ok.data.gift_message == "Happy birthday!\n\tLove, Max"
    for bad in ("Happy\r\nbirthday", "Happy\x00"):
        error = reason(envelope({**order, "gift_message": bad}, OrderConfirmedV1.EVENT_TYPE))
        assert error.code is Reason.CONTROL_CHARACTERS


@pytest.mark.parametrize(
    "data",
    [
        user(reset_url="http://app.example.com/reset", expires_at="2026-03-02T11:00:00Z"),
        user(reset_url="https://app.example.com/reset", expires_at="2026-03-02T11:00:00"),
        user(reset_url="javascript:alert(1)", expires_at="2026-03-02T11:00:00Z"),
    ],
    ids=["http-link", "naive-timestamp", "script-link"],
)
def test_links_must_be_https_and_timestamps_must_carry_an_offset(data: dict[str, Any]) -> None:
    assert reason(envelope(data, PasswordResetRequestedV1.EVENT_TYPE)).code is Reason.SCHEMA_VIOLATION


@pytest.mark.parametrize(
    "data",
    [user(plan=1), user(email=["jane@example.com"]), user(first_name=True)],
)
def test_json_types_are_strict_like_the_json_schema(data: dict[str, Any]) -> None:
    assert reason(envelope(data)).code is Reason.SCHEMA_VIOLATION


def test_numbers_given_as_strings_are_refused_like_the_json_schema_does() -> None:
    raw = orjson.loads(open_example("com.example.billing.subscription_payment_failed.v1"))["data"]
    event_type = "com.example.billing.subscription_payment_failed.v1"
    assert reason(envelope({**raw, "attempt": "2"}, event_type)).code is Reason.SCHEMA_VIOLATION
    assert reason(envelope({**raw, "attempt": 2.5}, event_type)).code is Reason.SCHEMA_VIOLATION
    assert validate(envelope({**raw, "attempt": 2}, event_type))


def test_data_that_cannot_be_serialised_is_a_schema_violation_not_a_crash() -> None:
    assert reason(envelope(user(first_name=object()))).code is Reason.SCHEMA_VIOLATION


def test_huge_numbers_are_schema_violations() -> None:
    raw = open_example("com.example.billing.subscription_payment_failed.v1")
    for number in (b"123456789012345678901234567890", b"18446744073709551615", b"-1e300"):
        hostile = raw.replace(b'"attempt": 2', b'"attempt": ' + number)
        assert hostile != raw
        event = decode(Record("e", 0, 0, None, hostile), DecodeSettings())
        assert reason(event).code is Reason.SCHEMA_VIOLATION
    huge_amount = raw.replace(b'"amount": "29.00"', b'"amount": 1e300')
    assert (
        reason(decode(Record("e", 0, 0, None, huge_amount), DecodeSettings())).code is Reason.SCHEMA_VIOLATION
    )


def test_ten_thousand_properties_are_a_schema_violation() -> None:
    crowded = user(**{f"p{i}": i for i in range(10_000)})
    error = reason(envelope(crowded))
    assert error.code is Reason.SCHEMA_VIOLATION
    assert "more than" in str(error)


def test_an_email_id_smuggled_into_the_payload_is_refused() -> None:
    assert reason(envelope(user(emailId=1))).code is Reason.SCHEMA_VIOLATION


def test_many_errors_are_summarised() -> None:
    error = reason(envelope({f"extra{i}": i for i in range(20)}))
    assert "more)" in str(error)


def open_example(event_type: str) -> bytes:
    return next(e for e in examples(event_type) if e.name == "valid-full").read_bytes()


payloads = st.dictionaries(
    st.sampled_from(["user_id", "email", "first_name", "plan", "customer", "lines", "total", "attempt", "x"]),
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)


@settings(max_examples=300)
@given(event_type=st.sampled_from(sorted(CATALOG)), data=payloads)
def test_arbitrary_payloads_validate_or_yield_an_input_error(event_type: str, data: dict[str, Any]) -> None:
    try:
        validate(envelope(data, event_type))
    except InputError as exc:
        code = exc.code
    else:
        return
    assert code in (Reason.SCHEMA_VIOLATION, Reason.CONTROL_CHARACTERS)


def test_256_properties_are_validated_and_257_are_refused_before_validation() -> None:
    at_limit = user(**{f"p{i}": i for i in range(256 - 3)})
    assert len(at_limit) == 256
    error = reason(envelope(at_limit))
    assert error.code is Reason.SCHEMA_VIOLATION
    assert str(error).startswith(f"{SIGNED_UP} data invalid: data.p0: extra_forbidden")
    above = user(**{f"p{i}": i for i in range(257 - 3)})
    assert str(reason(envelope(above))) == "data has more than 256 properties"


@pytest.mark.parametrize(
    ("event", "code", "message"),
    [
        (
            envelope(user(), "com.example.unknown.v1"),
            Reason.UNKNOWN_EVENT_TYPE,
            "event type is not in the catalog",
        ),
        (envelope(None), Reason.SCHEMA_VIOLATION, "event has no data object"),
        (
            envelope(user(first_name=object())),
            Reason.SCHEMA_VIOLATION,
            "data could not be validated (TypeError)",
        ),
    ],
)
def test_a_rejection_says_why_without_the_values(event: CloudEvent, code: Reason, message: str) -> None:
    error = reason(event)
    assert (error.code, str(error)) == (code, message)


def extras(count: int) -> str:
    return "; ".join(f"data.extra{i}: extra_forbidden" for i in range(count))


@pytest.mark.parametrize(
    ("count", "summary"),
    [(1, extras(1)), (5, extras(5)), (6, extras(5) + " (+1 more)"), (20, extras(5) + " (+15 more)")],
)
def test_the_first_five_errors_are_listed_and_the_rest_counted(count: int, summary: str) -> None:
    error = reason(envelope(user(**{f"extra{i}": i for i in range(count)})))
    assert str(error) == f"{SIGNED_UP} data invalid: {summary}"
