"""The operator commands as real processes: every option documented, one-line errors, exit codes."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import typer.main

from consumer.cli import app
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
    code, _, err = await run_process("publish", "-", "--bootstrap", "127.0.0.1:1", "--timeout", "2",
                                     stdin=orjson.dumps(signup(1)))  # fmt: skip
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
