"""Build the CloudEvents envelope of an event, in either Kafka content mode (pure: no Kafka, no HTTP).

A producer hands over a model instance and its ``source``; :func:`build` fills in everything else::

    event = build(PasswordResetRequestedV1(request_id="rst_81", user_id="usr_51Kq9", ...),
                  source="/identity/password")
    message = event.structured()      # or event.binary()
    # message.key, message.value, message.headers: give them to any Kafka producer

What :func:`build` decides, so that every producer decides it the same way:

- ``type`` is the model's ``EVENT_TYPE``; ``specversion`` is ``1.0``; ``datacontenttype`` is JSON;
- ``id`` is derived from the business fact (:func:`event_id`): publishing the same fact again, after a
  timeout or a crash, gives the same id, so the consumer's ``sendId`` (derived from ``source`` and
  ``id``) is the same and HubSpot sends one email. A random id per attempt would be a second email;
- ``time`` is "now" (or the given time) in UTC, RFC 3339 with milliseconds;
- ``subject`` and the ``partitionkey`` extension are the business entity the event is about (the
  model's ``KEY_FIELD``: the user, order, invoice or subscription id); the Kafka key is
  ``partitionkey``, so all events about one entity land on one partition in the order they were
  published and the consumer (``ordering: key``) sends their emails in that order.

:func:`encode_structured`, :func:`encode_binary` and :func:`record_key` turn any event dict into a
Kafka record the way the CloudEvents Kafka protocol binding 1.0 describes; ``consumer publish`` uses
them for the events it reads from files.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from schemas.catalog import CATALOG
from schemas.samples import format_time
from schemas.types import EventData

Mode = Literal["structured", "binary"]

SPECVERSION = "1.0"
DATA_CONTENT_TYPE = "application/json"
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"

EVENT_ID_NAMESPACE = uuid.UUID("5b0f6c5e-3f0a-5a52-9a53-2f3c1e9d7a10")
"""The UUID namespace of derived event ids (:func:`event_id`); fixed forever, every language uses it."""

_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,64}$")
_RESERVED = frozenset(
    {
        "specversion",
        "id",
        "source",
        "type",
        "time",
        "subject",
        "datacontenttype",
        "dataschema",
        "data",
        "data_base64",
    }
)
_NOT_HEADERS = ("data", "data_base64", "datacontenttype")
_WHITESPACE = re.compile(r"\s")
_MAX_ID = 256
_MAX_SOURCE = 1024


class EnvelopeError(ValueError):
    """The envelope cannot be built as asked (the message says which argument and why)."""


@dataclass(frozen=True, slots=True)
class KafkaMessage:
    """One Kafka record: give ``key``, ``value`` and ``headers`` to any producer unchanged."""

    key: bytes
    value: bytes = field(repr=False)
    headers: tuple[tuple[str, bytes], ...] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Envelope:
    """A CloudEvent: its attributes (``specversion``, ``id``, ``source``, ``type``, ``time``,
    ``subject``, ``datacontenttype``, extensions) and its ``data`` as the JSON object it is sent as."""

    attributes: Mapping[str, str]
    data: Mapping[str, Any] = field(repr=False)

    @property
    def id(self) -> str:
        return self.attributes["id"]

    @property
    def type(self) -> str:
        return self.attributes["type"]

    @property
    def key(self) -> str:
        """The Kafka key: the ``partitionkey`` extension."""
        return self.attributes["partitionkey"]

    def to_dict(self) -> dict[str, Any]:
        """The structured form: the attributes and ``data`` as one JSON object."""
        return {**self.attributes, "data": dict(self.data)}

    def structured(self) -> KafkaMessage:
        """Structured content mode: the whole event as the JSON value, ``content-type:
        application/cloudevents+json``."""
        value, headers = encode_structured(self.to_dict())
        return KafkaMessage(self.key.encode(), value, headers)

    def binary(self) -> KafkaMessage:
        """Binary content mode: attributes as ``ce_<name>`` headers, ``data`` as the JSON value."""
        value, headers = encode_binary(self.to_dict())
        return KafkaMessage(self.key.encode(), value, headers)

    def message(self, mode: Mode) -> KafkaMessage:
        return self.binary() if mode == "binary" else self.structured()


def event_id(data: EventData) -> str:
    """The id of the business fact ``data`` states: UUID version 5 in :data:`EVENT_ID_NAMESPACE` of
    the event type and the values of the model's ``IDENTITY_FIELDS``, one per line::

        uuid5(EVENT_ID_NAMESPACE, "com.example.order.shipped.v1\\nord_10042\\nJJD000390007827")

    Integers are written in decimal. :class:`EnvelopeError` when an identity field has no value
    (pass your own stable id to :func:`build` then).
    """
    model = type(data)
    values = []
    for name in model.IDENTITY_FIELDS:
        value = getattr(data, name)
        if value is None:
            raise EnvelopeError(
                f"{model.__name__}.{name} is needed to derive the event id: set it, or give the event a "
                "stable id of this fact (never a new random one per attempt)"
            )
        values.append(str(value))
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, "\n".join((model.EVENT_TYPE, *values))))


def build(
    data: EventData,
    source: str,
    *,
    id: str | None = None,  # the CloudEvents attribute name
    time: datetime | None = None,
    dataschema: str | None = None,
    extensions: Mapping[str, str] | None = None,
) -> Envelope:
    """The envelope of ``data`` published by ``source`` (a URI-reference such as ``/shop/orders``).

    ``id`` defaults to :func:`event_id`; pass one only when your system already keeps a stable id for
    the fact (an outbox row id). ``time`` defaults to now and must carry a UTC offset. ``extensions``
    adds attributes such as ``traceparent``. The data is re-validated as the consumer validates it
    (strict JSON), so an instance made with ``model_construct`` cannot slip through.
    """
    model = type(data)
    if CATALOG.get(getattr(model, "EVENT_TYPE", "")) is not model:
        raise EnvelopeError(f"{model.__name__} is not an event model of the catalog (schemas.catalog)")
    _check_text("source", source, _MAX_SOURCE, spaces=False)
    event_id_ = event_id(data) if id is None else id
    _check_text("id", event_id_, _MAX_ID, spaces=True)
    if time is not None and time.utcoffset() is None:
        raise EnvelopeError("time needs a UTC offset (a timezone-aware datetime)")
    payload = data.model_dump(mode="json", exclude_unset=True)
    model.model_validate_json(orjson.dumps(payload), strict=True)  # what the consumer will do
    entity = str(getattr(data, model.KEY_FIELD))
    attributes: dict[str, str] = {
        "specversion": SPECVERSION,
        "id": event_id_,
        "source": source,
        "type": model.EVENT_TYPE,
        "subject": entity,
        "time": format_time(time or datetime.now(UTC)),
        "datacontenttype": DATA_CONTENT_TYPE,
    }
    if dataschema is not None:
        _check_text("dataschema", dataschema, 2048, spaces=False)
        attributes["dataschema"] = dataschema
    for name, value in (extensions or {}).items():
        if not _EXTENSION_NAME.match(name) or name in _RESERVED or name == "partitionkey":
            raise EnvelopeError(f"extension {name!r}: a name of 1-64 [a-z0-9], not a reserved attribute")
        _check_text(name, value, 2048, spaces=True)
        attributes[name] = value
    attributes["partitionkey"] = entity
    return Envelope(attributes, payload)


def _check_text(name: str, value: str, max_length: int, *, spaces: bool) -> None:
    if not value or len(value) > max_length:
        raise EnvelopeError(f"{name}: 1 to {max_length} characters")
    if not value.isprintable() or (not spaces and _WHITESPACE.search(value)):
        raise EnvelopeError(f"{name}: no control characters{'' if spaces else ' and no spaces'}")


# --- the Kafka protocol binding, for any event dict ------------------------------------------------------


def record_key(event: Mapping[str, Any]) -> bytes | None:
    """The Kafka key of an event: its ``partitionkey`` extension, else ``subject``, else ``id``."""
    for name in ("partitionkey", "subject", "id"):
        found = event.get(name)
        if isinstance(found, str) and found:
            return found.encode()
    return None


def structured_headers() -> tuple[tuple[str, bytes], ...]:
    return (("content-type", STRUCTURED_CONTENT_TYPE.encode()),)


def encode_structured(event: Mapping[str, Any]) -> tuple[bytes, tuple[tuple[str, bytes], ...]]:
    """Structured content mode: the event as the JSON value, the CloudEvents JSON content type."""
    return orjson.dumps(event), structured_headers()


def encode_binary(event: Mapping[str, Any]) -> tuple[bytes, tuple[tuple[str, bytes], ...]]:
    """Binary content mode: attributes as ``ce_*`` headers, ``data`` as the value,
    ``content-type`` = ``datacontenttype`` (JSON when absent)."""
    headers = [
        (f"ce_{name}", _header_text(value).encode())
        for name, value in event.items()
        if name not in _NOT_HEADERS and value is not None
    ]
    content_type = event.get("datacontenttype")
    headers.append(
        ("content-type", (content_type if isinstance(content_type, str) else DATA_CONTENT_TYPE).encode())
    )
    encoded = event.get("data_base64")
    if isinstance(encoded, str):
        try:
            return base64.b64decode(encoded, validate=True), tuple(headers)
        except (binascii.Error, ValueError):
            return encoded.encode(), tuple(headers)
    data = event.get("data")
    return (b"" if data is None else orjson.dumps(data)), tuple(headers)


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()  # numbers as text; anything else fails validation, as it should
