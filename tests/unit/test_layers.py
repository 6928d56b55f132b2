"""The layers are written down once (docs/development/index.md#layers) and checked as import
contracts (pyproject.toml [tool.importlinter], run by `lint-imports` in .ci/run): the two agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS: list[dict[str, Any]] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
    "tool"
]["importlinter"]["contracts"]


def contract(kind: str, source: str) -> dict[str, Any]:
    return next(c for c in CONTRACTS if c["type"] == kind and source in str(c))


def contract_layers() -> list[set[str]]:
    return [
        {m.strip().removeprefix("consumer.") for m in layer.split(":")}
        for layer in contract("layers", "")["layers"]
    ]


def documented_layers() -> list[set[str]]:
    text = (ROOT / "docs/development/index.md").read_text(encoding="utf-8")
    section = text.split("## Layers", 1)[1]
    table = section[section.index("\n|") + 1 :].split("\n\n", 1)[0]
    rows = [line.split("|")[2] for line in table.splitlines()[2:]]
    return [set(re.findall(r"`([\w.]+)`", row)) for row in rows]


def test_the_documented_layers_are_the_checked_layers_in_the_same_order() -> None:
    assert documented_layers() == contract_layers()


def test_the_pure_core_that_must_do_no_io_is_the_bottom_layer() -> None:
    pure = contract("forbidden", "consumer.decode")
    assert {m.removeprefix("consumer.") for m in pure["source_modules"]} == contract_layers()[-1]
    assert {"aiokafka", "aiohttp", "pydantic_settings", "typer"} <= set(pure["forbidden_modules"])
