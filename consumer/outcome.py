"""Outcome classes and reason codes: the vocabulary every decision in the service is made in.

Every record ends in exactly one :class:`OutcomeClass` (docs/concepts/); the pipeline branches on it in
one place. A :class:`Reason` is the stable, machine-readable code that goes into metrics labels, log
events and the ``ssc.reason`` DLQ header. Reason codes never contain addresses, tokens or bodies.

| class     | action                                                               |
|-----------|----------------------------------------------------------------------|
| SENT      | done                                                                 |
| TERMINAL  | done (per-recipient result such as PREVIOUSLY_BOUNCED), counted      |
| PERMANENT | dead-letter (acks=all) then done                                     |
| RETRY     | retry the same request (same sendId); feeds the transient breaker    |
| THROTTLE  | slow the shared limiter, honour Retry-After, retry                   |
| PAUSE     | pause every partition, report not ready, probe, resume               |
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutcomeClass(StrEnum):
    SENT = "SENT"
    TERMINAL = "TERMINAL"
    PERMANENT = "PERMANENT"
    RETRY = "RETRY"
    THROTTLE = "THROTTLE"
    PAUSE = "PAUSE"

    @property
    def done(self) -> bool:
        """True when the record needs no further work (a PERMANENT one needs its DLQ write first)."""
        return self in (OutcomeClass.SENT, OutcomeClass.TERMINAL)


class Reason(StrEnum):
    """Stable reason codes. Adding one is fine; renaming one breaks dashboards and DLQ filters."""

    # success / per-recipient results
    SENT = "sent"
    TERMINAL = "terminal_result"  # refined by the sendResult value in Outcome.send_result
    # decoding guards (consumer/decode.py)
    EMPTY_VALUE = "empty_value"
    OVERSIZE = "oversize"
    INVALID_UTF8 = "invalid_utf8"
    INVALID_JSON = "invalid_json"
    TOO_DEEP = "too_deep"
    NOT_OBJECT = "not_object"
    UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
    MISSING_ATTRIBUTE = "missing_attribute"
    INVALID_ATTRIBUTE = "invalid_attribute"
    CONTROL_CHARACTERS = "control_characters"
    # validation and routing (schemas/, consumer/route.py)
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    SCHEMA_VIOLATION = "schema_violation"
    NO_ROUTE = "no_route"
    EXPIRED = "expired"
    MAPPING_FAILED = "mapping_failed"
    # HubSpot answers (consumer/hubspot/taxonomy.py)
    BAD_REQUEST = "bad_request"  # 400 / 422 / other 4xx about this request
    SEND_REJECTED = "send_rejected"  # a PERMANENT sendResult (refined by Outcome.send_result)
    UNAUTHORIZED = "unauthorized"  # 401
    FORBIDDEN = "forbidden"  # 403
    OBJECT_NOT_FOUND = "object_not_found"  # 404 with HubSpot's error body: about this request
    ENDPOINT_NOT_FOUND = "endpoint_not_found"  # 404 not from HubSpot / 405: wrong base URL or proxy
    REDIRECTED = "redirected"  # 3xx: never followed, a proxy or a wrong base URL
    WRONG_PORTAL = "wrong_portal"  # the credential belongs to another portal than this environment's
    PORTAL_UNAVAILABLE = "portal_unavailable"  # PAUSE-class sendResults
    DAILY_LIMIT = "daily_limit"  # 429 DAILY
    MIGRATING = "portal_migrating"  # 477
    RATE_LIMITED = "rate_limited"  # 429 TEN_SECONDLY_ROLLING / THROTTLED
    SERVER_ERROR = "server_error"  # 5xx
    LOCKED = "locked"  # 423
    TIMEOUT = "timeout"
    CONNECTION = "connection_error"
    AMBIGUOUS = "ambiguous_response"  # 2xx that does not parse, unexpected 1xx
    RETRIES_EXHAUSTED = "retries_exhausted"
    # engine decisions
    MASS_DLQ_BREAKER = "mass_dlq_breaker"
    TRANSIENT_BREAKER = "transient_breaker"
    DLQ_UNWRITABLE = "dlq_unwritable"  # a dead letter the broker refuses whatever the retries


class Stage(StrEnum):
    """Where on its trip a record failed: the ``__connect.errors.stage`` DLQ header, ``record.rejected``."""

    DECODE = "decode"  # the Kafka value into a CloudEvent (consumer/decode.py guards)
    VALIDATE = "validate"  # the event against its schema
    ROUTE = "route"  # the event into HubSpot requests (consumer/route.py)
    SEND = "send"  # HubSpot's answer to a request


@dataclass(frozen=True, slots=True)
class Outcome:
    """The decision about one request (or one record, when it never became a request).

    ``detail`` is a short, scrubbed human sentence (no addresses, tokens or raw bodies); it becomes the
    Kafka-Connect-compatible ``__connect.errors.exception.message`` DLQ header.
    """

    cls: OutcomeClass
    reason: Reason
    detail: str = ""
    http_status: int | None = None
    send_result: str | None = None
    correlation_id: str | None = None
    retry_after_s: float | None = None
    status_id: str | None = None
    attempts: int = 1

    @property
    def label(self) -> str:
        """The most specific stable label: the sendResult when HubSpot gave one, else the reason."""
        return self.send_result or self.reason.value
