"""Routing: start-up validation of the routing file, and events → Single Send requests."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import orjson
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

import consumer.route as route_module
import schemas.catalog as catalog_module
from consumer.decode import ValidatedEvent, decode, validate
from consumer.errors import ConfigError, InputError
from consumer.outcome import Reason
from consumer.records import Record
from consumer.route import Mapped, Router, send_id
from consumer.routing_loader import load_router, load_routing
from consumer.settings import DecodeSettings, Environment, Settings
from schemas.catalog import CATALOG
from schemas.routing import RoutingConfig
from schemas.samples import examples, expand_time_placeholders
from schemas.types import Email
from schemas.users import UserSignedUpV1

ROOT = Path(__file__).resolve().parents[2]
DEMO_ROUTING = ROOT / "consumer/samples/routing.yaml"
SAMPLES = ROOT / "consumer/samples/sample-events.ndjson"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SIGNED_UP = "com.example.user.signed_up.v1"
RESET = "com.example.user.password_reset_requested.v1"


def route(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "welcome",
        "event_type": SIGNED_UP,
        "email_id": {"dev": 11, "qa": 22, "prod": 3_000_000_000_033},
        "to": "data.email",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def config(*routes: dict[str, Any]) -> RoutingConfig:
    return RoutingConfig.model_validate({"routes": list(routes) or [route()]})


def write(tmp_path: Path, *routes: dict[str, Any]) -> Path:
    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump({"routes": list(routes)}), encoding="utf-8")
    return path


def load_error(tmp_path: Path, *routes: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_routing(write(tmp_path, *routes))
    return str(caught.value)


def event(
    event_type: str = SIGNED_UP, time: str | None = "2026-03-02T11:59:00Z", **data: Any
) -> ValidatedEvent:
    payload = {"user_id": "usr_1", "email": "jane.doe@example.com", **data}
    body: dict[str, Any] = {"specversion": "1.0", "id": "evt-1", "source": "/identity", "type": event_type}
    if time is not None:
        body["time"] = time
    body["data"] = payload
    return validate(decode(Record("events", 0, 0, None, orjson.dumps(body)), DecodeSettings()))


def example(event_type: str) -> ValidatedEvent:
    raw = next(e for e in examples(event_type) if e.name == "valid-full").read_bytes()
    return validate(decode(Record("events", 0, 0, None, raw), DecodeSettings()))


def plan_error(router: Router, validated: ValidatedEvent, now: datetime = NOW) -> InputError:
    with pytest.raises(InputError) as caught:
        router.plan(validated, now)
    return caught.value


# --- the demo routing file --------------------------------------------------------------------------


@pytest.mark.parametrize("environment", list(Environment))
def test_the_demo_routing_file_builds_in_every_environment_and_covers_the_catalog(
    environment: Environment,
) -> None:
    router = Router.build(load_routing(DEMO_ROUTING), environment)
    assert {r.event_type for r in router.routes} == set(CATALOG)
    assert len(router.email_ids) == len(router.routes)
    assert all(router.allows(r.email_id) for r in router.routes)


def test_each_environment_sends_its_own_template_ids() -> None:
    routing = load_routing(DEMO_ROUTING)
    ids = {env: Router.build(routing, env).email_ids for env in Environment}
    assert ids[Environment.DEV].isdisjoint(ids[Environment.PROD])
    assert max(ids[Environment.PROD]) > 2**31  # real HubSpot content ids are int64


def test_the_routing_file_may_be_json(tmp_path: Path) -> None:
    path = tmp_path / "routing.json"
    path.write_bytes(orjson.dumps({"routes": [route()]}))
    assert load_routing(path).routes[0].name == "welcome"


# --- start-up validation ----------------------------------------------------------------------------


def test_an_unknown_event_type_names_the_route(tmp_path: Path) -> None:
    message = load_error(tmp_path, route(event_type="com.example.user.signed_up.v7"))
    assert "route 'welcome'" in message
    assert "com.example.user.signed_up.v7" in message
    assert "not in the catalog" in message


def test_a_field_path_that_does_not_exist_names_route_slot_and_path(tmp_path: Path) -> None:
    message = load_error(tmp_path, route(contact_properties={"firstname": "data.frist_name"}))
    assert "route 'welcome'" in message
    assert "contact_properties.firstname" in message
    assert "data.frist_name" in message
    assert "data.first_name" in message  # the valid paths are listed


def test_nested_paths_are_checked(tmp_path: Path) -> None:
    order = "com.example.order.confirmed.v1"
    message = load_error(tmp_path, route(event_type=order, to="data.customer.mail"))
    assert "'data.customer' has no field 'mail'" in message
    assert load_routing(write(tmp_path, route(event_type=order, to="data.customer.email"))).routes


def test_duplicate_route_names_are_refused(tmp_path: Path) -> None:
    assert "duplicate route name 'welcome'" in load_error(tmp_path, route(), route())


def test_a_route_without_an_email_id_for_the_environment_stops_start_up() -> None:
    routing = config(route(email_id={"dev": 1}), route(name="other", email_id={"dev": 2, "prod": 3}))
    assert Router.build(routing, Environment.DEV).email_ids == {1, 2}
    with pytest.raises(ConfigError) as caught:
        Router.build(routing, Environment.PROD)
    assert "'welcome'" in str(caught.value)
    assert "'other'" not in str(caught.value)
    assert "prod" in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"to": "data.first_name"}, "not an e-mail address field"),
        ({"to": {"const": "not-an-address"}}, "not a valid e-mail address"),
        ({"cc": {"const": "Jane <jane@example.com>"}}, "bare address"),
        ({"from": "Example <hello@example.com>"}, "write {const: ...} for a constant"),
        ({"email_id": {"dev": 0}}, "greater than or equal to 1"),
        ({"email_id": {"dev": "12"}}, "valid integer"),
        ({"email_id": {"staging": 1}}, "email_id.staging"),
        ({"email_id": {}}, "at least 1 item"),
        ({"name": "Welcome Mail"}, "name"),
        ({"max_age": 90}, "duration"),
        ({"max_age": "-1h"}, "max_age"),
        ({"max_age": "99999999999d"}, "max_age"),
        ({"contact_properties": {"FirstName": "data.first_name"}}, "contact_properties"),
        ({"custom_properties": {"p": {"const": "a\r\nb"}}}, "control characters"),
        ({"unknown_key": 1}, "unknown_key"),
        ({"to": ...}, "to"),
    ],
)
def test_route_mistakes_are_config_errors_naming_the_field(
    tmp_path: Path, overrides: dict[str, Any], expected: str
) -> None:
    message = load_error(tmp_path, route(**overrides))
    assert expected in message
    assert "welcome" in message.lower() or "routes[0]" in message


def test_arrays_and_objects_with_arrays_cannot_become_properties(tmp_path: Path) -> None:
    order = "com.example.order.confirmed.v1"
    lines = route(event_type=order, to="data.customer.email", custom_properties={"lines": "data.lines"})
    assert "refuse arrays" in load_error(tmp_path, lines)
    total = route(event_type=order, to="data.customer.email", contact_properties={"total": "data.total"})
    assert "single values" in load_error(tmp_path, total)
    ok = route(event_type=order, to="data.customer.email", custom_properties={"total": "data.total"})
    assert load_routing(write(tmp_path, ok)).routes


@pytest.mark.parametrize("text", ["{routes: [", "- just a list", "", "routes: []"])
def test_unreadable_or_empty_routing_files_are_config_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="routing"):
        load_routing(path)


def test_a_missing_routing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_routing(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("1h", 3600), ("2d", 172_800), ("1h30m", 5400), ("PT1H", 3600)]
)
def test_max_age_durations(text: str, seconds: int) -> None:
    max_age = config(route(max_age=text)).routes[0].max_age
    assert max_age is not None
    assert max_age.total_seconds() == seconds


# --- planning ---------------------------------------------------------------------------------------


def test_a_route_becomes_a_single_send_request_with_mapped_properties() -> None:
    routing = config(
        route(
            **{"from": {"const": "Example <hello@example.com>"}},
            reply_to={"const": "support@example.com"},
            contact_properties={"firstname": "data.first_name", "signup_id": "id", "tier": {"const": 3}},
            custom_properties={
                "plan": "data.plan",
                "at": "time",
                "beta": {"const": True},
                "ref": "data.referral_code",
            },
        )
    )
    (job,) = Router.build(routing, Environment.QA).plan(event(first_name="Jane", plan="pro"), NOW)
    assert job.route == "welcome"
    assert job.email_id == 22
    assert job.send_id == send_id("/identity", "evt-1", "welcome")
    assert job.request.to_wire() == {
        "emailId": 22,
        "message": {
            "to": "jane.doe@example.com",
            "from": "Example <hello@example.com>",
            "sendId": job.send_id,
            "replyTo": ["support@example.com"],
        },
        "contactProperties": {"firstname": "Jane", "signup_id": "evt-1", "tier": "3"},
        "customProperties": {"plan": "pro", "at": "2026-03-02T11:59:00Z", "beta": True},
    }


def test_values_are_rendered_deterministically() -> None:
    order = "com.example.order.confirmed.v1"
    routing = config(
        route(
            event_type=order,
            to="data.customer.email",
            contact_properties={
                "total": "data.total.amount",
                "placed": "data.placed_at",
                "currency": "data.total.currency",
            },
            custom_properties={
                "total": "data.total",
                "address": "data.shipping_address",
                "amount": "data.total.amount",
            },
        ),
        route(
            name="shipped",
            event_type="com.example.order.shipped.v1",
            to="data.customer.email",
            contact_properties={
                "carrier": "data.carrier",
                "eta": "data.estimated_delivery",
                "url": "data.tracking_url",
            },
        ),
    )
    router = Router.build(routing, Environment.DEV)
    (confirmed,) = router.plan(example(order), NOW)
    wire = confirmed.request.to_wire()
    assert wire["contactProperties"] == {
        "total": "49.90",
        "placed": "2026-03-02T12:29:41Z",
        "currency": "EUR",
    }
    assert wire["customProperties"]["total"] == {"amount": "49.90", "currency": "EUR"}
    assert wire["customProperties"]["amount"] == "49.90"
    assert wire["customProperties"]["address"]["postal_code"] == "8001"
    assert "line2" not in wire["customProperties"]["address"]
    (shipped,) = router.plan(example("com.example.order.shipped.v1"), NOW)
    assert shipped.request.to_wire()["contactProperties"] == {
        "carrier": "dhl",
        "eta": "2026-03-05",
        "url": "https://tracking.example.com/JJD000390007827",
    }


def test_absent_optional_values_are_omitted() -> None:
    routing = config(route(cc="data.email", contact_properties={"firstname": "data.first_name"}))
    (job,) = Router.build(routing, Environment.DEV).plan(event(), NOW)
    wire = job.request.to_wire()
    assert "contactProperties" not in wire
    assert wire["message"]["cc"] == ["jane.doe@example.com"]


def test_an_event_type_with_several_routes_gives_one_job_each_with_distinct_send_ids() -> None:
    router = Router.build(load_routing(DEMO_ROUTING), Environment.PROD)
    failed = example("com.example.billing.subscription_payment_failed.v1")
    jobs = router.plan(failed, failed.envelope.time or NOW)
    assert [j.route for j in jobs] == ["payment-failed", "payment-failed-billing-team"]
    assert jobs[0].request.message.to == "jane.doe@example.com"
    assert jobs[1].request.message.to == "billing-alerts@example.com"
    assert jobs[0].send_id != jobs[1].send_id
    assert jobs[1].request.custom_properties == {
        "subscription_id": "sub_Q8v2",
        "customer_id": "cus_7Hq2Lm",
        "plan": "pro",
        "amount": {"amount": "29.00", "currency": "USD"},
        "failure_reason": "card_expired",
        "attempt": 2,
        "event_id": "32c17c8c-50d1-5b72-8955-820c2f742e8c",
        "source": "/billing/subscriptions",
    }


def test_an_event_type_without_a_route_is_no_route_not_a_crash() -> None:
    error = plan_error(Router.build(config(), Environment.DEV), example(RESET))
    assert error.code is Reason.NO_ROUTE


def _reset_router(max_age: str = "1h") -> Router:
    return Router.build(
        config(route(name="password-reset", event_type=RESET, max_age=max_age)), Environment.DEV
    )


def _reset(time: str | None) -> ValidatedEvent:
    link = {"reset_url": "https://app.example.com/r?t=1", "expires_at": "2026-03-02T13:00:00Z"}
    return event(RESET, time=time, **link)


def test_an_event_older_than_max_age_is_expired() -> None:
    error = plan_error(_reset_router(), _reset("2026-03-02T10:00:00Z"))
    assert error.code is Reason.EXPIRED
    assert "password-reset" in str(error)


def test_an_event_exactly_max_age_old_or_younger_is_sent() -> None:
    router = _reset_router()
    assert router.plan(_reset("2026-03-02T11:00:00Z"), NOW)
    assert router.plan(_reset("2026-03-02T13:00:00+01:00"), NOW)  # 11:00 UTC, other offset
    assert router.plan(_reset("2026-03-02T12:05:00Z"), NOW)  # producer clock slightly ahead


def test_a_naive_now_is_taken_as_utc() -> None:
    assert _reset_router().plan(_reset("2026-03-02T11:30:00Z"), NOW.replace(tzinfo=None))


def test_max_age_without_a_time_attribute_is_a_missing_attribute() -> None:
    assert plan_error(_reset_router(), _reset(None)).code is Reason.MISSING_ATTRIBUTE


def test_one_expired_route_dead_letters_the_whole_event() -> None:
    routing = config(route(), route(name="welcome-fast", max_age="1m"))
    error = plan_error(Router.build(routing, Environment.DEV), event(time="2026-03-02T11:00:00Z"))
    assert error.code is Reason.EXPIRED


def test_an_empty_recipient_is_mapping_failed() -> None:
    invoice = "com.example.billing.invoice_paid.v1"
    routing = config(route(name="billing-contact", event_type=invoice, to="data.customer.billing_email"))
    error = plan_error(Router.build(routing, Environment.DEV), example(invoice))
    assert error.code is Reason.MAPPING_FAILED
    assert "billing-contact" in str(error)
    assert "data.customer.billing_email" in str(error)


def test_job_reprs_hide_the_recipient() -> None:
    (job,) = Router.build(config(), Environment.DEV).plan(event(), NOW)
    assert "jane" not in repr(job)
    assert "welcome" in repr(job)


@given(environment=st.sampled_from(list(Environment)), index=st.integers(min_value=0, max_value=100))
def test_planned_email_ids_are_always_on_the_allow_list(environment: Environment, index: int) -> None:
    router = Router.build(load_routing(DEMO_ROUTING), environment)
    valid = [e for e in examples() if e.valid]
    chosen = valid[index % len(valid)]
    validated = validate(decode(Record("e", 0, 0, None, chosen.read_bytes()), DecodeSettings()))
    jobs = router.plan(validated, validated.envelope.time or NOW)
    assert jobs
    assert all(router.allows(j.email_id) and j.email_id in router.email_ids for j in jobs)


# --- the demo sample file ---------------------------------------------------------------------------


def test_the_demo_sample_events_give_the_expected_outcomes() -> None:
    router = Router.build(load_routing(DEMO_ROUTING), Environment.DEV)
    now = datetime.now(UTC)
    lines = expand_time_placeholders(SAMPLES.read_text(encoding="utf-8"), now).splitlines()
    outcomes: dict[str, list[str] | Reason] = {}
    for offset, line in enumerate(lines):
        record = Record(
            "events", 0, offset, None, line.encode(), (("content-type", b"application/cloudevents+json"),)
        )
        try:
            validated = validate(decode(record, DecodeSettings()))
            outcomes[validated.envelope.id] = [
                j.route for j in router.plan(validated, now + timedelta(seconds=5))
            ]
        except InputError as exc:
            outcomes[f"line{offset}"] = exc.code
    failures = {k: v for k, v in outcomes.items() if isinstance(v, Reason)}
    assert sorted(failures.values()) == sorted([Reason.INVALID_JSON, Reason.SCHEMA_VIOLATION, Reason.EXPIRED])
    sent = {k: v for k, v in outcomes.items() if not isinstance(v, Reason)}
    assert len(sent) == 13  # 12 valid events + the one whose recipient will bounce
    assert sent["demo-0011"] == ["payment-failed", "payment-failed-billing-team"]
    assert sent["demo-0013-bounce"] == ["welcome"]
    assert {r for routes in sent.values() for r in routes} == {r.name for r in router.routes}


# --- mapping details: from, booleans, optional nested paths, refused requests -----------------------


def test_from_may_be_mapped_from_an_address_field_and_is_omitted_when_that_field_is_empty() -> None:
    invoice = "com.example.billing.invoice_paid.v1"
    routing = config(
        route(
            name="receipt", event_type=invoice, to="data.customer.email", **{"from": "data.customer.email"}
        ),
        route(
            name="receipt-billing",
            event_type=invoice,
            to="data.customer.email",
            **{"from": "data.customer.billing_email"},
        ),
    )
    paid = example(invoice)
    assert paid.data.customer.billing_email is None  # type: ignore[attr-defined]
    first, second = Router.build(routing, Environment.DEV).plan(paid, NOW)
    assert first.request.to_wire()["message"]["from"] == paid.data.customer.email  # type: ignore[attr-defined]
    assert "from" not in second.request.to_wire()["message"]


@pytest.mark.parametrize(("const", "text"), [(True, "true"), (False, "false")])
def test_boolean_constants_become_true_or_false_in_contact_properties(const: bool, text: str) -> None:
    routing = config(
        route(contact_properties={"beta": {"const": const}}, custom_properties={"beta": {"const": const}})
    )
    (job,) = Router.build(routing, Environment.DEV).plan(event(), NOW)
    wire = job.request.to_wire()
    assert wire["contactProperties"] == {"beta": text}
    assert wire["customProperties"] == {"beta": const}


class _Referrer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    email: Email
    name: str | None = None


class _InvitedV1(UserSignedUpV1):
    EVENT_TYPE: ClassVar[str] = "com.example.test.invited.v1"

    referrer: _Referrer | None = None


@pytest.fixture
def invited_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalog with an event whose nested object is optional (no shipped event has one yet)."""
    extended = MappingProxyType({**CATALOG, _InvitedV1.EVENT_TYPE: _InvitedV1})
    monkeypatch.setattr(catalog_module, "CATALOG", extended)
    monkeypatch.setattr(route_module, "CATALOG", extended)


def _invited(referrer: dict[str, Any] | None) -> ValidatedEvent:
    data: dict[str, Any] = {"user_id": "usr_1", "email": "jane.doe@example.com"}
    if referrer is not None:
        data["referrer"] = referrer
    body = {"specversion": "1.0", "id": "evt-1", "source": "/s", "type": _InvitedV1.EVENT_TYPE, "data": data}
    return validate(decode(Record("events", 0, 0, None, orjson.dumps(body)), DecodeSettings()))


@pytest.mark.usefixtures("invited_catalog")
def test_an_optional_nested_path_whose_parent_is_null_is_absent() -> None:
    routing = config(
        route(
            name="invite",
            event_type=_InvitedV1.EVENT_TYPE,
            cc="data.referrer.email",
            contact_properties={"referrer": "data.referrer.name"},
            custom_properties={"referrer_email": "data.referrer.email"},
        )
    )
    router = Router.build(routing, Environment.DEV)
    (without,) = router.plan(_invited(None), NOW)
    assert without.request.to_wire() == {
        "emailId": 11,
        "message": {"to": "jane.doe@example.com", "sendId": without.send_id},
    }
    (with_referrer,) = router.plan(_invited({"email": "max@example.org", "name": "Max"}), NOW)
    wire = with_referrer.request.to_wire()
    assert wire["message"]["cc"] == ["max@example.org"]
    assert wire["contactProperties"] == {"referrer": "Max"}
    assert wire["customProperties"] == {"referrer_email": "max@example.org"}


def test_a_mapped_request_that_the_request_model_refuses_is_mapping_failed() -> None:
    (compiled,) = Router.build(config(), Environment.DEV).routes
    broken = dataclasses.replace(compiled, email_id=0)  # below the request model's minimum
    with pytest.raises(InputError) as caught:
        broken.job(event())
    assert (caught.value.code, str(caught.value)) == (
        Reason.MAPPING_FAILED,
        "route 'welcome': request invalid at emailId",
    )


# --- exact texts and the compiled form ------------------------------------------------------------


def test_send_id_is_the_sha256_of_the_netstrings_of_source_id_and_route() -> None:
    expected = hashlib.sha256(b"9:/identity,5:evt-1,7:welcome,").hexdigest()
    assert send_id("/identity", "evt-1", "welcome") == expected
    lone_surrogate = hashlib.sha256(b"1:/,3:\xed\xa0\x80,1:r,").hexdigest()
    assert send_id("/", "\ud800", "r") == lone_surrogate


def config_error(tmp_path: Path, body: Any) -> ConfigError:
    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_routing(path)
    assert caught.value.field == "SSC_ROUTING_FILE"
    return caught.value


NOT_A_ROUTE = "Input should be a valid dictionary or instance of Route"


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        ({"routes": [route(), route()]}, "file: duplicate route name 'welcome' (routes[0] and routes[1])"),
        ({"routes": [route(name=...)]}, "routes[0] name: Field required"),
        ({"routes": ["x"]}, f"routes[0]: {NOT_A_ROUTE}"),
        (
            {"routes": [route(to="data.first_name")]},
            "route 'welcome': to: 'data.first_name' is text, not an e-mail address field",
        ),
        ({"routes": ["x"] * 10}, "; ".join(f"routes[{i}]: {NOT_A_ROUTE}" for i in range(10))),
        ({"routes": ["x"] * 11}, "; ".join(f"routes[{i}]: {NOT_A_ROUTE}" for i in range(10)) + " (+1 more)"),
        ({"routes": ["x"] * 12}, "; ".join(f"routes[{i}]: {NOT_A_ROUTE}" for i in range(10)) + " (+2 more)"),
    ],
    ids=[
        "file-level",
        "unnamed-route",
        "not-a-mapping",
        "named-route",
        "10-errors",
        "11-errors",
        "12-errors",
    ],
)
def test_routing_file_errors_name_the_route_and_list_at_most_ten_problems(
    tmp_path: Path, body: Any, problems: str
) -> None:
    error = config_error(tmp_path, body)
    assert str(error) == f"SSC_ROUTING_FILE: routing file {tmp_path / 'routing.yaml'}: {problems}"


@pytest.mark.parametrize("text", ["[unclosed", "- a list\n"])
def test_unreadable_or_wrong_shaped_routing_files_name_the_setting(tmp_path: Path, text: str) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_routing(path)
    assert caught.value.field == "SSC_ROUTING_FILE"


def test_a_json_routing_file_is_read_as_json_whatever_the_case_of_its_suffix(tmp_path: Path) -> None:
    path = tmp_path / "routing.JSON"
    path.write_text(
        '{\n\t"routes": [' + orjson.dumps(route()).decode() + "]\n}", encoding="utf-8"
    )  # tab: not YAML
    assert load_routing(path).routes[0].name == "welcome"


def test_a_missing_email_id_names_every_route_lacking_one_and_the_setting() -> None:
    routing = config(route(email_id={"dev": 1}), route(name="other", email_id={"dev": 2}))
    with pytest.raises(ConfigError) as caught:
        Router.build(routing, Environment.PROD)
    assert caught.value.field == "SSC_ROUTING_FILE"
    assert str(caught.value) == (
        "SSC_ROUTING_FILE: no email_id for environment 'prod' in route(s) 'welcome', 'other'"
    )


def test_the_router_keeps_its_environment() -> None:
    assert Router.build(config(), Environment.QA).environment is Environment.QA


def test_compiled_values_keep_their_labels_as_written() -> None:
    routing = config(
        route(
            contact_properties={"firstname": "data.first_name", "tier": {"const": 3}},
            custom_properties={"everything": "data"},
        )
    )
    (compiled,) = Router.build(routing, Environment.DEV).routes
    assert compiled.to.label == "data.email"
    assert [(k, m.label) for k, m in compiled.contact_properties] == [
        ("firstname", "data.first_name"),
        ("tier", "{const: 3}"),
    ]
    assert [(k, m.label) for k, m in compiled.custom_properties] == [("everything", "data")]


def test_the_whole_data_object_can_be_one_custom_property() -> None:
    routing = config(route(custom_properties={"everything": "data"}))
    (job,) = Router.build(routing, Environment.DEV).plan(event(first_name="Jane"), NOW)
    assert job.request.to_wire()["customProperties"] == {
        "everything": {
            "user_id": "usr_1",
            "email": "jane.doe@example.com",
            "first_name": "Jane",
            "locale": "en",
            "plan": "free",
        }
    }


def test_plan_rejections_say_why() -> None:
    no_route = plan_error(Router.build(config(), Environment.DEV), example(RESET))
    assert str(no_route) == "no route for this event type"
    no_time = plan_error(_reset_router(), _reset(None))
    assert str(no_time) == "route 'password-reset' has max_age; the event has no time attribute"


def test_a_refused_request_names_at_most_five_fields() -> None:
    (compiled,) = Router.build(config(), Environment.DEV).routes
    not_text = tuple((f"p{i}", Mapped("x", lambda _event: 1)) for i in range(6))
    broken = dataclasses.replace(compiled, email_id=0, contact_properties=not_text)
    with pytest.raises(InputError) as caught:
        broken.job(event())
    fields = ", ".join(["emailId", *(f"contactProperties.p{i}" for i in range(4))])
    assert str(caught.value) == f"route 'welcome': request invalid at {fields}"


def test_the_router_is_built_without_touching_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_files(*_: object, **__: object) -> None:
        raise AssertionError("the router read a file")

    monkeypatch.setattr(Path, "read_bytes", no_files)
    monkeypatch.setattr(Path, "read_text", no_files)
    monkeypatch.setattr("builtins.open", no_files)
    router = Router.build(config(), Environment.QA)
    assert router.plan(event(), NOW)[0].email_id == 22


def test_the_loader_builds_the_router_of_the_settings_routing_file_for_their_environment(
    tmp_path: Path,
) -> None:
    router = load_router(Settings(routing_file=write(tmp_path, route()), environment=Environment.QA))
    assert router.environment is Environment.QA
    assert router.email_ids == {22}
