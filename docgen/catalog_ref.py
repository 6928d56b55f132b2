"""The event catalog (``docs/events/catalog.md``), generated from ``schemas``: every event type, every
field of its ``data`` (type, bounds, required or default) and its valid example events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from docgen import sources
from docgen.markdown import GENERATED_NOTE, cell, table
from schemas.sensitivity import SCHEMA_KEY

_SINGLE_LINE = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*$"
_MULTI_LINE = "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]*$"


def anchor(event_type: str) -> str:
    return event_type.replace(".", "-")


_SENSITIVE = {"personal": "personal data", "secret": "secret"}  # masked in dead-letter output


def _deref(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    return defs[ref.rsplit("/", 1)[-1]] if ref else node


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    options = node.get("anyOf")
    if options:
        rest = [o for o in options if o.get("type") != "null"]
        if len(rest) == 1:
            return {**{k: v for k, v in node.items() if k != "anyOf"}, **rest[0]}
    return node


def _bounds(node: dict[str, Any]) -> list[str]:
    out = []
    lo, hi = node.get("minLength"), node.get("maxLength")
    if hi is not None:
        out.append(f"{lo or 0}–{hi} characters")
    for key, sign in (
        ("minimum", "≥"),
        ("exclusiveMinimum", ">"),
        ("maximum", "≤"),
        ("exclusiveMaximum", "<"),
    ):
        if key in node:
            out.append(f"{sign} {node[key]:g}" if isinstance(node[key], float) else f"{sign} {node[key]}")
    lo, hi = node.get("minItems"), node.get("maxItems")
    if hi is not None:
        out.append(f"{lo or 0}–{hi} items")
    pattern = node.get("pattern")
    if pattern == _SINGLE_LINE:
        out.append("single line")
    elif pattern == _MULTI_LINE:
        out.append("text: TAB and LF allowed")
    elif pattern:
        out.append(f"matching `{pattern}`")
    return out


def _type(node: dict[str, Any], defs: dict[str, Any]) -> str:
    if "enum" in node:
        return "one of " + ", ".join(f"`{v}`" for v in node["enum"])
    if "const" in node:
        return f"`{node['const']}`"
    if "anyOf" in node:
        return " or ".join(_type(_deref(o, defs), defs) for o in node["anyOf"])
    if "$ref" in node:
        target = _deref(node, defs)
        return "object" if "properties" in target else _type(target, defs)
    kind = node.get("type", "any")
    if kind == "array":
        return f"list of {_type(node.get('items', {}), defs)}"
    fmt = node.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def fields(model: dict[str, Any], defs: dict[str, Any], prefix: str = "") -> Iterator[list[str]]:
    """One row per field (nested objects flattened to ``customer.email``, lists to ``lines[].sku``)."""
    required = set(model.get("required", []))
    for name, raw in model.get("properties", {}).items():
        node = _nullable(raw)
        target = _deref(node, defs)
        path = f"{prefix}{name}"
        if "default" in raw:
            default = json.dumps(raw["default"])
            need = "no" if raw["default"] is None else f"no (default `{default}`)"
        else:
            need = "**yes**" if name in required else "no"
        notes = [*_bounds(target if "enum" not in node else node), target.get("description", "")]
        if node is not target and "enum" in target:
            notes = [target.get("description", "")]
        sensitive = node.get(SCHEMA_KEY)
        if sensitive:
            notes.insert(0, f"**{_SENSITIVE[sensitive]}**")
        yield [f"`{path}`", cell(_type(node, defs)), need, cell("; ".join(n for n in notes if n))]
        if "properties" in target:
            yield from fields(target, defs, f"{path}.")
        items = _deref(target.get("items", {}), defs) if target.get("type") == "array" else {}
        if "properties" in items:
            yield from fields(items, defs, f"{path}[].")


def render() -> str:
    out = [
        "# Event catalog",
        "",
        GENERATED_NOTE.format(command="python -m docgen"),
        "",
        "Every event type the consumer accepts, generated from the models in `schemas/` (the JSON Schema "
        "files in `schemas/jsonschema/` say the same). Each is a CloudEvents 1.0 event whose `type` names "
        "the payload model and its version; the rules every field follows, how to add a type and how "
        "events travel on Kafka: [Event contracts](schemas.md), [CloudEvents on Kafka](cloudevents.md).",
        "",
    ]
    summary = []
    for event_type, model in sources.CATALOG.items():
        doc = " ".join((model.__doc__ or "").split())
        summary.append(
            [f"[`{event_type}`](#{anchor(event_type)})", f"`{model.__module__}.{model.__name__}`", cell(doc)]
        )
    out.append(table(["type", "model", "what it is"], summary))
    for event_type, model in sources.CATALOG.items():
        schema = sources.event_schema(event_type)
        defs = schema["$defs"]
        data = defs[model.__name__]
        out += [
            "",
            f"## `{event_type}` {{#{anchor(event_type)}}}",
            "",
            f"Model `{model.__module__}.{model.__name__}`; JSON Schema "
            f"`schemas/jsonschema/{event_type}.json`. {' '.join((model.__doc__ or '').split())}",
            "",
            f"Kafka key, `subject` and `partitionkey`: `data.{model.KEY_FIELD}`. Event `id` derived from "
            f"the type and {', '.join(f'`data.{name}`' for name in model.IDENTITY_FIELDS)} "
            "([why](publishing.md#ids-that-make-retries-safe)).",
            "",
            "Fields of `data`:",
            "",
            table(["field", "type", "required", "rules"], list(fields(data, defs))),
        ]
        for example in sorted((sources.EXAMPLES_DIR / event_type).glob("valid-*.json")):
            text = example.read_text(encoding="utf-8").rstrip("\n")
            out += ["", f'```json title="schemas/examples/{event_type}/{example.name}"', text, "```"]
    return "\n".join(out) + "\n"
