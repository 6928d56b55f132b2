"""The operator commands as real processes: every option documented, one-line errors, exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import typer.main
from typer.testing import CliRunner

from consumer.cli.app import app
from tests.integration.harness import signup
from tests.integration.test_ops_support import run_process

OPS_COMMANDS = (("publish",), ("dlq", "inspect"), ("dlq", "replay"), ("check",))


@pytest.mark.parametrize("path", OPS_COMMANDS, ids=" ".join)
def test_every_option_of_every_operator_command_has_help(path: tuple[str, ...]) -> None:
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    params = [p for p in command.params if p.param_type_name == "option"]
    assert len(params) >= 4
    undocumented = [p.name for p in params if not (getattr(p, "help", None) or "").strip()]
    assert undocumented == []
    assert (command.help or "").strip()


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    if hasattr(command, "commands"):  # a group: look each up (a deferred command loads on look-up)
        ctx = command.make_context(command.name, [], resilient_parsing=True)
        for name in command.list_commands(ctx):
            yield from _commands(command.get_command(ctx, name), (*path, name))


def test_help_prints_every_option_text_as_written() -> None:
    """No markup: ``ID:SECRET:TOKEN`` must not become an emoji, ``[x]`` must not become a style."""
    runner = CliRunner()
    for path, command in _commands(typer.main.get_command(app)):
        result = runner.invoke(app, [*path, "--help"], terminal_width=100)
        assert result.exit_code == 0, path
        # The help wraps at hyphens too ("oauth-" / "callback"): compare with those breaks closed.
        shown = " ".join(result.stdout.split()).replace("- ", "-")
        for param in command.params:
            text = " ".join((getattr(param, "help", None) or "").split()).replace("- ", "-")
            assert text in shown, (path, param.name)
    simulator = runner.invoke(app, ["simulator", "--help"]).stdout
    assert "CLIENT_ID:SECRET:REFRESH_TOKEN" in simulator


async def test_publish_of_a_malformed_file_exits_2_with_one_line_per_problem_and_no_traceback(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(orjson.dumps(signup(1)) + b"\n{broken\n" + orjson.dumps(signup(3, email="nope")) + b"\n")

    code, out, err = await run_process("publish", str(path), "--bootstrap", "127.0.0.1:1")

    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert err.splitlines() == [
        "invalid: line 2: not valid JSON (at column 2)",
        "invalid: line 3: schema_violation: com.example.user.signed_up.v1 data invalid: "
        "data.email: value_error",
        "error: 2 invalid event(s); nothing was published (--allow-invalid publishes them anyway)",
    ]


async def test_publish_from_stdin_to_an_unreachable_broker_exits_2_in_one_line() -> None:
    code, _, err = await run_process(
        "publish", "-", "--bootstrap", "127.0.0.1:1", "--timeout", "2", stdin=orjson.dumps(signup(1))
    )
    assert code == 2
    assert err.strip().splitlines() == [
        "error: cannot reach Kafka at 127.0.0.1:1: no broker answered (connection refused or timed out)"
    ]


async def test_dlq_commands_reject_bad_filters_and_unreachable_brokers_in_one_line() -> None:
    bad = await run_process("dlq", "inspect", "-t", "x.dlq", "--outcome", "FINE")
    down = await run_process(
        "dlq", "replay", "-t", "x.dlq", "--all", "--bootstrap", "127.0.0.1:1", "--timeout", "2"
    )
    assert bad[0] == down[0] == 2
    assert bad[2].strip().splitlines() == [
        "error: --outcome: unknown outcome class 'FINE'; "
        "one of SENT, TERMINAL, PERMANENT, RETRY, THROTTLE, PAUSE"
    ]
    assert down[2].strip().splitlines() == [
        "error: cannot reach Kafka at 127.0.0.1:1: no broker answered (connection refused or timed out)"
    ]


async def test_invalid_settings_are_one_line_naming_the_variable() -> None:
    code, _, err = await run_process(
        "dlq", "inspect", "-t", "x.dlq", env={"SSC_KAFKA__MAX_POLL_RECORDS": "0"}
    )
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith("error: SSC_KAFKA__MAX_POLL_RECORDS: ")


BAD_SETTINGS = {"SSC_KAFKA__TOPICS": "a,b", "SSC_ENVIROMENT": "prod", "SSC_ENGINE__MAX_IN_FLIGHT": "0"}
BAD_SETTINGS_LINES = [
    "SSC_ENVIROMENT: unknown setting; did you mean SSC_ENVIRONMENT?",
    "SSC_KAFKA__TOPICS: not valid JSON (",
    "SSC_ENGINE__MAX_IN_FLIGHT: Input should be greater than or equal to 1",
]


@pytest.mark.parametrize(
    "args", [("run",), ("config", "show"), ("publish", "-"), ("dlq", "inspect", "-t", "x.dlq")], ids=" ".join
)
async def test_every_settings_problem_is_one_line_and_exit_2_for_every_command(args: tuple[str, ...]) -> None:
    code, out, err = await run_process(*args, env=BAD_SETTINGS)
    assert code == 2, err
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == len(BAD_SETTINGS_LINES)
    for expected in BAD_SETTINGS_LINES:
        assert any(line.startswith("error: " + expected) for line in lines), (expected, lines)


async def test_check_lists_every_settings_problem_and_exits_2() -> None:
    code, out, _ = await run_process("check", "--json", env=BAD_SETTINGS)
    assert code == 2
    report = orjson.loads(out)
    assert [c["name"] for c in report["checks"]] == ["settings"] * len(BAD_SETTINGS_LINES)
    details = [c["detail"] for c in report["checks"]]
    for expected in BAD_SETTINGS_LINES:
        assert any(d.startswith(expected) for d in details), (expected, details)


async def test_config_show_prints_each_value_with_its_source_and_no_secret(tmp_path: Path) -> None:
    cfg = tmp_path / "settings.yaml"
    cfg.write_text("kafka:\n  group_id: from-file\n")
    env = {
        "SSC_HUBSPOT__AUTH__TOKEN": "pat-na1-show-me-not",
        "SSC_ENVIRONMENT": "qa",
        "SSC_ROUTING_FILE": "r.yaml",
    }
    code, out, err = await run_process("config", "show", "--config", str(cfg), "--json", env=env)
    assert code == 0, err
    shown = {e["name"]: (e["value"], e["source"]) for e in orjson.loads(out)}
    assert shown["SSC_ENVIRONMENT"] == ("qa", "environment")
    assert shown["SSC_KAFKA__GROUP_ID"] == ("from-file", "file")
    assert shown["SSC_ENGINE__MAX_IN_FLIGHT"] == ("64", "default")
    assert shown["SSC_HUBSPOT__AUTH__TOKEN"] == ("**********", "environment")
    assert "pat-na1-show-me-not" not in out + err
