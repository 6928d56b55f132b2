"""The simulator's configuration: CLI parsing, fault updates, request validation (pure parts)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from consumer.cli.app import app
from hubspot_simulator.cli import build_config
from hubspot_simulator.config import (
    Faults,
    Template,
    parse_hidden_limit,
    parse_oauth_client,
    parse_rate_limit,
    parse_rule,
    parse_template,
)
from hubspot_simulator.validation import validate_send


@pytest.mark.parametrize(
    ("text", "expected"), [("100/10s", (100, 10_000)), ("50/1", (50, 1_000)), ("190/10000ms", (190, 10_000))]
)
def test_rate_limits_parse(text: str, expected: tuple[int, int]) -> None:
    assert parse_rate_limit(text) == expected


@pytest.mark.parametrize("text", ["", "0/10s", "100", "x/1s", "10/0s"])
def test_bad_rate_limits_name_the_flag(text: str) -> None:
    with pytest.raises(ValueError, match="--rate-limit"):
        parse_rate_limit(text)


def test_a_hidden_limit_refuses_with_a_429_or_throttled() -> None:
    assert (parse_hidden_limit(None), parse_hidden_limit("429"), parse_hidden_limit("throttled")) == (
        None,
        "429",
        "THROTTLED",
    )
    with pytest.raises(ValueError, match="--hidden-limit"):
        parse_hidden_limit("503")
    assert build_config(rate_limit="5/1s", hidden_limit="throttled").rate_limit_hidden == "THROTTLED"


def test_templates_rules_and_oauth_clients_parse() -> None:
    assert parse_template("1001") == Template(1001)
    assert parse_template("2002:firstname, lastname") == Template(2002, ("firstname", "lastname"))
    assert parse_rule("*@x.test=PREVIOUS_SPAM").send_result == "PREVIOUS_SPAM"
    assert parse_oauth_client("id:secret:refresh").refresh_token == "refresh"
    for bad, parse in (("abc", parse_template), ("*@x", parse_rule), ("a:b", parse_oauth_client)):
        with pytest.raises(ValueError, match="--"):
            parse(bad)


def test_cli_flags_build_the_config() -> None:
    config = build_config(
        token=["t"],
        template=["1001:a"],
        bounce=["*@b.test"],
        invalid=["x*"],
        result=["*@p.test=PORTAL_SUSPENDED"],
        rate_limit="50/1s",
        daily_limit=9,
        error_rate=0.25,
        error_status=[503],
        hang_rate=0.1,
        hang_s=2,
        seed=4,
    )
    assert config.rate_limit == 50
    assert config.rate_interval_ms == 1_000
    assert [r.send_result for r in config.rules] == [
        "PREVIOUSLY_BOUNCED",
        "INVALID_TO_ADDRESS",
        "PORTAL_SUSPENDED",
    ]
    assert (config.faults.error_rate, config.faults.error_statuses, config.faults.hang_s) == (
        0.25,
        (503,),
        2.0,
    )
    assert not config.open_auth


def test_the_simulator_command_documents_every_flag() -> None:
    result = CliRunner().invoke(app, ["simulator", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    flags = "--token --template --bounce --invalid --rate-limit --daily-limit --latency-ms --error-rate"
    for flag in (*flags.split(), "--hang-rate", "--ledger", "--seed", "--oauth-client"):
        assert flag in result.output


def test_a_bad_flag_value_exits_with_a_one_line_error() -> None:
    result = CliRunner().invoke(app, ["simulator", "--rate-limit", "lots"])
    assert result.exit_code == 2
    assert "--rate-limit" in result.output


@pytest.mark.parametrize(
    "change",
    [
        {"error_rate": 1.5},
        {"hang_s": -1},
        {"nope": 1},
        {"window": {"status": 500}},
        {"error_statuses": [404]},
    ],
)
def test_bad_fault_changes_are_refused(change: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        Faults().update(change, now=0.0)


def test_windows_expire() -> None:
    faults = Faults()
    faults.update({"window": {"status": 503, "seconds": 5, "retry_after": 1}}, now=100.0)
    assert faults.active_window(104.0) is not None
    assert faults.active_window(105.0) is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"message": {"to": "a"}}, "emailId"),
        ({"emailId": True, "message": {"to": "a"}}, "emailId"),
        ({"emailId": 2**63, "message": {"to": "a"}}, "emailId"),
        ({"emailId": 1}, "message"),
        ({"emailId": 1, "message": {"to": ""}}, "message.to"),
        ({"emailId": 1, "message": {"to": "a", "sendId": 5}}, "message.sendId"),
        ({"emailId": 1, "message": {"to": "a", "bcc": [1]}}, "message.bcc"),
        ({"emailId": 1, "message": {"to": "a"}, "contactProperties": []}, "contactProperties"),
        ({"emailId": 1, "message": {"to": "a"}, "customProperties": {"xs": [1, 2]}}, "customProperties.xs"),
    ],
)
def test_validation_names_the_offending_field(body: object, field: str) -> None:
    problem = validate_send(body)
    assert problem is not None
    assert problem[0] == field


def test_the_strict_dated_mode_requires_the_dated_specs_fields() -> None:
    body = {"emailId": 1, "message": {"to": "a"}}
    assert validate_send(body) is None
    assert validate_send(body, strict_dated=True) == ("message.replyTo", "message.replyTo is required")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=10,
    )
)
def test_validation_never_raises(body: object) -> None:
    problem = validate_send(body)
    assert problem is None or isinstance(problem[0], str)
