"""Kafka record → CloudEvent → catalog model, behind guards (pure: no I/O, no ``await``).

:func:`decode` applies the guards in this order, each failure its own :class:`Reason`:

1. ``EMPTY_VALUE``    no value (a binary-mode event always has ``data``)
2. ``OVERSIZE``       value + CloudEvents headers above ``DecodeSettings.max_bytes``
3. mode (CloudEvents Kafka binding 1.0): ``content-type`` starting with ``application/cloudevents``
   → structured (only ``+json`` is supported, else ``UNSUPPORTED_CONTENT_TYPE``); any ``ce_*`` header
   → binary; neither → structured if the value is a JSON object with ``specversion`` (producers that
   send no ``content-type``, and the ``cloudevents`` SDK's v1 API, which puts ``datacontenttype`` in
   that header)
4. ``INVALID_UTF8``   value or header not UTF-8
5. ``TOO_DEEP``       JSON nesting above ``max_depth``: linear passes over the bytes, *before* parsing
6. ``INVALID_JSON``   orjson refuses it;  ``NOT_OBJECT``  the event / its ``data`` is not an object
7. ``MISSING_ATTRIBUTE`` / ``INVALID_ATTRIBUTE`` / ``CONTROL_CHARACTERS`` for the envelope attributes,
   ``UNSUPPORTED_CONTENT_TYPE`` when ``datacontenttype`` is not JSON

:func:`validate` then picks the catalog model by ``type`` (``UNKNOWN_EVENT_TYPE``) and validates
``data`` (``SCHEMA_VIOLATION``, or ``CONTROL_CHARACTERS`` when that is why a field was refused).
Both raise :class:`InputError` only: any other exception from hostile input is mapped, never leaked.
Messages name attributes and fields, never their values (they may be addresses).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ValidationError

from consumer.errors import InputError
from consumer.outcome import Reason
from consumer.records import Record
from consumer.settings import DecodeSettings
from schemas.catalog import model_for
from schemas.types import CONTROL_CHARACTERS_ERROR, SINGLE_LINE_CONTROLS

Mode = Literal["structured", "binary"]

SPECVERSION = "1.0"
_REQUIRED = ("specversion", "id", "source", "type")
_MAX_LENGTH = {
    "specversion": 8,
    "id": 256,
    "source": 1024,
    "type": 256,
    "subject": 1024,
    "time": 64,
    "datacontenttype": 256,
    "dataschema": 2048,
}
_NO_WHITESPACE = frozenset({"specversion", "source", "dataschema"})  # URI-references have no spaces
_MAX_EXTENSIONS = 32
_MAX_EXTENSION_LENGTH = 2048
_MAX_DATA_PROPERTIES = 256
_MAX_ERRORS_SHOWN = 5
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,64}$")
_JSON_MEDIA = re.compile(r"^(?:application|text)/(?:[a-z0-9!#$&^_.+-]+\+)?json$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$")
_WHITESPACE = re.compile(r"\s")
_ESCAPE_PAIR = re.compile(rb"\\.", re.DOTALL)
_AS_PARENS = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SAFE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_PEEK_MAX_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class CloudEvent:
    """A CloudEvents 1.0 envelope that passed the guards. ``data`` is a JSON object or ``None``."""

    id: str
    source: str
    type: str
    specversion: str
    time: datetime | None
    subject: str | None
    datacontenttype: str | None
    dataschema: str | None
    data: Any = field(repr=False)
    extensions: Mapping[str, str] = field(repr=False)  # traceparent, partitionkey, ...
    mode: Mode


@dataclass(frozen=True, slots=True)
class ValidatedEvent:
    """An envelope plus the catalog model instance of its ``data``."""

    envelope: CloudEvent
    data: BaseModel = field(repr=False)


def decode(record: Record, settings: DecodeSettings) -> CloudEvent:
    """The record's CloudEvent, or :class:`InputError` with the reason of the first guard that failed."""
    try:
        return _decode(record, settings)
    except InputError:
        raise
    except RecursionError as exc:
        raise InputError(Reason.TOO_DEEP, "nesting too deep to decode") from exc
    except MemoryError as exc:
        raise InputError(Reason.OVERSIZE, "record too large to decode") from exc
    except UnicodeError as exc:
        raise InputError(Reason.INVALID_UTF8, "record is not valid UTF-8") from exc
    except Exception as exc:  # hostile input must never crash the consumer
        raise InputError(Reason.INVALID_JSON, f"record could not be decoded ({type(exc).__name__})") from exc


def validate(event: CloudEvent) -> ValidatedEvent:
    """Validate ``event.data`` against the catalog model of ``event.type``."""
    model = model_for(event.type)
    if model is None:
        raise InputError(Reason.UNKNOWN_EVENT_TYPE, "event type is not in the catalog")
    if not isinstance(event.data, dict):
        raise InputError(Reason.SCHEMA_VIOLATION, "event has no data object")
    if len(event.data) > _MAX_DATA_PROPERTIES:
        raise InputError(Reason.SCHEMA_VIOLATION, f"data has more than {_MAX_DATA_PROPERTIES} properties")
    try:
        # Strict JSON-mode validation gives the verdict of the exported JSON Schema: "2" is not an integer.
        instance = model.model_validate_json(orjson.dumps(event.data), strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        reason = (
            Reason.CONTROL_CHARACTERS
            if any(error["type"] == CONTROL_CHARACTERS_ERROR for error in errors)
            else Reason.SCHEMA_VIOLATION
        )
        shown = "; ".join(
            f"{_location(error['loc'])}: {error['type']}" for error in errors[:_MAX_ERRORS_SHOWN]
        )
        more = f" (+{len(errors) - _MAX_ERRORS_SHOWN} more)" if len(errors) > _MAX_ERRORS_SHOWN else ""
        raise InputError(reason, f"{model.EVENT_TYPE} data invalid: {shown}{more}") from exc
    except Exception as exc:  # hostile input must never crash the consumer
        raise InputError(
            Reason.SCHEMA_VIOLATION, f"data could not be validated ({type(exc).__name__})"
        ) from exc
    return ValidatedEvent(envelope=event, data=instance)


def peek_identity(record: Record) -> tuple[str | None, str | None]:
    """Best-effort ``(type, id)`` for logs and DLQ headers of a record that may not decode; never raises.

    Values are truncated and stripped of control characters.
    """
    try:
        event_type = event_id = None
        for name, raw in record.headers:
            lowered = name.lower()
            if lowered == "ce_type":
                event_type = bytes(raw or b"").decode("utf-8", "replace")
            elif lowered == "ce_id":
                event_id = bytes(raw or b"").decode("utf-8", "replace")
        value = record.value
        if (event_type is None or event_id is None) and value and len(value) <= _PEEK_MAX_BYTES:
            obj = orjson.loads(value)
            if isinstance(obj, dict):
                found_type, found_id = obj.get("type"), obj.get("id")
                event_type = event_type or (found_type if isinstance(found_type, str) else None)
                event_id = event_id or (found_id if isinstance(found_id, str) else None)
        return _printable(event_type), _printable(event_id)
    except Exception:
        return None, None


def _printable(text: str | None) -> str | None:
    if not text:
        return None
    return SINGLE_LINE_CONTROLS.sub("?", text[:256])


def _location(loc: tuple[int | str, ...]) -> str:
    # Keys of unexpected properties come from the producer: show them only when they look like names.
    parts = [str(p) if isinstance(p, int) or _SAFE_KEY.match(p) else "<key>" for p in loc]
    return ".".join(["data", *parts])


# --- decoding -------------------------------------------------------------------------------------


def _decode(record: Record, settings: DecodeSettings) -> CloudEvent:
    value = record.value
    if not value:
        raise InputError(Reason.EMPTY_VALUE, "record has no value")
    content_type_raw: bytes | None = None
    ce_headers: list[tuple[str, bytes]] = []
    size = len(value)
    for name, raw in record.headers:
        lowered = name.lower()
        if lowered.startswith("ce_"):
            ce_headers.append((lowered[3:], raw or b""))
        elif lowered == "content-type":
            content_type_raw = raw or b""
        else:
            continue
        size += len(name) + len(raw or b"")
    if size > settings.max_bytes:
        raise InputError(Reason.OVERSIZE, f"record is {size} bytes, above the limit of {settings.max_bytes}")

    content_type = _text(content_type_raw, "content-type") if content_type_raw is not None else None
    media = _media_type(content_type) if content_type else None
    if media is not None and media.startswith("application/cloudevents"):
        if media != "application/cloudevents+json":
            raise InputError(Reason.UNSUPPORTED_CONTENT_TYPE, "only the JSON event format is supported")
        return _structured(value, settings, hint=None)
    if ce_headers:
        return _binary(value, settings, ce_headers, content_type)
    return _structured(value, settings, hint=content_type)


def _structured(value: bytes, settings: DecodeSettings, hint: str | None) -> CloudEvent:
    obj = _parse_json(value, settings.max_depth)
    if not isinstance(obj, dict):
        raise InputError(Reason.NOT_OBJECT, "a structured event must be a JSON object")
    if "specversion" not in obj:
        raise InputError(
            Reason.MISSING_ATTRIBUTE, "specversion is missing (no ce_ headers: not a CloudEvent?)"
        )
    attributes = {k: v for k, v in obj.items() if k not in ("data", "data_base64") and v is not None}
    if "datacontenttype" not in attributes and hint is not None:
        # The cloudevents SDK's v1 API moves datacontenttype into the content-type header.
        attributes["datacontenttype"] = hint
    envelope = _envelope(attributes)
    content_type = envelope["datacontenttype"]
    _require_json(content_type)
    data: Any = obj.get("data")
    encoded = obj.get("data_base64")
    if encoded is not None:
        if data is not None:
            raise InputError(Reason.INVALID_ATTRIBUTE, "data and data_base64 are both present")
        if not isinstance(encoded, str):
            raise InputError(Reason.INVALID_ATTRIBUTE, "data_base64 must be a string")
        try:
            decoded = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InputError(Reason.INVALID_ATTRIBUTE, "data_base64 is not valid base64") from exc
        data = _parse_json(decoded, settings.max_depth) if decoded else None
    if data is not None and not isinstance(data, dict):
        raise InputError(Reason.NOT_OBJECT, "data must be a JSON object")
    return _event(envelope, data, "structured")


def _binary(
    value: bytes, settings: DecodeSettings, headers: list[tuple[str, bytes]], content_type: str | None
) -> CloudEvent:
    if len(headers) > _MAX_EXTENSIONS + len(_MAX_LENGTH):
        raise InputError(Reason.INVALID_ATTRIBUTE, "too many ce_ headers")
    attributes: dict[str, Any] = {}
    for name, raw in headers:
        text = _text(raw, f"ce_{name}" if _EXTENSION_NAME.match(name) else "a ce_ header")
        if name in ("data", "datacontenttype") or (name in attributes and attributes[name] != text):
            raise InputError(Reason.INVALID_ATTRIBUTE, f"header ce_{name} is not allowed or repeated")
        attributes[name] = text
    if content_type is not None:
        attributes["datacontenttype"] = content_type
    envelope = _envelope(attributes)
    _require_json(envelope["datacontenttype"])
    data = _parse_json(value, settings.max_depth)
    if not isinstance(data, dict):
        raise InputError(Reason.NOT_OBJECT, "data must be a JSON object")
    return _event(envelope, data, "binary")


def _event(envelope: dict[str, Any], data: Any, mode: Mode) -> CloudEvent:
    return CloudEvent(
        id=envelope["id"],
        source=envelope["source"],
        type=envelope["type"],
        specversion=envelope["specversion"],
        time=envelope["time"],
        subject=envelope["subject"],
        datacontenttype=envelope["datacontenttype"],
        dataschema=envelope["dataschema"],
        data=data,
        extensions=envelope["extensions"],
        mode=mode,
    )


def _envelope(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Check the context attributes; return them (``time`` parsed) plus ``extensions``."""
    envelope: dict[str, Any] = {}
    for name in _REQUIRED:
        if name not in attributes:
            raise InputError(Reason.MISSING_ATTRIBUTE, f"required attribute {name} is missing")
    for name, limit in _MAX_LENGTH.items():
        envelope[name] = _attribute(attributes.get(name), name, limit)
    if envelope["specversion"] != SPECVERSION:
        raise InputError(Reason.INVALID_ATTRIBUTE, f"specversion must be {SPECVERSION}")
    envelope["time"] = _timestamp(envelope["time"]) if envelope["time"] is not None else None
    extensions: dict[str, str] = {}
    for name, raw in attributes.items():
        if name in _MAX_LENGTH:
            continue
        if len(extensions) >= _MAX_EXTENSIONS:
            raise InputError(Reason.INVALID_ATTRIBUTE, f"more than {_MAX_EXTENSIONS} extension attributes")
        if not _EXTENSION_NAME.match(name):
            raise InputError(Reason.INVALID_ATTRIBUTE, "an extension attribute name is not [a-z0-9]{1,64}")
        extensions[name] = _attribute(_extension_text(raw, name), name, _MAX_EXTENSION_LENGTH)
    envelope["extensions"] = MappingProxyType(extensions)
    return envelope


def _attribute(value: Any, name: str, limit: int) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(Reason.INVALID_ATTRIBUTE, f"attribute {name} must be a string")
    if not value:
        raise InputError(Reason.INVALID_ATTRIBUTE, f"attribute {name} must not be empty")
    if len(value) > limit:
        raise InputError(Reason.INVALID_ATTRIBUTE, f"attribute {name} is longer than {limit} characters")
    if SINGLE_LINE_CONTROLS.search(value):
        raise InputError(Reason.CONTROL_CHARACTERS, f"attribute {name} contains control characters")
    if name in _NO_WHITESPACE and _WHITESPACE.search(value):
        raise InputError(Reason.INVALID_ATTRIBUTE, f"attribute {name} must not contain spaces")
    return value


def _extension_text(value: Any, name: str) -> str:
    # CloudEvents extension values are strings, booleans or 32-bit integers.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not -(2**31) <= value < 2**31:
            raise InputError(Reason.INVALID_ATTRIBUTE, f"extension {name} is outside the integer range")
        return str(value)
    if isinstance(value, str):
        return value
    raise InputError(Reason.INVALID_ATTRIBUTE, f"extension {name} must be a string, integer or boolean")


def _timestamp(text: str) -> datetime:
    if not _RFC3339.match(text):
        raise InputError(Reason.INVALID_ATTRIBUTE, "attribute time is not an RFC 3339 timestamp")
    try:
        return datetime.fromisoformat(text.upper().replace(" ", "T"))
    except ValueError as exc:
        raise InputError(Reason.INVALID_ATTRIBUTE, "attribute time is not a valid date-time") from exc


def _text(raw: bytes, what: str) -> str:
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(Reason.INVALID_UTF8, f"{what} is not valid UTF-8") from exc


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _require_json(content_type: str | None) -> None:
    """``datacontenttype`` absent means JSON (JSON event format); otherwise it must be a JSON type."""
    if content_type is None:
        return
    media, _, params = content_type.partition(";")
    if not _JSON_MEDIA.match(media.strip().lower()):
        raise InputError(Reason.UNSUPPORTED_CONTENT_TYPE, "data content type is not JSON")
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise InputError(Reason.UNSUPPORTED_CONTENT_TYPE, "data charset is not UTF-8")


def _parse_json(raw: bytes, max_depth: int) -> Any:
    if not raw.isascii():  # the common case needs no decoding copy
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(Reason.INVALID_UTF8, "value is not valid UTF-8") from exc
    check_depth(raw, max_depth)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError(Reason.INVALID_JSON, "value is not valid JSON") from exc


def check_depth(raw: bytes, max_depth: int) -> None:
    """Raise ``TOO_DEEP`` when JSON ``raw`` nests arrays/objects deeper than ``max_depth``.

    Never builds the structure and runs in C-speed passes over the bytes: escape pairs are dropped,
    string contents removed (split on quotes), everything but brackets deleted, then innermost
    bracket pairs are removed ``max_depth`` times; a bracket left over means deeper nesting. Inputs
    with at most ``max_depth`` brackets in total (almost every real event) skip all of it. For
    malformed JSON the verdict may be ``too_deep`` where the parser would have said ``invalid_json``.
    """
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return
    unescaped = _ESCAPE_PAIR.sub(b"", raw) if b"\\" in raw else raw
    brackets = b"".join(unescaped.split(b'"')[::2]).translate(_AS_PARENS, _NOT_BRACKETS)
    for _ in range(max_depth):
        reduced = brackets.replace(b"()", b"")
        if reduced == brackets:
            break
        brackets = reduced
    if b"(" in brackets:
        raise InputError(Reason.TOO_DEEP, f"JSON nesting deeper than {max_depth}")
