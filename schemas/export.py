"""JSON Schema files for the catalog: one per event type, describing the whole structured CloudEvent.

``schemas/jsonschema/<type>.json`` is generated from the models (``consumer schemas export``) and
committed, so producer teams in any language can validate what they publish. A test fails when the
committed files and the models drift apart; :func:`drift` is that comparison.

Each file is JSON Schema draft 2020-12 for the CloudEvents 1.0 *structured JSON* form of the event;
in binary mode the Kafka value is the ``data`` object alone: validate it against ``$defs/<Model>``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.catalog import CATALOG
from schemas.types import EventData

DEFAULT_DIR = Path(__file__).resolve().parent / "jsonschema"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_SINGLE_LINE = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*$"


def _attribute(description: str, max_length: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": max_length,
        "pattern": _SINGLE_LINE,
        "description": description,
        **extra,
    }


def event_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of the structured CloudEvent of ``event_type`` (KeyError when unknown)."""
    model: type[EventData] = CATALOG[event_type]
    data_schema = model.model_json_schema(ref_template="#/$defs/{model}")
    defs = data_schema.pop("$defs", {})
    defs[model.__name__] = data_schema
    return {
        "$schema": _DRAFT,
        "$id": f"{event_type}.json",
        "title": event_type,
        "description": (model.__doc__ or "").strip(),
        "type": "object",
        "required": ["specversion", "id", "source", "type", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": _attribute("unique per source; with source it identifies the event (and the sendId)", 256),
            "source": _attribute("URI-reference of the producer, e.g. /identity/signup", 1024),
            "type": {"const": event_type},
            "time": {"type": "string", "format": "date-time", "description": "RFC 3339 with a UTC offset"},
            "subject": _attribute("what the event is about, e.g. the user or order id", 1024),
            "datacontenttype": {
                "type": "string",
                "pattern": "^(application|text)/([a-z0-9.+-]+\\+)?json( *;.*)?$",
            },
            "dataschema": _attribute("URI of this schema", 2048),
            "data": {"$ref": f"#/$defs/{model.__name__}"},
        },
        "propertyNames": {"pattern": "^[a-z0-9]{1,64}$"},
        "additionalProperties": {
            "description": "CloudEvents extension attributes (e.g. traceparent, partitionkey)",
            "type": ["string", "integer", "boolean"],
        },
        "$defs": defs,
    }


def render(event_type: str) -> str:
    """The file content for ``event_type``: stable key order, two-space indent, trailing newline."""
    return json.dumps(event_schema(event_type), indent=2, ensure_ascii=False) + "\n"


def file_name(event_type: str) -> str:
    return f"{event_type}.json"


def export(directory: Path = DEFAULT_DIR) -> list[Path]:
    """Write one file per event type into ``directory`` (created if needed); return the paths written.

    Files of event types no longer in the catalog are left alone; :func:`drift` reports them.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type in CATALOG:
        path = directory / file_name(event_type)
        path.write_text(render(event_type), encoding="utf-8")
        written.append(path)
    return written


def drift(directory: Path = DEFAULT_DIR) -> list[str]:
    """Differences between ``directory`` and the models: one line per missing, stale or extra file."""
    problems = []
    expected = {file_name(t): t for t in CATALOG}
    for name, event_type in expected.items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.read_text(encoding="utf-8") != render(event_type):
            problems.append(f"{name}: differs from the model")
    if directory.is_dir():
        problems.extend(
            f"{path.name}: no such event type in the catalog"
            for path in sorted(directory.glob("*.json"))
            if path.name not in expected
        )
    return problems
