"""What is wrong with the settings, and where each effective value came from.

Every problem is one line that names the environment variable (``SSC_KAFKA__TOPICS: ...``) or the
config file key (``settings.yaml: kafka.group_id: ...``) it concerns;
:func:`consumer.settings_loader.load_settings` collects all of them before it refuses to start.
Values never appear in a problem: a typo in a variable may hold a secret.

Knows the settings model only through the class it is given (no import of ``consumer.settings``).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, SecretStr, ValidationError

# Variables with the prefix that belong to the local tools, not to the settings model.
TOOL_VARIABLES = frozenset(
    {
        "SSC_CONFIG_FILE",
        "SSC_KAFKA_STATE_DIR",
        "SSC_KAFKA_HEAP",
        "SSC_KAFKA_PORT",
        "SSC_SIMULATOR_CONTROL_TOKEN",
    }
)
REDACTED = "**********"

Source = Literal["default", "file", "environment"]


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A variable of a list or section that is not JSON; validation reports it under its name."""

    error: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One effective setting for ``consumer config show``."""

    name: str  # SSC_KAFKA__GROUP_ID
    key: str  # kafka.group_id
    value: str  # secrets redacted
    source: Source


def _section(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _paths(model: type[BaseModel], path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], bool]]:
    """Every field path of the model, sections included (``True`` marks a section)."""
    for name, field in model.model_fields.items():
        sub = _section(field.annotation)
        yield (*path, name), sub is not None
        if sub is not None:
            yield from _paths(sub, (*path, name))


def env_name(prefix: str, path: tuple[str | int, ...]) -> str:
    return prefix + "__".join(str(p).upper() for p in path)


def known_variables(model: type[BaseModel], prefix: str) -> dict[str, tuple[str, ...]]:
    """Every variable the model reads (a section may also be set as one JSON object) -> its path."""
    return {env_name(prefix, path): path for path, _ in _paths(model)}


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def unknown_variables(model: type[BaseModel], prefix: str, environ: Mapping[str, str]) -> list[str]:
    """One problem per ``SSC_*`` variable that no setting reads (pydantic-settings ignores them)."""
    known = sorted(known_variables(model, prefix))
    problems = []
    for raw in sorted(environ):
        name = raw.upper()
        if name.startswith(prefix) and name not in known and name not in TOOL_VARIABLES:
            problems.append(f"{name}: unknown setting{_suggest(name, known)}")
    return problems


def _set_variable(prefix: str, loc: tuple[str | int, ...], environ: Mapping[str, str]) -> int | None:
    """Length of the longest prefix of ``loc`` set by an environment variable, if any."""
    upper = {k.upper() for k in environ}
    for n in range(len(loc), 0, -1):
        if env_name(prefix, loc[:n]) in upper:
            return n
    return None


def _in_file(data: Any, loc: tuple[str | int, ...]) -> bool:
    node = data
    for key in loc:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def _message(error: Mapping[str, Any]) -> str:
    value = error.get("input")
    if isinstance(value, Undecodable):
        return f'not valid JSON ({value.error}); lists and sections are JSON, e.g. \'["a","b"]\''
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def validation_problems(
    exc: ValidationError,
    *,
    model: type[BaseModel],
    prefix: str,
    environ: Mapping[str, str],
    file_data: Mapping[str, Any],
    file_name: str | None,
) -> list[str]:
    """One line per validation error, naming the variable or the file key that holds the value."""
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        message = _message(error)
        set_by = _set_variable(prefix, loc, environ)
        if set_by is not None:
            if error["type"] == "extra_forbidden":
                continue  # reported by unknown_variables, with a suggestion
            rest = ".".join(str(p) for p in loc[set_by:])
            problems.append(f"{env_name(prefix, loc[:set_by])}: {rest + ': ' if rest else ''}{message}")
        elif file_name is not None and _in_file(file_data, loc):
            key = ".".join(str(p) for p in loc)
            if error["type"] == "extra_forbidden":
                known = [".".join(p) for p, _ in _paths(model)]
                message = f"unknown setting{_suggest(key, known)}"
            problems.append(f"{file_name}: {key}: {message}")
        else:
            problems.append(f"{env_name(prefix, loc)}: {message}" if loc else message)
    return problems


# --- provenance ---------------------------------------------------------------------------------------


def _render(value: Any) -> str:
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Path):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, tuple | list):
        return json.dumps([_render(v) for v in value])
    return str(value)


def effective(
    settings: BaseModel,
    *,
    prefix: str,
    environ: Mapping[str, str],
    file_data: Mapping[str, Any],
) -> list[Entry]:
    """Every leaf setting with its effective value (secrets redacted) and the source that set it."""
    entries = []
    for path, is_section in _paths(type(settings)):
        if is_section:
            continue
        value: Any = settings
        for key in path:
            value = getattr(value, key)
        source: Source = "default"
        if _set_variable(prefix, path, environ) is not None:
            source = "environment"
        elif _in_file(file_data, path):
            source = "file"
        entries.append(Entry(env_name(prefix, path), ".".join(path), _render(value), source))
    return entries
