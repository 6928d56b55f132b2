"""Masking of events for display: personal data and secrets hidden, driven by the event schemas (no I/O).

What an operator sees of an event (``consumer dlq inspect``, ``dlq replay``'s listing) goes through
:func:`mask_event`:

- a field the schema marks ``x-sensitive`` (:mod:`schemas.sensitivity`) is hidden: an address keeps
  its first character and domain (``j***@example.com``), a secret link keeps only its origin
  (``https://example.com/***``), anything else becomes ``***`` — for an object, every value inside;
- every other string is scrubbed (:func:`consumer.scrubbing.scrub`: addresses, registered secrets,
  token-looking values), and a URL in it loses its query string and fragment (``?***``);
- a property the schema does not describe (an event that failed validation, an unknown event type,
  an event from a newer producer) is hidden entirely when its name looks personal
  (:data:`schemas.sensitivity.LOOKS_PERSONAL`), and otherwise shown with addresses, phone numbers
  and the path and query of every URL masked.

Text that is not JSON gets the same treatment as an undescribed string (:func:`mask_untrusted`).
The masking never raises: whatever the bytes, the result is safe to print.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from consumer.redact import mask_email
from consumer.scrubbing import scrub
from schemas.catalog import CATALOG
from schemas.export import event_schema
from schemas.sensitivity import LOOKS_PERSONAL, Sensitivity, marked

HIDDEN = "***"
_URL = re.compile(
    r"(?i)\b([a-z][a-z0-9+.-]*://[^/?#\s\"'<>]*)([^?#\s\"'<>]*)(\?[^#\s\"'<>]*)?(#[^\s\"'<>]*)?"
)
# International (+41 44 668 18 00, 0041 ...) and North American ((555) 123-4567) forms; dates,
# amounts and ids do not match.
_PHONE = re.compile(r"(?<![\w.:/+-])(?:(?:\+|00)\d[\d ().-]{6,18}\d|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4})(?![\w])")
_LOOKS_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_MAX_DEPTH = 64


def _strip_query(match: re.Match[str]) -> str:
    origin, path, query, fragment = match.groups()
    return origin + path + ("?" + HIDDEN if query else "") + ("#" + HIDDEN if fragment else "")


def _strip_path(match: re.Match[str]) -> str:
    origin, path, query, fragment = match.groups()
    return origin + ("/" + HIDDEN if (path.strip("/") or query or fragment) else path)


def mask_text(text: str) -> str:
    """A string from a field the schema describes and does not mark: scrubbed, URL queries hidden."""
    return _URL.sub(_strip_query, scrub(text))


def mask_untrusted(text: str) -> str:
    """Text no schema describes (unknown properties, headers, non-JSON values): addresses, phone
    numbers, secrets and the path and query of every URL hidden."""
    return _PHONE.sub(HIDDEN, _URL.sub(_strip_path, scrub(text)))


def hide(value: Any, kind: Sensitivity = Sensitivity.PERSONAL) -> Any:
    """A marked value: every scalar inside replaced (``None`` and booleans kept)."""
    if isinstance(value, Mapping):
        return {k: hide(v, kind) for k, v in value.items()}
    if isinstance(value, list):
        return [hide(v, kind) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and _LOOKS_EMAIL.match(value):
        return mask_email(value)
    if isinstance(value, str) and kind is Sensitivity.SECRET and _URL.fullmatch(value):
        return _URL.sub(_strip_path, value)
    return HIDDEN


def _untrusted(value: Any, depth: int = 0) -> Any:
    if isinstance(value, Mapping):
        if depth > _MAX_DEPTH:
            return HIDDEN
        return {
            k: hide(v) if LOOKS_PERSONAL.search(str(k)) else _untrusted(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return HIDDEN if depth > _MAX_DEPTH else [_untrusted(v, depth + 1) for v in value]
    if isinstance(value, str):
        return mask_untrusted(value)
    return value


class _Schema:
    """One JSON Schema document: resolves local ``$ref``s and merges ``anyOf``/``oneOf``/``allOf``."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.defs: Mapping[str, Any] = document.get("$defs", {})

    def resolve(self, node: Any) -> Any:
        seen = 0
        while isinstance(node, Mapping) and "$ref" in node and seen < _MAX_DEPTH:
            if marked(node):
                return node
            node = self.defs.get(str(node["$ref"]).rsplit("/", 1)[-1], {})
            seen += 1
        return node

    def branches(self, node: Any) -> list[Any]:
        node = self.resolve(node)
        if not isinstance(node, Mapping):
            return []
        parts = [node]
        for key in ("anyOf", "oneOf", "allOf"):
            parts += [self.resolve(n) for n in node.get(key, ())]
        return [p for p in parts if isinstance(p, Mapping)]

    def sensitivity(self, node: Any) -> Sensitivity | None:
        found = [marked(n) for n in ([node] if isinstance(node, Mapping) else []) + self.branches(node)]
        kinds = {k for k in found if k is not None}
        return Sensitivity.SECRET if Sensitivity.SECRET in kinds else next(iter(kinds), None)

    def mask(self, value: Any, node: Any, depth: int = 0) -> Any:
        kind = self.sensitivity(node)
        if kind is not None:
            return hide(value, kind)
        if depth > _MAX_DEPTH:
            return HIDDEN
        branches = self.branches(node)
        if isinstance(value, Mapping):
            properties: dict[str, Any] = {}
            for branch in branches:
                properties.update(branch.get("properties", {}))
            return {
                k: self.mask(v, properties[k], depth + 1) if k in properties else _untrusted({k: v})[k]
                for k, v in value.items()
            }
        if isinstance(value, list):
            items = next((b["items"] for b in branches if "items" in b), None)
            if items is None:
                return _untrusted(value, depth)
            return [self.mask(v, items, depth + 1) for v in value]
        if isinstance(value, str):
            return mask_text(value) if branches else mask_untrusted(value)
        return value


@functools.cache
def _schema_of(event_type: str) -> tuple[_Schema, Mapping[str, Any], Mapping[str, Any]]:
    """(document, root node of the structured event, root node of ``data``) of a catalog type."""
    document = event_schema(event_type)
    data = document["$defs"][CATALOG[event_type].__name__]
    return _Schema(document), document, data


def mask_with_schema(value: Any, document: Mapping[str, Any]) -> Any:
    """``value`` masked against the JSON Schema ``document`` (its root describes ``value``)."""
    return _Schema(document).mask(value, document)


def mask_event(value: Any, event_type: str | None) -> Any:
    """A decoded event (structured CloudEvent, or the ``data`` of a binary-mode one) masked for display.

    Without a catalog type, or for a value of an unexpected shape, the untrusted rules apply.
    """
    if event_type is None or event_type not in CATALOG:
        return _untrusted(value)
    schema, document, data = _schema_of(event_type)
    structured = isinstance(value, Mapping) and "specversion" in value
    return schema.mask(value, document if structured else data)
