"""The AsyncAPI 3.0 document of the catalog: the events topic and every event type in both Kafka modes.

``schemas/asyncapi.json`` is generated from the models (``consumer schemas asyncapi``) and committed,
so producer teams in any language have one contract for the topic and its events; a test fails when
the committed file and the models drift apart (:func:`drift`), and the tests validate it with the
official AsyncAPI parser.

The document describes the consumer: one channel (the events topic, whose name each deployment
chooses) that it receives from, and two messages per event type:

- ``<Model>.structured``: the whole CloudEvent as the JSON value, ``content-type:
  application/cloudevents+json``;
- ``<Model>.binary``: the ``data`` object as the value, the attributes in ``ce_*`` headers.

Both carry the Kafka key (the ``partitionkey`` extension, the entity the event is about) as a Kafka
message binding and the type's valid-full example, written by :mod:`schemas.envelope`. Schemas are
in ``components.schemas``: the payload models as pydantic writes them, one envelope per type.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson

from schemas.catalog import CATALOG
from schemas.envelope import DATA_CONTENT_TYPE, STRUCTURED_CONTENT_TYPE, encode_binary
from schemas.export import event_schema
from schemas.samples import EXAMPLES_DIR
from schemas.types import EventData

DEFAULT_PATH = Path(__file__).resolve().parent / "asyncapi.json"
CHANNEL = "events"
_REFS = "#/components/schemas/"
_KAFKA_BINDING = "0.5.0"
_DESCRIPTION = (
    "Domain events that the single-send-consumer turns into HubSpot transactional e-mail. Every event "
    "is a CloudEvents 1.0 event on Kafka (protocol binding 1.0), in structured or binary content mode; "
    "its `type` names the payload model and its version. The record key is the `partitionkey` "
    "extension: the business entity the event is about, so its events are e-mailed in order. The "
    "event `id` is derived from the business fact (UUID v5 of the type and the identity fields), so a "
    "producer that publishes the same fact again does not cause a second e-mail."
)


def _relocated(node: Any) -> Any:
    """``node`` with JSON Schema ``$defs`` references pointing into ``components.schemas``."""
    if isinstance(node, dict):
        return {
            key: (_REFS + value.removeprefix("#/$defs/") if key == "$ref" else _relocated(value))
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_relocated(item) for item in node]
    return node


def _example(event_type: str) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads((EXAMPLES_DIR / event_type / "valid-full.json").read_bytes())
    return loaded


def _binary_headers(model: type[EventData], envelope: dict[str, Any]) -> dict[str, Any]:
    """The ``ce_*`` headers of the binary mode, from the structured envelope's attribute schemas."""
    properties: dict[str, Any] = {
        f"ce_{name}": schema
        for name, schema in envelope["properties"].items()
        if name not in ("data", "datacontenttype")
    }
    properties["ce_time"] = {**properties["ce_time"], "description": "RFC 3339 with a UTC offset"}
    properties["ce_partitionkey"] = {
        "type": "string",
        "description": f"the entity the event is about (data.{model.KEY_FIELD}); also the Kafka key",
    }
    properties["content-type"] = {"const": DATA_CONTENT_TYPE, "description": "the datacontenttype"}
    return {
        "type": "object",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "content-type"],
        "properties": properties,
    }


def _messages(event_type: str, model: type[EventData], schemas: dict[str, Any]) -> dict[str, Any]:
    envelope = _relocated(event_schema(event_type))
    for name, schema in envelope.pop("$defs").items():
        schemas.setdefault(name, schema)
    for key in ("$schema", "$id"):
        envelope.pop(key)
    envelope_name = f"{model.__name__}Event"
    schemas[envelope_name] = envelope
    doc = " ".join((model.__doc__ or "").split())
    kafka_key = {
        "kafka": {
            "key": {"type": "string", "description": f"the partitionkey extension: data.{model.KEY_FIELD}"},
            "bindingVersion": _KAFKA_BINDING,
        }
    }
    example = _example(event_type)
    value, headers = encode_binary(example)
    structured = {
        "name": event_type,
        "title": f"{event_type} (structured)",
        "summary": doc,
        "contentType": "application/cloudevents+json",
        "headers": {
            "type": "object",
            "required": ["content-type"],
            "properties": {
                "content-type": {
                    "type": "string",
                    "pattern": "^application/cloudevents\\+json( *;.*)?$",
                    "examples": [STRUCTURED_CONTENT_TYPE],
                }
            },
        },
        "payload": {"$ref": _REFS + envelope_name},
        "bindings": kafka_key,
        "examples": [
            {"name": "valid-full", "headers": {"content-type": STRUCTURED_CONTENT_TYPE}, "payload": example}
        ],
    }
    binary = {
        "name": event_type,
        "title": f"{event_type} (binary)",
        "summary": doc,
        "contentType": DATA_CONTENT_TYPE,
        "headers": _binary_headers(model, envelope),
        "payload": {"$ref": _REFS + model.__name__},
        "bindings": kafka_key,
        "examples": [
            {
                "name": "valid-full",
                "headers": {name: text.decode() for name, text in headers},
                "payload": orjson.loads(value),
            }
        ],
    }
    return {f"{model.__name__}.structured": structured, f"{model.__name__}.binary": binary}


def document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the catalog (see the module docstring)."""
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type, model in CATALOG.items():
        messages.update(_messages(event_type, model, schemas))
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "single-send-consumer events",
            "version": "1.0.0",
            "description": _DESCRIPTION,
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": {
            CHANNEL: {
                "address": "{topic}",
                "title": "Domain events",
                "description": "The topic (or topics) the consumer reads: SSC_KAFKA__TOPICS.",
                "parameters": {"topic": {"description": "the topic name, e.g. demo.events"}},
                "messages": messages,
            }
        },
        "operations": {
            "receiveEvents": {
                "action": "receive",
                "title": "Send the transactional e-mails of each event",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "messages": [{"$ref": f"#/channels/{CHANNEL}/messages/{name}"} for name in messages],
            }
        },
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def render() -> str:
    """The file content: stable key order, two-space indent, trailing newline."""
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def export(path: Path = DEFAULT_PATH) -> Path:
    path.write_text(render(), encoding="utf-8")
    return path


def drift(path: Path = DEFAULT_PATH) -> list[str]:
    """``[]`` when ``path`` holds what the models generate, else one line saying what is wrong."""
    if not path.is_file():
        return [f"{path.name}: missing"]
    if path.read_text(encoding="utf-8") != render():
        return [f"{path.name}: differs from the models"]
    return []
