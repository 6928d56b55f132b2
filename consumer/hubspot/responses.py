"""Lenient parsing of HubSpot answers (pure: no I/O, no aiohttp).

* :class:`SendStatus` is ``EmailSendStatusView``. ``status`` and ``sendResult`` are kept as open strings:
  HubSpot adds ``sendResult`` values over time (the old SDK enum had 43, the spec now has 51) and an
  unknown one must never fail parsing. Only ``statusId`` and ``status`` are required, as in the spec.
* :class:`ErrorBody` is HubSpot's ``Error`` plus the rate-limit extras (``errorType``, ``policyName``).
  HubSpot asks clients to treat every field as optional, so anything that is not a JSON object simply
  yields an empty :class:`ErrorBody`.
* :func:`parse_retry_after` reads ``Retry-After`` as delta-seconds or an HTTP date.
"""

from __future__ import annotations

import email.utils
import math
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

CORRELATION_HEADER = "x-hubspot-correlation-id"


@dataclass(frozen=True, slots=True)
class SendStatus:
    """``EmailSendStatusView``: the (asynchronous) status of one send request."""

    status_id: str
    status: str
    send_result: str | None = None
    requested_at: str | None = None
    completed_at: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """HubSpot's error body; every field optional. ``message`` is raw: scrub it before logging."""

    category: str | None = None
    sub_category: str | None = None
    message: str | None = None
    correlation_id: str | None = None
    error_type: str | None = None
    policy_name: str | None = None

    @property
    def from_hubspot(self) -> bool:
        """HubSpot's own error: a JSON error body with a ``category`` and a correlation id (in the body
        or the ``X-HubSpot-Correlation-Id`` header). A proxy, a load balancer or a server at a wrong
        base URL answers without them."""
        return self.category is not None and self.correlation_id is not None


def _load_object(body: bytes) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def parse_send_status(body: bytes) -> SendStatus | None:
    """The ``EmailSendStatusView`` in ``body``, or ``None`` when it is not one (ambiguous answer)."""
    data = _load_object(body)
    if data is None:
        return None
    status_id, status = data.get("statusId"), data.get("status")
    if not isinstance(status_id, str) or not isinstance(status, str):
        return None
    return SendStatus(
        status_id=status_id,
        status=status,
        send_result=_opt_str(data, "sendResult"),
        requested_at=_opt_str(data, "requestedAt"),
        completed_at=_opt_str(data, "completedAt"),
        message=_opt_str(data, "message"),
    )


def parse_error(body: bytes, headers: Mapping[str, str] | None = None) -> ErrorBody:
    """Whatever HubSpot said about an error; ``correlationId`` falls back to the correlation header."""
    data = _load_object(body) or {}
    correlation = _opt_str(data, "correlationId")
    if correlation is None and headers is not None:
        correlation = header(headers, CORRELATION_HEADER)
    return ErrorBody(
        category=_opt_str(data, "category"),
        sub_category=_opt_str(data, "subCategory"),
        message=_opt_str(data, "message"),
        correlation_id=correlation,
        error_type=_opt_str(data, "errorType"),
        policy_name=_opt_str(data, "policyName"),
    )


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that works for plain dicts as well as multidicts."""
    value = headers.get(name)
    if value is not None:
        return value
    lower = name.lower()
    for key, found in headers.items():
        if key.lower() == lower:
            return found
    return None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds (never negative), from delta-seconds or an HTTP date; else ``None``.

    ``now`` is the reference for an HTTP date: the response's ``Date`` header when the caller has it
    (server clock against server clock), else the local wall clock.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None  # NaN/inf is not a delay
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now or datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


def response_date(headers: Mapping[str, str]) -> datetime | None:
    """The response's ``Date`` header as an aware datetime, if present and valid."""
    raw = header(headers, "date")
    if not raw:
        return None
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def without_query(url: str | None) -> str | None:
    """``url`` without its user info, query string and fragment (they may carry tokens): safe to log."""
    if not url:
        return None
    parts = urllib.parse.urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))[:200]
