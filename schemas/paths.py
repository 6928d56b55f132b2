"""Field paths into an event: ``data.customer.email``, or an envelope attribute (``id``, ``time``...).

Routing files name the event fields a route reads. :func:`resolve_path` checks such a path against
a model *at start-up* and says what kind of value it yields, so the router can refuse a mapping that
could never work (an address slot fed from an integer, an array into ``customProperties``) before
the first message arrives.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AnyUrl, BaseModel, EmailStr

from schemas.addresses import Address


class Kind(StrEnum):
    """What a path yields, as far as mapping it to a HubSpot property is concerned."""

    TEXT = "text"
    EMAIL = "email"
    INT = "int"
    DECIMAL = "decimal"
    FLOAT = "float"
    BOOL = "bool"
    DATETIME = "datetime"
    DATE = "date"
    URL = "url"
    ENUM = "enum"
    MODEL = "object"
    LIST = "array"
    OTHER = "other"


SCALAR_KINDS = frozenset(Kind) - {Kind.MODEL, Kind.LIST, Kind.OTHER}

# Envelope attributes a route may read: name -> (kind, optional).
ENVELOPE_PATHS: dict[str, tuple[Kind, bool]] = {
    "id": (Kind.TEXT, False),
    "source": (Kind.TEXT, False),
    "type": (Kind.TEXT, False),
    "subject": (Kind.TEXT, True),
    "time": (Kind.DATETIME, True),
    "dataschema": (Kind.TEXT, True),
}

PATH_SYNTAX = re.compile(r"^(?:data(?:\.[A-Za-z_][A-Za-z0-9_]*)*|" + "|".join(ENVELOPE_PATHS) + r")$")
_MAX_LISTED = 40


class PathError(ValueError):
    """A path that does not exist in the model (the message lists the ones that do)."""


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A resolved path. ``parts`` are attribute names below ``data`` (or the one envelope attribute)."""

    text: str
    envelope: bool
    parts: tuple[str, ...]
    kind: Kind
    optional: bool
    model: type[BaseModel] | None = None  # the nested model, for Kind.MODEL


def classify(annotation: Any) -> tuple[Kind, bool, type[BaseModel] | None]:
    """``(kind, optional, nested model)`` of a field annotation (``Annotated`` and ``X | None`` unwrapped)."""
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if origin is Union or origin is types.UnionType:
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            optional = optional or len(members) < len(get_args(annotation))
            if len(members) != 1:
                return Kind.OTHER, optional, None
            annotation = members[0]
            continue
        break
    if origin is Literal:
        values = get_args(annotation)
        return (Kind.TEXT if all(isinstance(v, str) for v in values) else Kind.OTHER), optional, None
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple, set, frozenset):
        return Kind.LIST, optional, None
    if not isinstance(annotation, type):
        return Kind.OTHER, optional, None
    return _class_kind(annotation), optional, annotation if issubclass(annotation, BaseModel) else None


def _class_kind(cls: type) -> Kind:
    # Order matters: bool is an int, datetime is a date, StrEnum is a str.
    checks: tuple[tuple[type, Kind], ...] = (
        (bool, Kind.BOOL),
        (Enum, Kind.ENUM),
        (EmailStr, Kind.EMAIL),
        (Address, Kind.EMAIL),
        (str, Kind.TEXT),
        (int, Kind.INT),
        (Decimal, Kind.DECIMAL),
        (float, Kind.FLOAT),
        (datetime, Kind.DATETIME),
        (date, Kind.DATE),
        (AnyUrl, Kind.URL),
        (BaseModel, Kind.MODEL),
    )
    for base, kind in checks:
        if issubclass(cls, base):
            return kind
    return Kind.OTHER


def resolve_path(model: type[BaseModel], path: str) -> FieldPath:
    """Resolve ``path`` against the event envelope and ``model`` (the type's data model).

    Raises :class:`PathError` naming the path and listing the valid ones.
    """
    if not PATH_SYNTAX.match(path):
        raise PathError(
            f"'{path}' is not a field path (data.<field>[.<field>...] or one of "
            f"{', '.join(ENVELOPE_PATHS)}); write {{const: ...}} for a constant"
        )
    if path in ENVELOPE_PATHS:
        attribute_kind, attribute_optional = ENVELOPE_PATHS[path]
        return FieldPath(path, envelope=True, parts=(path,), kind=attribute_kind, optional=attribute_optional)
    parts = tuple(path.split(".")[1:])
    current: type[BaseModel] | None = model
    kind, optional, nested = Kind.MODEL, False, current
    for depth, name in enumerate(parts):
        fields = current.model_fields if current is not None else {}
        if name not in fields:
            prefix = ".".join(("data", *parts[:depth]))
            raise PathError(
                f"field path '{path}' does not exist: '{prefix}' has no field '{name}' "
                f"(paths of this event: {', '.join(field_paths(model))})"
            )
        kind, member_optional, nested = classify(fields[name].annotation)
        optional = optional or member_optional
        current = nested
    return FieldPath(path, envelope=False, parts=parts, kind=kind, optional=optional, model=nested)


def field_paths(model: type[BaseModel], prefix: str = "data", depth: int = 0) -> list[str]:
    """Every addressable path of ``model`` (nested models expanded), for error messages."""
    found: list[str] = [*ENVELOPE_PATHS] if depth == 0 else []
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}"
        found.append(path)
        kind, _, nested = classify(info.annotation)
        if kind is Kind.MODEL and nested is not None and depth < 4:
            found.extend(field_paths(nested, path, depth + 1))
    return found[:_MAX_LISTED] if depth == 0 else found


def fits_custom_property(model: type[BaseModel], depth: int = 0) -> bool:
    """True when ``model`` (nested models included) can become one ``customProperties`` object:
    HubSpot refuses arrays there, and a field of unknown kind has no defined JSON rendering."""
    for info in model.model_fields.values():
        kind, _, nested = classify(info.annotation)
        if kind in (Kind.LIST, Kind.OTHER):
            return False
        if kind is Kind.MODEL and (
            nested is None or depth > 8 or not fits_custom_property(nested, depth + 1)
        ):
            return False
    return True
