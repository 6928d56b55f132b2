"""Request-body validation of the simulator, as HubSpot's spec states it (pure, hand-written for speed).

Returns the first problem as ``(field, message)``; the handler turns it into a 400
``VALIDATION_ERROR`` naming the field. ``strict_dated`` adds what the dated versions' spec marks
required (``message.cc``/``bcc``/``replyTo``, ``contactProperties``, ``customProperties``).
"""

from __future__ import annotations

from typing import Any

INT64_MAX = 2**63 - 1
_LISTS = ("replyTo", "cc", "bcc")


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def validate_send(data: Any, *, strict_dated: bool = False) -> tuple[str, str] | None:
    """The first violation of ``PublicSingleSendRequestEgg`` in ``data``, or ``None``."""
    if not isinstance(data, dict):
        return "body", "the request body must be a JSON object"
    email_id = data.get("emailId")
    if email_id is None:
        return "emailId", "emailId is required"
    if isinstance(email_id, bool) or not isinstance(email_id, int) or not 0 < email_id <= INT64_MAX:
        return "emailId", "emailId must be a positive 64-bit integer"
    message = data.get("message")
    if message is None:
        return "message", "message is required"
    if not isinstance(message, dict):
        return "message", "message must be an object"
    to = message.get("to")
    if not isinstance(to, str) or not to.strip():
        return "message.to", "message.to is required and must be a string"
    for key in ("from", "sendId"):
        if key in message and not isinstance(message[key], str):
            return f"message.{key}", f"message.{key} must be a string"
    for key in _LISTS:
        if key in message and not _is_str_list(message[key]):
            return f"message.{key}", f"message.{key} must be a list of strings"
        if strict_dated and key not in message:
            return f"message.{key}", f"message.{key} is required"
    contact = data.get("contactProperties")
    if contact is not None:
        if not isinstance(contact, dict):
            return "contactProperties", "contactProperties must be an object"
        for name, value in contact.items():
            if not isinstance(value, str):
                return f"contactProperties.{name}", "contact property values must be strings"
    elif strict_dated:
        return "contactProperties", "contactProperties is required"
    custom = data.get("customProperties")
    if custom is not None:
        if not isinstance(custom, dict):
            return "customProperties", "customProperties must be an object"
        for name, value in custom.items():
            if isinstance(value, list):  # the spec: "Custom properties do not currently support arrays"
                return f"customProperties.{name}", "custom properties do not support arrays"
    elif strict_dated:
        return "customProperties", "customProperties is required"
    return None
