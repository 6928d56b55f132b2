"""Classification of every HTTP status and every sendResult into the outcome classes of docs/concepts."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumer.hubspot import taxonomy
from consumer.hubspot.responses import parse_error, parse_retry_after, parse_send_status
from consumer.hubspot.taxonomy import SEND_RESULT_CLASSES, UNKNOWN_SEND_RESULT_CLASS, classify_transport
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.redact import Scrubber

SPECS = Path(__file__).resolve().parent.parent / "reference" / "hubspot"
S, T, P = OutcomeClass.SENT, OutcomeClass.TERMINAL, OutcomeClass.PERMANENT
R, TH, PA = OutcomeClass.RETRY, OutcomeClass.THROTTLE, OutcomeClass.PAUSE


def classify(status: int, body: bytes, headers: dict[str, str]) -> Outcome:
    """The classification with a scrubber that knows no secret (addresses and token shapes only)."""
    return taxonomy.classify(status, body, headers, scrub=Scrubber())


# The expected class of every sendResult, written out independently of the implementation's table.
EXPECTED: dict[str, OutcomeClass] = {
    "ADDRESS_LIST_BOMBED": T,
    "ADDRESS_ONLY_ACCEPTED_ON_PROD": T,
    "ADDRESS_OPTED_OUT": T,
    "ATTACHMENT_DOWNLOAD_QUEUE_FULL": R,
    "BLOCKED_ADDRESS": T,
    "BLOCKED_DOMAIN": T,
    "BRAND_RECIPIENT_FATIGUE_SUPPRESSED": T,
    "CAMPAIGN_CANCELLED": T,
    "CANCELLED_ABUSE": T,
    "CONTACT_VIEW_PERMISSION": T,
    "CORRUPT_INPUT": P,
    "EMAIL_DISABLED": PA,
    "EMAIL_UNCONFIRMED": T,
    "GDPR_DOI_ENABLED": T,
    "GRAYMAIL_SUPPRESSED": T,
    "HUBL_LIMIT_EXCEEDED": P,
    "IDEMPOTENT_FAIL": P,
    "IDEMPOTENT_IGNORE": S,
    "INVALID_APP_ID_ATTRIBUTION": P,
    "INVALID_FROM_ADDRESS": P,
    "INVALID_TO_ADDRESS": T,
    "LOW_CONTACT_QUALITY_SCORE": T,
    "MARKETING_ACTIVATION_DISALLOWED": PA,
    "MISSING_CONTENT": P,
    "MISSING_REQUIRED_PARAMETER": P,
    "MISSING_TEMPLATE_PROPERTIES": P,
    "MTA_IGNORE": T,
    "NON_MARKETABLE_CONTACT": T,
    "PORTAL_AUTHENTICATION_FAILURE": PA,
    "PORTAL_EXPIRED": PA,
    "PORTAL_MISSING_MARKETING_SCOPE": PA,
    "PORTAL_NOT_AUTHORIZED_FOR_APPLICATION": PA,
    "PORTAL_OVER_LIMIT": PA,
    "PORTAL_SUSPENDED": PA,
    "PREVIOUS_SPAM": T,
    "PREVIOUSLY_BOUNCED": T,
    "PREVIOUSLY_UNSUBSCRIBED_BRAND": T,
    "PREVIOUSLY_UNSUBSCRIBED_BUSINESS_UNIT": T,
    "PREVIOUSLY_UNSUBSCRIBED_MESSAGE": T,
    "PREVIOUSLY_UNSUBSCRIBED_PORTAL": T,
    "QUARANTINED_ADDRESS": T,
    "QUEUED": S,
    "RECIPIENT_FATIGUE_SUPPRESSED": T,
    "SENT": S,
    "TEMPLATE_RENDER_EXCEPTION": P,
    "THROTTLED": TH,
    "TOO_MANY_RECIPIENTS": P,
    "UBB_GOVERNANCE_MISSING": PA,
    "UNCONFIGURED_SENDING_DOMAIN": PA,
    "UNDELIVERABLE": T,
    "VALIDATION_FAILED": P,
}


def _spec_send_results(name: str) -> set[str]:
    spec = json.loads((SPECS / name).read_text())
    return set(spec["components"]["schemas"]["EmailSendStatusView"]["properties"]["sendResult"]["enum"])


def _view(send_result: str | None, status: str = "COMPLETE") -> bytes:
    body: dict[str, str] = {"statusId": "s-1", "status": status}
    if send_result is not None:
        body["sendResult"] = send_result
    return orjson.dumps(body)


@pytest.mark.parametrize(
    "spec",
    [
        "hubspot-transactional-single-send.v3.openapi.json",
        "hubspot-transactional-single-send.2026-03.openapi.json",
    ],
)
def test_the_table_covers_exactly_the_51_send_results_of_each_spec(spec: str) -> None:
    values = _spec_send_results(spec)
    assert len(values) == 51
    assert set(SEND_RESULT_CLASSES) == values == set(EXPECTED)


@pytest.mark.parametrize(("send_result", "expected"), sorted(EXPECTED.items()))
def test_every_send_result_maps_to_its_deliberate_class(send_result: str, expected: OutcomeClass) -> None:
    outcome = classify(200, _view(send_result), {})
    assert outcome.cls is expected
    assert outcome.send_result == send_result
    assert outcome.http_status == 200
    assert outcome.status_id == "s-1"


def test_an_unknown_future_send_result_is_permanent_never_sent() -> None:
    outcome = classify(200, _view("BRAND_NEW_RESULT_2031"), {})
    assert outcome.cls is UNKNOWN_SEND_RESULT_CLASS is OutcomeClass.PERMANENT
    assert outcome.send_result == "BRAND_NEW_RESULT_2031"


@pytest.mark.parametrize("status", ["PENDING", "PROCESSING", "COMPLETE", "SOMETHING_NEW"])
def test_a_200_without_send_result_is_accepted(status: str) -> None:
    outcome = classify(200, _view(None, status), {})
    assert outcome.cls is OutcomeClass.SENT
    assert outcome.reason is Reason.SENT


def test_a_canceled_send_without_reason_is_permanent() -> None:
    assert classify(200, _view(None, "CANCELED"), {}).cls is OutcomeClass.PERMANENT


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[]", b'{"status":"PENDING"}', b'{"statusId":1,"status":"X"}']
)
def test_a_2xx_that_is_not_a_send_status_is_ambiguous_and_retried(body: bytes) -> None:
    outcome = classify(200, body, {})
    assert (outcome.cls, outcome.reason) == (OutcomeClass.RETRY, Reason.AMBIGUOUS)


def _expected_http(status: int) -> tuple[OutcomeClass, Reason]:
    special = {
        401: (PA, Reason.UNAUTHORIZED),
        403: (PA, Reason.FORBIDDEN),
        404: (P, Reason.OBJECT_NOT_FOUND),  # the body below is HubSpot's
        405: (PA, Reason.ENDPOINT_NOT_FOUND),
        408: (R, Reason.TIMEOUT),
        423: (R, Reason.LOCKED),
        429: (TH, Reason.RATE_LIMITED),
        477: (PA, Reason.MIGRATING),
    }
    if status in special:
        return special[status]
    if 400 <= status < 500:
        return P, Reason.BAD_REQUEST
    if 500 <= status < 600:
        return R, Reason.SERVER_ERROR
    if 300 <= status < 400:
        return PA, Reason.REDIRECTED
    return R, Reason.AMBIGUOUS


@pytest.mark.parametrize("status", [s for s in range(100, 600) if not 200 <= s < 300])
def test_every_non_2xx_http_status_has_one_class(status: int) -> None:
    body = orjson.dumps({"status": "error", "message": "x", "correlationId": "c-1", "category": "SOMETHING"})
    outcome = classify(status, body, {})
    assert (outcome.cls, outcome.reason) == _expected_http(status)
    assert outcome.http_status == status
    assert outcome.correlation_id == "c-1"


def test_a_hubspot_404_is_about_this_request_and_is_dead_lettered_with_its_message() -> None:
    body = orjson.dumps(
        {
            "status": "error",
            "message": "Email 123 not found",
            "correlationId": "c-9",
            "category": "OBJECT_NOT_FOUND",
        }
    )
    outcome = classify(404, body, {"Content-Type": "application/json"})
    assert (outcome.cls, outcome.reason) == (P, Reason.OBJECT_NOT_FOUND)
    assert "Email 123 not found" in outcome.detail
    assert outcome.correlation_id == "c-9"
    # the correlation id may come in the header only
    header_only = orjson.dumps({"status": "error", "message": "gone", "category": "OBJECT_NOT_FOUND"})
    assert classify(404, header_only, {"X-HubSpot-Correlation-Id": "c-h"}).cls is P


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"", {}),  # a load balancer or a wrong base URL
        (b"<html><body>Not Found</body></html>", {"Content-Type": "text/html"}),  # a proxy
        (b"404: Not Found", {"X-HubSpot-Correlation-Id": "c-1"}),  # not HubSpot's error body
        (orjson.dumps({"message": "not found", "category": "OBJECT_NOT_FOUND"}), {}),  # no correlation id
        (orjson.dumps({"error": "not found", "correlationId": "c-1"}), {}),  # no category
    ],
)
def test_a_404_that_is_not_hubspots_pauses_as_a_routing_problem(body: bytes, headers: dict[str, str]) -> None:
    outcome = classify(404, body, headers)
    assert (outcome.cls, outcome.reason) == (PA, Reason.ENDPOINT_NOT_FOUND)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_pauses_and_names_the_location_without_its_query(status: int) -> None:
    location = "https://user:pw@login.example.com:8443/portal/login?token=s3cret&next=/x#frag"
    outcome = classify(status, b"<html>moved</html>", {"Location": location})
    assert (outcome.cls, outcome.reason) == (PA, Reason.REDIRECTED)
    assert "https://login.example.com:8443/portal/login" in outcome.detail
    for secret in ("s3cret", "pw", "frag"):
        assert secret not in outcome.detail
    assert classify(status, b"", {}).reason is Reason.REDIRECTED


@pytest.mark.parametrize("status", [500, 502, 503, 504, 521, 522, 523, 524])
def test_the_documented_transient_5xx_are_retried(status: int) -> None:
    assert classify(status, b"<html>bad gateway</html>", {}).cls is OutcomeClass.RETRY


def test_a_daily_429_pauses_and_a_ten_secondly_429_throttles() -> None:
    daily = orjson.dumps(
        {"status": "error", "errorType": "RATE_LIMIT", "policyName": "DAILY", "message": "m"}
    )
    rolling = orjson.dumps({"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING", "message": "m"})
    assert (classify(429, daily, {}).cls, classify(429, daily, {}).reason) == (PA, Reason.DAILY_LIMIT)
    assert classify(429, rolling, {"Retry-After": "3"}).cls is TH
    assert classify(429, rolling, {"Retry-After": "3"}).retry_after_s == 3.0
    assert classify(429, b"", {}).cls is TH


def test_retry_after_in_http_date_form_is_measured_against_the_date_header() -> None:
    headers = {"Date": "Wed, 21 Oct 2026 07:28:00 GMT", "Retry-After": "Wed, 21 Oct 2026 07:28:42 GMT"}
    assert classify(503, b"", headers).retry_after_s == pytest.approx(42.0)
    assert classify(477, b"", {"retry-after": "7200"}).retry_after_s == 7200.0


def test_a_423_waits_at_least_two_seconds() -> None:
    assert classify(423, b"", {}).retry_after_s == 2.0
    assert classify(423, b"", {"Retry-After": "5"}).retry_after_s == 5.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("12", 12.0),
        ("1.5", 1.5),
        ("-4", 0.0),
        ("soon", None),
        ("", None),
        ("nan", None),
        (None, None),
    ],
)
def test_retry_after_seconds_parsing(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_the_correlation_id_falls_back_to_the_header() -> None:
    outcome = classify(500, b"oops", {"X-HubSpot-Correlation-Id": "abc-123"})
    assert outcome.correlation_id == "abc-123"


def test_the_error_text_passes_through_the_scrubber_the_caller_gives_and_no_other() -> None:
    body = orjson.dumps({"message": "token canary-7d1f0c2e9a refused"})
    given = Scrubber()
    given.register("canary-7d1f0c2e9a")
    assert taxonomy.classify(401, body, {}, scrub=given).detail == "HTTP 401: token *** refused"
    assert (
        taxonomy.classify(401, body, {}, scrub=str.upper).detail
        == "HTTP 401: TOKEN CANARY-7D1F0C2E9A REFUSED"
    )


def test_error_details_are_scrubbed_of_addresses() -> None:
    body = orjson.dumps({"message": "bad recipient jane.doe@example.com", "category": "VALIDATION_ERROR"})
    outcome = classify(400, body, {})
    assert "jane.doe@example.com" not in outcome.detail
    assert "VALIDATION_ERROR" in outcome.detail


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (TimeoutError(), Reason.TIMEOUT),
        (aiohttp.ServerTimeoutError("read"), Reason.TIMEOUT),
        (ConnectionResetError(), Reason.CONNECTION),
        (aiohttp.ServerDisconnectedError(), Reason.CONNECTION),
        (aiohttp.ClientPayloadError("truncated"), Reason.CONNECTION),
        (RuntimeError("weird"), Reason.AMBIGUOUS),
    ],
)
def test_transport_failures_are_always_retried(exc: BaseException, reason: Reason) -> None:
    outcome = classify_transport(exc)
    assert (outcome.cls, outcome.reason) == (OutcomeClass.RETRY, reason)


@given(status=st.integers(min_value=100, max_value=599), body=st.binary(max_size=200))
def test_classify_never_raises_and_never_calls_an_error_sent(status: int, body: bytes) -> None:
    outcome = classify(status, body, {"Retry-After": "x"})
    if not 200 <= status < 300:
        assert outcome.cls is not OutcomeClass.SENT


@given(
    st.dictionaries(
        st.text(max_size=10),
        st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=20)),
        max_size=6,
    )
)
def test_parsers_accept_any_json_object(data: dict[str, object]) -> None:
    raw = orjson.dumps(data)
    view = parse_send_status(raw)
    assert view is None or isinstance(view.status_id, str)
    parse_error(raw)


# -- exact outcomes: every field an answer carries, and what each class keeps of Retry-After -------------

WAIT = {"Retry-After": "5", "X-HubSpot-Correlation-Id": "c-h"}


def _error(**fields: str) -> bytes:
    return orjson.dumps({"status": "error", **fields})


@pytest.mark.parametrize(
    ("status", "body", "cls", "reason", "retry_after"),
    [
        (401, _error(category="INVALID_AUTHENTICATION"), PA, Reason.UNAUTHORIZED, 5.0),
        (403, _error(category="MISSING_SCOPES"), PA, Reason.FORBIDDEN, 5.0),
        (404, b"", PA, Reason.ENDPOINT_NOT_FOUND, 5.0),  # not HubSpot's: a routing problem, it waits
        (404, _error(category="OBJECT_NOT_FOUND"), P, Reason.OBJECT_NOT_FOUND, None),  # never retried
        (405, b"", PA, Reason.ENDPOINT_NOT_FOUND, 5.0),
        (408, b"", R, Reason.TIMEOUT, 5.0),
        (423, b"", R, Reason.LOCKED, 5.0),
        (429, _error(policyName="DAILY"), PA, Reason.DAILY_LIMIT, 5.0),  # the pause lasts Retry-After
        (429, _error(policyName="daily"), PA, Reason.DAILY_LIMIT, 5.0),
        (429, _error(policyName="TEN_SECONDLY_ROLLING"), TH, Reason.RATE_LIMITED, 5.0),
        (429, b"", TH, Reason.RATE_LIMITED, 5.0),
        (477, b"", PA, Reason.MIGRATING, 5.0),
        (400, _error(category="VALIDATION_ERROR"), P, Reason.BAD_REQUEST, None),
        (422, b"", P, Reason.BAD_REQUEST, None),
        (499, b"", P, Reason.BAD_REQUEST, None),
        (500, b"", R, Reason.SERVER_ERROR, 5.0),
        (599, b"", R, Reason.SERVER_ERROR, 5.0),
        (600, b"", R, Reason.AMBIGUOUS, 5.0),  # beyond the 5xx: unknown, retried as ambiguous
        (601, b"", R, Reason.AMBIGUOUS, 5.0),
        (103, b"", R, Reason.AMBIGUOUS, 5.0),
        (399, b"", PA, Reason.REDIRECTED, None),  # a redirect is a configuration problem: no wait
    ],
)
def test_each_error_answer_keeps_retry_after_exactly_where_it_sets_a_wait(
    status: int, body: bytes, cls: OutcomeClass, reason: Reason, retry_after: float | None
) -> None:
    outcome = classify(status, body, WAIT)
    assert (outcome.cls, outcome.reason, outcome.retry_after_s) == (cls, reason, retry_after)
    assert (outcome.http_status, outcome.correlation_id, outcome.attempts) == (status, "c-h", 1)
    assert (outcome.send_result, outcome.status_id) == (None, None)


@pytest.mark.parametrize(
    ("status", "body", "detail"),
    [
        (503, b"", "HTTP 503"),
        (400, _error(category="VALIDATION_ERROR"), "HTTP 400 VALIDATION_ERROR"),
        (400, _error(message="emailId is required"), "HTTP 400: emailId is required"),
        (
            429,
            _error(category="RATE_LIMITS", policyName="TEN_SECONDLY_ROLLING", message="slow down"),
            "HTTP 429 RATE_LIMITS TEN_SECONDLY_ROLLING: slow down",
        ),
        (429, _error(policyName="DAILY"), "HTTP 429 DAILY"),
        (400, _error(message="m" * 201), "HTTP 400: " + "m" * 200),  # HubSpot's text, cut at 200
    ],
)
def test_the_detail_of_an_error_answer_is_status_category_policy_and_message(
    status: int, body: bytes, detail: str
) -> None:
    assert classify(status, body, {}).detail == detail


def test_an_error_answer_is_one_exact_outcome() -> None:
    body = _error(category="VALIDATION_ERROR", message="bad", correlationId="c-b")
    assert classify(400, body, {"X-HubSpot-Correlation-Id": "c-h", "Retry-After": "9"}) == Outcome(
        P, Reason.BAD_REQUEST, "HTTP 400 VALIDATION_ERROR: bad", http_status=400, correlation_id="c-b"
    )


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "HTTP 302 redirect to nowhere (not followed)"),
        ({"Location": ""}, "HTTP 302 redirect to nowhere (not followed)"),
        (
            {"Location": "https://login.example.com/p?x=1"},
            "HTTP 302 redirect to https://login.example.com/p (not followed)",
        ),
    ],
)
def test_a_redirect_names_where_it_leads_or_nowhere(headers: dict[str, str], detail: str) -> None:
    assert classify(302, b"", {**headers, "X-HubSpot-Correlation-Id": "c-r"}) == Outcome(
        PA, Reason.REDIRECTED, detail, http_status=302, correlation_id="c-r"
    )


@pytest.mark.parametrize(
    ("send_result", "cls", "retry_after"),
    [
        ("ATTACHMENT_DOWNLOAD_QUEUE_FULL", R, 5.0),
        ("THROTTLED", TH, 5.0),  # a THROTTLED 200 sets how long every sender waits
        ("PORTAL_SUSPENDED", PA, 5.0),
        ("SENT", S, None),
        ("PREVIOUSLY_BOUNCED", T, None),
        ("TEMPLATE_RENDER_EXCEPTION", P, None),
    ],
)
def test_a_2xx_send_status_keeps_retry_after_only_for_the_classes_that_wait(
    send_result: str, cls: OutcomeClass, retry_after: float | None
) -> None:
    outcome = classify(200, _view(send_result), WAIT)
    reason = {
        R: Reason.SERVER_ERROR,
        TH: Reason.RATE_LIMITED,
        PA: Reason.PORTAL_UNAVAILABLE,
        S: Reason.SENT,
        T: Reason.TERMINAL,
        P: Reason.SEND_REJECTED,
    }[cls]
    assert outcome == Outcome(
        cls,
        reason,
        f"sendResult {send_result}",
        http_status=200,
        send_result=send_result,
        correlation_id="c-h",
        retry_after_s=retry_after,
        status_id="s-1",
    )


def test_an_accepted_2xx_without_send_result_is_one_exact_outcome() -> None:
    assert classify(201, _view(None, "PENDING"), WAIT) == Outcome(
        S, Reason.SENT, "accepted (PENDING)", http_status=201, correlation_id="c-h", status_id="s-1"
    )


def test_a_canceled_2xx_without_send_result_is_one_exact_outcome() -> None:
    assert classify(200, _view(None, "CANCELED"), WAIT) == Outcome(
        P,
        Reason.SEND_REJECTED,
        "send CANCELED without a sendResult",
        http_status=200,
        correlation_id="c-h",
        status_id="s-1",
    )


def test_a_2xx_that_is_not_a_send_status_is_one_exact_outcome() -> None:
    assert classify(202, b"<html>ok</html>", WAIT) == Outcome(
        R, Reason.AMBIGUOUS, "HTTP 202 without a send status", http_status=202, correlation_id="c-h"
    )


class ClientError(Exception):
    """Named like aiohttp's base error, but not aiohttp's."""


AiohttpInternal = type("AiohttpInternal", (Exception,), {"__module__": "aiohttp.internal"})


@pytest.mark.parametrize(
    ("exc", "reason", "detail"),
    [
        (TimeoutError(), Reason.TIMEOUT, "timeout (TimeoutError)"),
        (aiohttp.ServerTimeoutError("read"), Reason.TIMEOUT, "timeout (ServerTimeoutError)"),
        (ConnectionResetError(), Reason.CONNECTION, "transport error (ConnectionResetError)"),
        (aiohttp.ClientError("x"), Reason.CONNECTION, "transport error (ClientError)"),
        (aiohttp.ServerDisconnectedError(), Reason.CONNECTION, "transport error (ServerDisconnectedError)"),
        (ClientError("not aiohttp's"), Reason.AMBIGUOUS, "unexpected transport failure (ClientError)"),
        (AiohttpInternal(), Reason.AMBIGUOUS, "unexpected transport failure (AiohttpInternal)"),
        (RuntimeError("weird"), Reason.AMBIGUOUS, "unexpected transport failure (RuntimeError)"),
    ],
)
def test_a_transport_failure_is_one_exact_outcome_named_after_its_exception(
    exc: BaseException, reason: Reason, detail: str
) -> None:
    assert classify_transport(exc) == Outcome(R, reason, detail)
