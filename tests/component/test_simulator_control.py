"""The simulator's control API (``/_simulator/``) is guarded: a bearer control token when one is set,
loopback only when none is, and closed on any other address without one; health stays open."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from typer.testing import CliRunner

from consumer.cli.app import app
from consumer.loopback import is_loopback
from hubspot_simulator import SimulatorConfig
from hubspot_simulator.cli import read_control_token
from hubspot_simulator.server import start_simulator

CONTROL = "c" * 40


async def _status(url: str, method: str = "GET", token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.request(method, url, headers=headers, json={}) as r:
        return r.status


async def test_without_a_control_token_a_simulator_beyond_loopback_refuses_control_calls() -> None:
    running = await start_simulator(SimulatorConfig(), "0.0.0.0", 0)  # noqa: S104 - the case under test
    port = running.url.rsplit(":", 1)[1]
    base = f"http://127.0.0.1:{port}/_simulator"
    try:
        assert await _status(f"{base}/health") == 200
        assert await _status(f"{base}/sends") == 403
        assert await _status(f"{base}/tokens", "POST") == 403
        assert running.state.tokens == set()
    finally:
        await running.stop()


async def test_with_a_control_token_every_control_call_needs_it() -> None:
    running = await start_simulator(SimulatorConfig(), "0.0.0.0", 0, control_token=CONTROL)  # noqa: S104
    base = f"http://127.0.0.1:{running.url.rsplit(':', 1)[1]}/_simulator"
    try:
        assert await _status(f"{base}/health") == 200
        assert await _status(f"{base}/sends") == 401
        assert await _status(f"{base}/sends", token="wrong") == 401
        assert await _status(f"{base}/sends", token=CONTROL) == 200
        assert await _status(f"{base}/reset", "POST", token=CONTROL) == 200
    finally:
        await running.stop()


async def test_on_loopback_without_a_token_the_control_api_stays_open_for_tests_and_the_demo() -> None:
    running = await start_simulator(SimulatorConfig(), "127.0.0.1", 0)
    try:
        assert await _status(f"{running.url}/_simulator/sends") == 200
    finally:
        await running.stop()


def test_loopback_means_loopback() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")  # noqa: S104
    assert not is_loopback("10.1.2.3")
    assert not is_loopback("hubspot-simulator")


def test_the_control_token_comes_from_a_file_or_the_environment_never_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSC_SIMULATOR_CONTROL_TOKEN", raising=False)
    assert read_control_token(None) is None
    monkeypatch.setenv("SSC_SIMULATOR_CONTROL_TOKEN", CONTROL)
    assert read_control_token(None) == CONTROL
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    assert read_control_token(token_file) == "from-file"
    token_file.write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_control_token(token_file)
    help_text = CliRunner().invoke(app, ["simulator", "--help"], env={"COLUMNS": "200"}).stdout
    assert "--control-token-file" in help_text
    assert "--control-token " not in help_text
