"""The runtime path holds only what runs in production: the developer tools (the HubSpot simulator,
the demo) live in packages of their own, imported by their own commands only. Each check runs in a
fresh interpreter and reads its ``sys.modules``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV_TOOLS = ("hubspot_simulator", "consumer_demo")

IMPORT_EVERY_RUNTIME_MODULE = """
import importlib, pkgutil, consumer
for info in pkgutil.walk_packages(consumer.__path__, "consumer."):
    if info.name != "consumer.__main__":
        importlib.import_module(info.name)
"""

INVOKE = """
from typer.testing import CliRunner
from consumer.cli.app import app
result = CliRunner().invoke(app, {args!r})
assert result.exit_code == 0, result.output
"""


def modules_after(code: str) -> list[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.splitlines()[-1])
    return loaded


def dev_tool_modules(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in DEV_TOOLS]


def test_no_module_of_the_runtime_package_imports_a_developer_tool() -> None:
    modules = modules_after(IMPORT_EVERY_RUNTIME_MODULE)
    assert {"consumer.service", "consumer.worker", "consumer.cli", "consumer.console.app"} <= set(modules)
    assert dev_tool_modules(modules) == []


def test_the_run_command_leaves_the_developer_tools_unimported() -> None:
    assert dev_tool_modules(modules_after(INVOKE.format(args=["run", "--help"]))) == []


def test_the_simulator_command_loads_the_simulator_when_invoked() -> None:
    modules = modules_after(INVOKE.format(args=["simulator", "--help"]))
    assert "hubspot_simulator.cli" in modules
    assert "consumer_demo" not in modules
