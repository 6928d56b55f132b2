"""The configuration reference (``docs/configuration/reference.md``), generated from the settings model.

One table per section of the model: every setting's environment variable, type (with its bounds),
default and meaning; secrets are marked, since they are read only from the environment or a file.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from docgen import sources
from docgen.markdown import GENERATED_NOTE, cell, table
from docgen.settings_text import TEXT


@dataclass(frozen=True, slots=True)
class Setting:
    """One leaf of the settings model."""

    env: str  # SSC_KAFKA__SECURITY__SASL_PASSWORD
    path: tuple[str, ...]  # ("kafka", "security", "sasl_password")
    type: str
    default: str
    secret: bool
    description: str


@dataclass(frozen=True, slots=True)
class Section:
    path: tuple[str, ...]  # () for the top level
    settings: tuple[Setting, ...]


def _section_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def sections(model: type[BaseModel] | None = None) -> list[Section]:
    """Every section of the model, depth first, each with its leaf settings in declaration order."""
    found: list[Section] = []

    def walk(current: type[BaseModel], path: tuple[str, ...]) -> None:
        leaves: list[Setting] = []
        nested: list[tuple[type[BaseModel], tuple[str, ...]]] = []
        for name, field in current.model_fields.items():
            sub = _section_model(field.annotation)
            if sub is not None:
                nested.append((sub, (*path, name)))
            else:
                leaves.append(_setting((*path, name), field))
        found.append(Section(path, tuple(leaves)))
        for sub, sub_path in nested:
            walk(sub, sub_path)

    walk(model or sources.SETTINGS_MODEL, ())
    return found


def env_name(path: tuple[str, ...]) -> str:
    return sources.ENV_PREFIX + "__".join(p.upper() for p in path)


def all_settings() -> list[Setting]:
    return [s for section in sections() for s in section.settings]


def _setting(path: tuple[str, ...], field: FieldInfo) -> Setting:
    env = env_name(path)
    return Setting(
        env=env,
        path=path,
        type=describe_type(field),
        default=describe_default(field),
        secret=_is_secret(field.annotation),
        description=TEXT.get(env) or (field.description or ""),
    )


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in get_args(annotation)


def _without_none(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) < len(get_args(annotation)):
            return (rest[0] if len(rest) == 1 else annotation), True
    return annotation, False


_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", SecretStr: "string"}


def _base_type(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(f"`{v}`" for v in get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "one of " + ", ".join(f"`{m.value}`" for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "path"
    if get_origin(annotation) in (tuple, list):
        item = get_args(annotation)[0]
        return f"list of {_NAMES.get(item, getattr(item, '__name__', str(item)))}s (JSON in a variable)"
    if annotation in _NAMES:
        return _NAMES[annotation]
    return getattr(annotation, "__name__", str(annotation))


def describe_type(field: FieldInfo) -> str:
    """``integer ≥ 1``, ``one of `key`, `partition```, ``path``, ``list of strings (JSON ...)``."""
    annotation, _optional = _without_none(field.annotation)
    text = _base_type(annotation)
    bounds = []
    for meta in field.metadata:
        if isinstance(meta, Ge):
            bounds.append(f"≥ {_number(meta.ge)}")
        elif isinstance(meta, Gt):
            bounds.append(f"> {_number(meta.gt)}")
        elif isinstance(meta, Le):
            bounds.append(f"≤ {_number(meta.le)}")
        elif isinstance(meta, Lt):
            bounds.append(f"< {_number(meta.lt)}")
        elif getattr(meta, "pattern", None):
            bounds.append(f"matching `{meta.pattern}`")
    return " ".join([text, ", ".join(bounds)]).strip()


def _number(value: Any) -> str:
    return format(value, "g") if isinstance(value, float) else str(value)


def describe_default(field: FieldInfo) -> str:
    value = field.default
    if value is PydanticUndefined:
        return "required"
    if value is None:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Enum):
        return f"`{value.value}`"
    if isinstance(value, tuple | list):
        return "`[" + ", ".join(f'"{v}"' for v in value) + "]`"
    if isinstance(value, float | int):
        return f"`{_number(value)}`"
    if isinstance(value, Path) and value.is_absolute():  # a file shipped with the package
        return f"`{value.relative_to(sources.ROOT)}` (installed with the package)"
    return f"`{value}`"


def render() -> str:
    """The whole page."""
    out = [
        "# Configuration reference",
        "",
        GENERATED_NOTE.format(command="python -m docgen"),
        "",
        "Every setting of the service, generated from its settings model. How the sources combine "
        "(environment, YAML file, secret files) and what an invalid value looks like: "
        "[Configuration](index.md). In the YAML file a setting is its lower-case path "
        "(`kafka.security.protocol`); in the environment it is the variable below. "
        "A **secret** is read only from its variable or from the file named by its `*_FILE` twin, "
        "never from the config file or the command line.",
        "",
        "## Loader",
        "",
        table(
            ["variable", "type", "default", "meaning"],
            [[f"`{sources.CONFIG_FILE_ENV}`", "path", "—", cell(TEXT[sources.CONFIG_FILE_ENV])]],
        ),
    ]
    for section in sections():
        if not section.settings:
            continue
        name = ".".join(section.path) if section.path else "top level"
        out += ["", f"## `{name}`" if section.path else "## Top level", ""]
        if section.path:
            out += [f"YAML: `{name}.<setting>`; environment: `{env_name(section.path)}__<SETTING>`.", ""]
        rows = [
            [
                f"`{s.env}`",
                cell(s.type + (" (**secret**)" if s.secret else "")),
                cell(s.default),
                cell(s.description),
            ]
            for s in section.settings
        ]
        out.append(table(["variable", "type", "default", "meaning"], rows))
    return "\n".join(out) + "\n"
