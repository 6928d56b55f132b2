"""The README documents every setting and every command, so a newcomer can run the service from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest
import typer.main
from pydantic import BaseModel
from typer.core import TyperGroup

from consumer.cli import app
from consumer.settings import ENV_PREFIX, Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def env_names(model: type[BaseModel], prefix: str = ENV_PREFIX) -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        nested = [a for a in (field.annotation, *get_args(field.annotation)) if isinstance(a, type)]
        sections = [a for a in nested if issubclass(a, BaseModel)]
        if sections:
            names += env_names(sections[0], f"{prefix}{name.upper()}__")
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


@pytest.mark.parametrize("name", env_names(Settings))
def test_every_setting_is_in_the_readme(name: str) -> None:
    assert f"`{name}`" in README


def commands(group: Any, prefix: str = "consumer") -> list[str]:
    found = []
    for name, cmd in group.commands.items():
        path = f"{prefix} {name}"
        found += commands(cmd, path) if isinstance(cmd, TyperGroup) else [path]
    return found


@pytest.mark.parametrize("command", commands(typer.main.get_command(app)))
def test_every_command_is_in_the_readme(command: str) -> None:
    assert command in README
