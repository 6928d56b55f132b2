"""The ONE place where a HubSpot answer becomes an :class:`~consumer.outcome.Outcome` (pure).

:func:`classify` maps (HTTP status, body, headers) to an outcome class (docs/concepts/how-it-works.md);
:func:`classify_transport` does the same for an exception raised before any answer arrived. The
error text of an answer reaches the outcome's ``detail`` through the ``scrub`` the caller passes
(the HubSpot client passes the process's scrubber, which knows the credentials it sends).

HTTP statuses:

| status                     | class     | reason             | why                                         |
|----------------------------|-----------|--------------------|---------------------------------------------|
| 2xx + EmailSendStatusView  | by ``sendResult`` (table below); absent: SENT (accepted, PENDING)        |
| 2xx that does not parse    | RETRY     | ambiguous_response | maybe accepted: retry, the sendId dedups    |
| 1xx, unknown               | RETRY     | ambiguous_response | ditto                                       |
| 3xx (never followed)       | PAUSE     | redirected         | a proxy / portal / wrong base URL redirects |
| 400, 422, other 4xx        | PERMANENT | bad_request        | this request can never succeed              |
| 401                        | PAUSE     | unauthorized       | credential problem, not the event's         |
| 403                        | PAUSE     | forbidden          | missing scope / add-on                      |
| 404 with HubSpot's body    | PERMANENT | object_not_found   | HubSpot: what this request names is missing |
| 404 not HubSpot's, 405     | PAUSE     | endpoint_not_found | wrong base URL / proxy: all sends fail      |
| 408                        | RETRY     | timeout            |                                             |
| 423                        | RETRY     | locked             | HubSpot: wait at least 2 s                  |
| 429 ``DAILY``              | PAUSE     | daily_limit        | nothing succeeds until the daily reset      |
| 429 other / no policy      | THROTTLE  | rate_limited       | ten-secondly window: slow the shared limiter|
| 477                        | PAUSE     | portal_migrating   | data-centre move; Retry-After can be hours  |
| 5xx (500, 502-504, 521-524)| RETRY     | server_error       | transient                                   |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from consumer.hubspot.responses import (
    ErrorBody,
    header,
    parse_error,
    parse_retry_after,
    parse_send_status,
    response_date,
    without_query,
)
from consumer.outcome import Outcome, OutcomeClass, Reason

_S, _T, _P = OutcomeClass.SENT, OutcomeClass.TERMINAL, OutcomeClass.PERMANENT
_R, _TH, _PA = OutcomeClass.RETRY, OutcomeClass.THROTTLE, OutcomeClass.PAUSE

# Every sendResult of the current spec (51 values), classified deliberately.
#   SENT      accepted: the email is (or was already) on its way.
#   TERMINAL  about this recipient: resending cannot help, nothing is wrong with the event → done.
#   PERMANENT about this event / its template data: dead-letter it for inspection and replay.
#   RETRY     transient on HubSpot's side: retry with the same sendId.
#   THROTTLE  HubSpot's email layer asks us to slow down.
#   PAUSE     about the portal, app or account: every send would fail the same way → pause, probe.
_TABLE: dict[str, OutcomeClass] = {
    # -- accepted
    "SENT": _S,
    "QUEUED": _S,
    "IDEMPOTENT_IGNORE": _S,  # this sendId was already accepted: the one email exists
    # -- per recipient: suppression, reputation, consent, address quality
    "ADDRESS_LIST_BOMBED": _T,  # the address was list-bombed; HubSpot suppresses it
    "ADDRESS_ONLY_ACCEPTED_ON_PROD": _T,  # sandbox/test portal refuses this address; others still send
    "ADDRESS_OPTED_OUT": _T,
    "BLOCKED_ADDRESS": _T,
    "BLOCKED_DOMAIN": _T,
    "BRAND_RECIPIENT_FATIGUE_SUPPRESSED": _T,
    "CAMPAIGN_CANCELLED": _T,  # this send was cancelled; resending the same sendId cannot revive it
    "CANCELLED_ABUSE": _T,  # this send was cancelled as abusive; a retry would be too
    "CONTACT_VIEW_PERMISSION": _T,  # the app may not see this particular contact (partitioning)
    "EMAIL_UNCONFIRMED": _T,  # the recipient has not confirmed the address
    "GDPR_DOI_ENABLED": _T,  # double opt-in pending for this contact
    "GRAYMAIL_SUPPRESSED": _T,
    "INVALID_TO_ADDRESS": _T,
    "LOW_CONTACT_QUALITY_SCORE": _T,
    "MTA_IGNORE": _T,  # the mail server decided not to deliver to this recipient
    "NON_MARKETABLE_CONTACT": _T,
    "PREVIOUS_SPAM": _T,
    "PREVIOUSLY_BOUNCED": _T,
    "PREVIOUSLY_UNSUBSCRIBED_BRAND": _T,
    "PREVIOUSLY_UNSUBSCRIBED_BUSINESS_UNIT": _T,
    "PREVIOUSLY_UNSUBSCRIBED_MESSAGE": _T,
    "PREVIOUSLY_UNSUBSCRIBED_PORTAL": _T,
    "QUARANTINED_ADDRESS": _T,
    "RECIPIENT_FATIGUE_SUPPRESSED": _T,
    "UNDELIVERABLE": _T,
    # -- the event or its template data is wrong: dead-letter (the mass-DLQ breaker turns a burst
    #    of these into a PAUSE, which covers a template broken for everyone)
    "CORRUPT_INPUT": _P,
    "HUBL_LIMIT_EXCEEDED": _P,  # the template hit a HubL limit with this event's data
    "IDEMPOTENT_FAIL": _P,  # undocumented; read as "sendId reused with a different body": a conflict
    "INVALID_APP_ID_ATTRIBUTION": _P,  # undocumented; inspectable in the DLQ, breaker covers a burst
    "INVALID_FROM_ADDRESS": _P,
    "MISSING_CONTENT": _P,
    "MISSING_REQUIRED_PARAMETER": _P,
    "MISSING_TEMPLATE_PROPERTIES": _P,
    "TEMPLATE_RENDER_EXCEPTION": _P,
    "TOO_MANY_RECIPIENTS": _P,  # too many cc/bcc in this event
    "VALIDATION_FAILED": _P,
    # -- transient on HubSpot's side
    "ATTACHMENT_DOWNLOAD_QUEUE_FULL": _R,
    # -- slow down
    "THROTTLED": _TH,
    # -- portal / account / app configuration: every send would fail alike
    "EMAIL_DISABLED": _PA,
    "MARKETING_ACTIVATION_DISALLOWED": _PA,  # account setting, not the contact's
    "PORTAL_AUTHENTICATION_FAILURE": _PA,
    "PORTAL_EXPIRED": _PA,
    "PORTAL_MISSING_MARKETING_SCOPE": _PA,
    "PORTAL_NOT_AUTHORIZED_FOR_APPLICATION": _PA,
    "PORTAL_OVER_LIMIT": _PA,
    "PORTAL_SUSPENDED": _PA,
    "UBB_GOVERNANCE_MISSING": _PA,  # usage-based-billing governance not set up for the account
    "UNCONFIGURED_SENDING_DOMAIN": _PA,
}

SEND_RESULT_CLASSES: Mapping[str, OutcomeClass] = MappingProxyType(_TABLE)
"""Every known ``sendResult`` → its outcome class (51 values)."""

UNKNOWN_SEND_RESULT_CLASS = OutcomeClass.PERMANENT
"""A value HubSpot adds after this table was written. Not SENT (we cannot know the email went out),
not TERMINAL (that would mark the event done silently), not RETRY (it may never change: an endless
loop), not PAUSE (one odd event would stop everything). PERMANENT keeps the event inspectable and
replayable in the DLQ, and the mass-DLQ breaker turns a burst of it into a PAUSE."""

_REASON_BY_CLASS = {
    _S: Reason.SENT,
    _T: Reason.TERMINAL,
    _P: Reason.SEND_REJECTED,
    _R: Reason.SERVER_ERROR,
    _TH: Reason.RATE_LIMITED,
    _PA: Reason.PORTAL_UNAVAILABLE,
}

LOCKED_MIN_WAIT_S = 2.0
_DETAIL_MAX = 200


def classify_send_result(send_result: str | None) -> OutcomeClass:
    """The class of a 200 answer's ``sendResult`` (``None``: accepted, still pending → SENT)."""
    if send_result is None:
        return OutcomeClass.SENT
    return SEND_RESULT_CLASSES.get(send_result, UNKNOWN_SEND_RESULT_CLASS)


def _detail(status: int, err: ErrorBody, scrub: Callable[[str], str]) -> str:
    parts = [f"HTTP {status}"]
    if err.category:
        parts.append(err.category)
    if err.policy_name:
        parts.append(err.policy_name)
    text = " ".join(parts)
    if err.message:
        text = f"{text}: {scrub(err.message)[:_DETAIL_MAX]}"
    return text


def _retry_after(headers: Mapping[str, str]) -> float | None:
    return parse_retry_after(header(headers, "retry-after"), now=response_date(headers))


def _success(status: int, body: bytes, headers: Mapping[str, str]) -> Outcome:
    view = parse_send_status(body)
    correlation = header(headers, "x-hubspot-correlation-id")
    if view is None:
        return Outcome(
            OutcomeClass.RETRY,
            Reason.AMBIGUOUS,
            f"HTTP {status} without a send status",
            http_status=status,
            correlation_id=correlation,
        )
    if view.send_result is None and view.status == "CANCELED":
        # Cancelled with no reason given: not sent, and nothing says why. Keep it inspectable.
        cls, detail = OutcomeClass.PERMANENT, "send CANCELED without a sendResult"
    else:
        cls = classify_send_result(view.send_result)
        detail = f"sendResult {view.send_result}" if view.send_result else f"accepted ({view.status})"
    reason = _REASON_BY_CLASS[cls]
    return Outcome(
        cls,
        reason,
        detail,
        http_status=status,
        send_result=view.send_result,
        correlation_id=correlation,
        retry_after_s=_retry_after(headers) if cls in (_R, _TH, _PA) else None,
        status_id=view.status_id,
    )


def classify(status: int, body: bytes, headers: Mapping[str, str], *, scrub: Callable[[str], str]) -> Outcome:
    """Turn one HTTP answer of the Single Send endpoint into an outcome (see the module table);
    HubSpot's error message enters the ``detail`` only through ``scrub``."""
    if 200 <= status < 300:
        return _success(status, body, headers)
    err = parse_error(body, headers)
    retry_after = _retry_after(headers)

    def out(cls: OutcomeClass, reason: Reason, wait: float | None = None) -> Outcome:
        return Outcome(
            cls,
            reason,
            _detail(status, err, scrub),
            http_status=status,
            correlation_id=err.correlation_id,
            retry_after_s=wait,
        )

    if status == 401:
        return out(_PA, Reason.UNAUTHORIZED, retry_after)
    if status == 403:
        return out(_PA, Reason.FORBIDDEN, retry_after)
    if status == 404 and err.from_hubspot:
        return out(_P, Reason.OBJECT_NOT_FOUND)
    if status in (404, 405):
        return out(_PA, Reason.ENDPOINT_NOT_FOUND, retry_after)
    if status == 408:
        return out(_R, Reason.TIMEOUT, retry_after)
    if status == 423:
        return out(_R, Reason.LOCKED, max(retry_after or 0.0, LOCKED_MIN_WAIT_S))
    if status == 429:
        if (err.policy_name or "").upper() == "DAILY":
            return out(_PA, Reason.DAILY_LIMIT, retry_after)
        return out(_TH, Reason.RATE_LIMITED, retry_after)
    if status == 477:
        return out(_PA, Reason.MIGRATING, retry_after)
    if 400 <= status < 500:
        return out(_P, Reason.BAD_REQUEST)
    if 500 <= status < 600:
        return out(_R, Reason.SERVER_ERROR, retry_after)
    if 300 <= status < 400:
        return _redirected(status, headers, err)
    return out(_R, Reason.AMBIGUOUS, retry_after)


def _redirected(status: int, headers: Mapping[str, str], err: ErrorBody) -> Outcome:
    """A redirect is never followed on an API call (a 302 would turn the POST into a GET, and whatever
    answers at the far end is not HubSpot): it is a configuration problem, so every send pauses."""
    location = without_query(header(headers, "location")) or "nowhere"
    return Outcome(
        _PA,
        Reason.REDIRECTED,
        f"HTTP {status} redirect to {location} (not followed)",
        http_status=status,
        correlation_id=err.correlation_id,
    )


def _is_aiohttp_error(exc: BaseException) -> bool:
    # Duck-typed so this module stays free of aiohttp imports (it is part of the pure core).
    return any(k.__module__.startswith("aiohttp") and k.__name__ == "ClientError" for k in type(exc).__mro__)


def classify_transport(exc: BaseException) -> Outcome:
    """An exception instead of an answer. The request may or may not have reached HubSpot, so it is
    always RETRY (the same ``sendId`` makes a retry safe): timeouts, connection errors, broken payloads.
    """
    name = type(exc).__name__
    if isinstance(exc, TimeoutError):
        return Outcome(OutcomeClass.RETRY, Reason.TIMEOUT, f"timeout ({name})")
    if isinstance(exc, OSError) or _is_aiohttp_error(exc):
        return Outcome(OutcomeClass.RETRY, Reason.CONNECTION, f"transport error ({name})")
    return Outcome(OutcomeClass.RETRY, Reason.AMBIGUOUS, f"unexpected transport failure ({name})")
