"""The HubSpot client against aioresponses: retries, Retry-After, budget, auth refresh, OAuth, hapikey.

Nothing sleeps for real: the client and its limiter get a fake clock whose ``sleep`` advances time.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aioresponses import CallbackResult, aioresponses
from pydantic import SecretStr

from consumer.hubspot.auth import OAuthAuth
from consumer.hubspot.client import HubSpotClient
from consumer.hubspot.ratelimit import RateLimiter
from consumer.hubspot.request import SingleSendRequest
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.settings import AuthMode, AuthSettings, HubSpotSettings, RateLimitSettings, RetrySettings

BASE = "https://api.test.hubapi"
SEND_URL = BASE + "/marketing/v3/transactional/single-email/send"
SEND_RE = re.compile(re.escape(SEND_URL) + r"(\?.*)?$")
TOKEN_URL = BASE + "/oauth/v3/token"
PENDING = {"statusId": "st-1", "status": "PENDING", "requestedAt": "2026-11-27T10:00:00Z"}


class FakeTime:
    """A monotonic clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def mocked(http_mock: aioresponses) -> aioresponses:
    return http_mock


def settings(**overrides: Any) -> HubSpotSettings:
    values: dict[str, Any] = {
        "base_url": BASE,
        "auth": AuthSettings(token=SecretStr("unit-token-abcdef")),
        "retry": RetrySettings(initial_backoff_s=0.5, max_backoff_s=4.0, budget_s=30.0),
        "rate_limit": RateLimitSettings(requests_per_interval=1000, interval_ms=10_000),
    }
    values.update(overrides)
    return HubSpotSettings(**values)


def client(fake: FakeTime, cfg: HubSpotSettings | None = None, **kwargs: Any) -> HubSpotClient:
    return HubSpotClient(cfg or settings(), max_in_flight=8, sleep=fake.sleep, clock=fake.clock, **kwargs)


def request(send_id: str = "send-0001") -> SingleSendRequest:
    return SingleSendRequest.model_validate(
        {
            "emailId": 12345678901,
            "message": {"to": "ada@example.com", "sendId": send_id},
            "contactProperties": {"firstname": "Ada"},
        }
    )


def sent_bodies(m: aioresponses) -> list[bytes]:
    return [call.kwargs["data"] for key, calls in m.requests.items() if key[0] == "POST" for call in calls]


def calls_to(m: aioresponses, url_prefix: str) -> list[Any]:
    return [c for key, calls in m.requests.items() if str(key[1]).startswith(url_prefix) for c in calls]


async def test_a_retry_resends_the_identical_body_and_send_id(
    fake_time: FakeTime, mocked: aioresponses
) -> None:
    mocked.post(SEND_URL, status=503)
    mocked.post(SEND_URL, status=502, body=b"<html>bad gateway</html>", content_type="text/html")
    mocked.post(SEND_URL, payload=PENDING)
    seen: list[Outcome] = []
    async with client(fake_time, observer=lambda outcome, _at: seen.append(outcome)) as c:
        outcome = await c.send(request())
    assert outcome.cls is OutcomeClass.SENT
    assert outcome.attempts == 3
    bodies = sent_bodies(mocked)
    assert len(bodies) == 3
    assert len(set(bodies)) == 1
    assert orjson.loads(bodies[0])["message"]["sendId"] == "send-0001"
    assert [o.cls for o in seen] == [OutcomeClass.RETRY, OutcomeClass.RETRY, OutcomeClass.SENT]
    # full jitter: each backoff is within [0, min(max, initial * 2^(n-1))]
    assert len(fake_time.sleeps) == 2
    assert 0 <= fake_time.sleeps[0] <= 0.5
    assert 0 <= fake_time.sleeps[1] <= 1.0


async def test_retry_after_in_seconds_is_honoured(fake_time: FakeTime, mocked: aioresponses) -> None:
    mocked.post(SEND_URL, status=503, headers={"Retry-After": "7"})
    mocked.post(SEND_URL, payload=PENDING)
    async with client(fake_time) as c:
        assert (await c.send(request())).cls is OutcomeClass.SENT
    assert fake_time.sleeps[0] >= 7


async def test_retry_after_as_an_http_date_is_honoured(fake_time: FakeTime, mocked: aioresponses) -> None:
    now = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
    headers = {
        "Date": format_datetime(now, usegmt=True),
        "Retry-After": format_datetime(now + timedelta(seconds=20), usegmt=True),
    }
    mocked.post(SEND_URL, status=500, headers=headers)
    mocked.post(SEND_URL, payload=PENDING)
    async with client(fake_time) as c:
        assert (await c.send(request())).cls is OutcomeClass.SENT
    assert fake_time.sleeps[0] == pytest.approx(20.0)


async def test_retries_stop_when_the_time_budget_is_spent(fake_time: FakeTime, mocked: aioresponses) -> None:
    mocked.post(SEND_URL, status=503, repeat=True)
    async with client(fake_time) as c:
        started = fake_time.now
        outcome = await c.send(request())
    assert (outcome.cls, outcome.reason) == (OutcomeClass.RETRY, Reason.RETRIES_EXHAUSTED)
    assert outcome.http_status == 503
    assert fake_time.now - started <= 30.0
    assert 3 <= outcome.attempts == len(sent_bodies(mocked)) < 200


@pytest.mark.parametrize(
    ("status", "payload", "expected"),
    [
        (200, {**PENDING, "status": "COMPLETE", "sendResult": "PREVIOUSLY_BOUNCED"}, OutcomeClass.TERMINAL),
        (
            200,
            {**PENDING, "status": "COMPLETE", "sendResult": "TEMPLATE_RENDER_EXCEPTION"},
            OutcomeClass.PERMANENT,
        ),
        (400, {"status": "error", "category": "VALIDATION_ERROR", "message": "bad"}, OutcomeClass.PERMANENT),
        (422, {"message": "unprocessable"}, OutcomeClass.PERMANENT),
    ],
)
async def test_terminal_and_permanent_answers_are_never_retried(
    fake_time: FakeTime, mocked: aioresponses, status: int, payload: dict[str, Any], expected: OutcomeClass
) -> None:
    mocked.post(SEND_URL, status=status, payload=payload, repeat=True)
    async with client(fake_time) as c:
        outcome = await c.send(request())
    assert outcome.cls is expected
    assert len(sent_bodies(mocked)) == 1
    assert fake_time.sleeps == []


async def test_transport_errors_are_retried(fake_time: FakeTime, mocked: aioresponses) -> None:
    mocked.post(SEND_URL, exception=aiohttp.ServerTimeoutError("read timeout"))
    mocked.post(SEND_URL, exception=aiohttp.ClientConnectionError("reset"))
    mocked.post(SEND_URL, payload=PENDING)
    seen: list[Outcome] = []
    async with client(fake_time, observer=lambda outcome, _at: seen.append(outcome)) as c:
        assert (await c.send(request())).cls is OutcomeClass.SENT
    assert [o.reason for o in seen] == [Reason.TIMEOUT, Reason.CONNECTION, Reason.SENT]


async def test_a_401_rereads_the_token_file_and_succeeds(
    fake_time: FakeTime, mocked: aioresponses, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("old-token-111111\n")
    auth_headers: list[str] = []

    def answer(url: Any, **kwargs: Any) -> CallbackResult:
        auth_headers.append(kwargs["headers"]["Authorization"])
        if kwargs["headers"]["Authorization"] != "Bearer new-token-222222":
            return CallbackResult(status=401, payload={"category": "INVALID_AUTHENTICATION", "message": "no"})
        return CallbackResult(payload=PENDING)

    mocked.post(SEND_URL, callback=answer, repeat=True)
    cfg = settings(auth=AuthSettings(token_file=token_file))
    async with client(fake_time, cfg) as c:
        token_file.write_text("new-token-222222\n")  # the Kubernetes secret was rotated
        outcome = await c.send(request())
    assert outcome.cls is OutcomeClass.SENT
    assert auth_headers == ["Bearer old-token-111111", "Bearer new-token-222222"]


async def test_a_401_with_an_unchanged_token_pauses_without_a_second_request(
    fake_time: FakeTime, mocked: aioresponses
) -> None:
    mocked.post(SEND_URL, status=401, payload={"category": "INVALID_AUTHENTICATION"}, repeat=True)
    async with client(fake_time) as c:
        outcome = await c.send(request())
    assert (outcome.cls, outcome.reason) == (OutcomeClass.PAUSE, Reason.UNAUTHORIZED)
    assert len(sent_bodies(mocked)) == 1


def oauth_settings(**auth: Any) -> HubSpotSettings:
    return settings(
        auth=AuthSettings(
            mode=AuthMode.OAUTH,
            oauth_client_id="client-1",
            oauth_client_secret=SecretStr("client-secret-xyz"),
            oauth_refresh_token=SecretStr("refresh-token-0"),
            oauth_refresh_margin_s=60.0,
            **auth,
        )
    )


async def test_oauth_refresh_is_single_flight_under_50_concurrent_sends(
    fake_time: FakeTime, mocked: aioresponses
) -> None:
    forms: list[dict[str, str]] = []

    async def token_endpoint(url: Any, **kwargs: Any) -> CallbackResult:
        forms.append(dict(kwargs["data"]))
        await asyncio.sleep(0.01)  # in flight long enough for every sender to pile up
        n = len(forms)
        return CallbackResult(
            payload={
                "access_token": f"access-{n}-zzzzzz",
                "expires_in": 1800,
                "refresh_token": f"refresh-token-{n}",
            }
        )

    mocked.post(TOKEN_URL, callback=token_endpoint, repeat=True)
    mocked.post(SEND_URL, payload=PENDING, repeat=True)
    async with client(fake_time, oauth_settings()) as c:
        outcomes = await asyncio.gather(*(c.send(request(f"s-{i}")) for i in range(50)))
        assert len(forms) == 1
        fake_time.now += 1800  # the access token expired
        await asyncio.gather(*(c.send(request(f"t-{i}")) for i in range(50)))
    assert all(o.cls is OutcomeClass.SENT for o in outcomes)
    assert len(forms) == 2
    assert forms[0]["grant_type"] == "refresh_token"
    assert forms[0]["refresh_token"] == "refresh-token-0"
    assert forms[1]["refresh_token"] == "refresh-token-1"  # the rotated refresh token was kept
    send_auth = {c.kwargs["headers"]["Authorization"] for c in calls_to(mocked, SEND_URL)}
    assert send_auth == {"Bearer access-1-zzzzzz", "Bearer access-2-zzzzzz"}


async def test_oauth_refreshes_ahead_of_expiry(fake_time: FakeTime, mocked: aioresponses) -> None:
    mocked.post(TOKEN_URL, payload={"access_token": "access-a-zzzzzz", "expires_in": 1800}, repeat=True)
    mocked.post(SEND_URL, payload=PENDING, repeat=True)
    async with client(fake_time, oauth_settings()) as c:
        await c.send(request("a"))
        fake_time.now += 1800 - 59  # still valid for 59 s: inside the 60 s margin
        await c.send(request("b"))
        assert isinstance(c.auth, OAuthAuth)
        assert c.auth.refresh_count == 2


async def test_oauth_uses_the_v3_token_endpoint_and_keeps_the_portal_and_scopes_of_the_answer(
    fake_time: FakeTime, mocked: aioresponses
) -> None:
    grant = {
        "access_token": "access-a-zzzzzz",
        "refresh_token": "refresh-token-0",
        "expires_in": 1800,
        "token_type": "bearer",
        "hub_id": 4242,
        "scopes": ["oauth", "transactional-email"],
    }
    mocked.post(BASE + "/oauth/v3/token", payload=grant)
    mocked.post(SEND_URL, payload=PENDING)
    async with client(fake_time, oauth_settings()) as c:
        assert (await c.send(request())).cls is OutcomeClass.SENT
        assert isinstance(c.auth, OAuthAuth)
        assert (c.auth.hub_id, c.auth.scopes) == (4242, ("oauth", "transactional-email"))


async def test_the_dated_oauth_token_endpoint_is_accepted(fake_time: FakeTime, mocked: aioresponses) -> None:
    dated = BASE + "/oauth/2026-03/token"
    mocked.post(dated, payload={"access_token": "access-d-zzzzzz", "expires_in": 1800, "hub_id": 7})
    mocked.post(SEND_URL, payload=PENDING)
    async with client(fake_time, oauth_settings(oauth_token_path="/oauth/2026-03/token")) as c:
        assert (await c.send(request())).cls is OutcomeClass.SENT
        assert isinstance(c.auth, OAuthAuth)
        assert (c.auth.hub_id, c.auth.scopes) == (7, None)


async def test_a_401_under_oauth_refreshes_once_and_retries(
    fake_time: FakeTime, mocked: aioresponses
) -> None:
    mocked.post(TOKEN_URL, payload={"access_token": "access-a-zzzzzz", "expires_in": 1800})
    mocked.post(TOKEN_URL, payload={"access_token": "access-b-zzzzzz", "expires_in": 1800})
    mocked.post(SEND_URL, status=401, payload={"category": "EXPIRED_AUTHENTICATION", "message": "expired"})
    mocked.post(SEND_URL, payload=PENDING)
    async with client(fake_time, oauth_settings()) as c:
        fake_time.now += 10  # outside the refresh debounce
        outcome = await c.send(request())
    assert outcome.cls is OutcomeClass.SENT
    auths = [c.kwargs["headers"]["Authorization"] for c in calls_to(mocked, SEND_URL)]
    assert auths == ["Bearer access-a-zzzzzz", "Bearer access-b-zzzzzz"]


async def test_a_refused_oauth_refresh_pauses(fake_time: FakeTime, mocked: aioresponses) -> None:
    mocked.post(
        TOKEN_URL, status=400, payload={"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown"}
    )
    async with client(fake_time, oauth_settings()) as c:
        outcome = await c.send(request())
    assert (outcome.cls, outcome.reason) == (OutcomeClass.PAUSE, Reason.UNAUTHORIZED)
    assert calls_to(mocked, SEND_URL) == []


async def test_hapikey_goes_in_the_query_never_in_a_header(fake_time: FakeTime, mocked: aioresponses) -> None:
    mocked.post(SEND_RE, payload=PENDING)
    cfg = settings(auth=AuthSettings(mode=AuthMode.HAPIKEY, hapikey=SecretStr("legacy-key-123456")))
    async with client(fake_time, cfg) as c:
        assert (await c.send(request())).cls is OutcomeClass.SENT
    ((method, url),) = mocked.requests.keys()
    assert url.query.get("hapikey") == "legacy-key-123456"
    (call,) = mocked.requests[(method, url)]
    assert "Authorization" not in (call.kwargs.get("headers") or {})


async def test_a_ten_secondly_429_throttles_every_sender_then_retries(
    fake_time: FakeTime, mocked: aioresponses
) -> None:
    body = {
        "status": "error",
        "errorType": "RATE_LIMIT",
        "policyName": "TEN_SECONDLY_ROLLING",
        "message": "m",
    }
    mocked.post(SEND_URL, status=429, payload=body, headers={"Retry-After": "4"})
    mocked.post(SEND_URL, payload=PENDING, repeat=True)
    seen: list[Outcome] = []
    async with client(fake_time, observer=lambda outcome, _at: seen.append(outcome)) as c:
        started = fake_time.now
        outcome = await c.send(request())
        assert fake_time.now - started >= 4.0  # the retry waited out Retry-After inside the limiter
        other_started = fake_time.now
        await c.send(request("other"))
        assert fake_time.now - other_started < 1.0  # the pause is over for everyone
    assert outcome.cls is OutcomeClass.SENT
    assert [o.cls for o in seen][:2] == [OutcomeClass.THROTTLE, OutcomeClass.SENT]


async def test_a_429_without_retry_after_backs_off_before_retrying(
    fake_time: FakeTime, mocked: aioresponses
) -> None:
    mocked.post(SEND_URL, status=429, payload={"policyName": "TEN_SECONDLY_ROLLING"})
    mocked.post(SEND_URL, payload=PENDING)
    async with client(fake_time, rng=random.Random(3)) as c:
        assert (await c.send(request())).cls is OutcomeClass.SENT
    # the refused request backs off on its own (a jittered first-retry delay), then, as the answer
    # carried no rate-limit headers, waits in the limiter until one of its sends left the window
    assert 0 < fake_time.sleeps[0] <= settings().retry.initial_backoff_s
    assert sum(fake_time.sleeps) >= settings().rate_limit.interval_ms / 1000 - 0.5


class ThrottleSpy(RateLimiter):
    """The real limiter, recording which send each THROTTLE answer was reported for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refused: list[float | None] = []

    def throttle(self, retry_after_s: float | None, *, sent_at: float | None = None) -> None:
        self.refused.append(sent_at)
        super().throttle(retry_after_s, sent_at=sent_at)


@pytest.mark.parametrize(
    ("status", "payload", "uncounted"),
    [
        (429, {"policyName": "TEN_SECONDLY_ROLLING"}, True),
        (200, {**PENDING, "status": "COMPLETE", "sendResult": "THROTTLED"}, False),
    ],
    ids=["429", "THROTTLED"],
)
async def test_only_a_429_is_reported_as_a_send_hubspot_did_not_count(
    fake_time: FakeTime, mocked: aioresponses, status: int, payload: dict[str, str], uncounted: bool
) -> None:
    # HubSpot refused a 429 before counting it, so it frees a slot of the limiter; a THROTTLED
    # sendResult came back from a request HubSpot counted, so its slot stays taken.
    mocked.post(SEND_URL, status=status, payload=payload, headers={"Retry-After": "1"})
    mocked.post(SEND_URL, payload=PENDING)
    cfg = settings()
    spy = ThrottleSpy(cfg.rate_limit, sleep=fake_time.sleep, clock=fake_time.clock)
    async with client(fake_time, cfg, limiter=spy) as c:
        assert (await c.send(request())).cls is OutcomeClass.SENT
    assert len(spy.refused) == 1
    assert (spy.refused[0] is not None) is uncounted


async def test_throttling_spends_no_retry_budget(fake_time: FakeTime, mocked: aioresponses) -> None:
    body = {"policyName": "TEN_SECONDLY_ROLLING"}
    for _ in range(4):  # 4 x 20 s of Retry-After: far beyond the 30 s budget of these settings
        mocked.post(SEND_URL, status=429, payload=body, headers={"Retry-After": "20"})
    mocked.post(SEND_URL, payload=PENDING)
    async with client(fake_time) as c:
        outcome = await c.send(request())
    assert outcome.cls is OutcomeClass.SENT  # rate limiting is flow control: never retries_exhausted
    assert outcome.attempts == 5


async def test_a_daily_429_pauses_at_once_and_holds_the_limiter(
    fake_time: FakeTime, mocked: aioresponses
) -> None:
    body = {"status": "error", "errorType": "RATE_LIMIT", "policyName": "DAILY", "message": "daily"}
    mocked.post(SEND_URL, status=429, payload=body, repeat=True)
    async with client(fake_time) as c:
        outcome = await c.send(request())
        assert c.limiter.held
    assert (outcome.cls, outcome.reason) == (OutcomeClass.PAUSE, Reason.DAILY_LIMIT)
    assert outcome.retry_after_s is not None
    assert 0 < outcome.retry_after_s <= 86_400
    assert len(sent_bodies(mocked)) == 1


async def test_a_477_pauses_for_retry_after(fake_time: FakeTime, mocked: aioresponses) -> None:
    mocked.post(SEND_URL, status=477, headers={"Retry-After": "3600"}, repeat=True)
    async with client(fake_time) as c:
        outcome = await c.send(request())
        assert c.limiter.held
        fake_time.now += 3601
        assert not c.limiter.held
    assert (outcome.cls, outcome.reason, outcome.retry_after_s) == (
        OutcomeClass.PAUSE,
        Reason.MIGRATING,
        3600.0,
    )


async def test_a_probe_passes_the_engine_hold(fake_time: FakeTime, mocked: aioresponses) -> None:
    mocked.post(SEND_URL, payload=PENDING, repeat=True)
    async with client(fake_time) as c:
        c.limiter.hold("transient_breaker")
        assert (await c.send(request(), probe=True)).cls is OutcomeClass.SENT
        blocked = asyncio.ensure_future(c.send(request("held")))
        await asyncio.sleep(0.01)
        assert not blocked.done()
        c.limiter.release("transient_breaker")
        assert (await asyncio.wait_for(blocked, 2)).cls is OutcomeClass.SENT


async def test_check_reads_a_404_from_send_statuses_as_a_working_credential(
    fake_time: FakeTime, mocked: aioresponses
) -> None:
    status_url = re.compile(re.escape(BASE) + r"/marketing/v3/email/send-statuses/.+")
    mocked.get(status_url, status=404, payload={"category": "OBJECT_NOT_FOUND", "message": "nope"})
    mocked.get(status_url, status=403, payload={"category": "MISSING_SCOPES", "message": "scopes"})
    async with client(fake_time) as c:
        ok, forbidden = await c.check(), await c.check()
    assert (ok.cls, ok.http_status) == (OutcomeClass.SENT, 404)
    assert (forbidden.cls, forbidden.reason) == (OutcomeClass.PAUSE, Reason.FORBIDDEN)


async def test_dated_versions_post_to_the_dated_path(fake_time: FakeTime, mocked: aioresponses) -> None:
    url = BASE + "/marketing/transactional/2026-09/single-email/send"
    mocked.post(url, payload=PENDING)
    async with client(fake_time, settings(api_version="2026-09")) as c:
        assert (await c.send(request())).cls is OutcomeClass.SENT
    (body,) = sent_bodies(mocked)
    wire = orjson.loads(body)
    assert wire["message"]["cc"] == []
    assert wire["customProperties"] == {}
    assert wire["emailId"] == 12345678901  # int64, not truncated


async def test_a_probe_is_a_single_attempt_that_passes_the_hold(
    fake_time: FakeTime, mocked: aioresponses
) -> None:
    mocked.post(SEND_URL, status=503)
    async with client(fake_time) as c:
        c.limiter.hold("transient_breaker")
        outcome = await asyncio.wait_for(c.send(request(), probe=True), 5)
    assert outcome.cls is OutcomeClass.RETRY
    assert outcome.attempts == 1
    assert len(sent_bodies(mocked)) == 1


async def test_the_retry_after_a_token_file_change_passes_the_pause_hold(
    fake_time: FakeTime, mocked: aioresponses, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("old-token-value-1")
    mocked.post(SEND_URL, status=401, payload={"category": "INVALID_AUTHENTICATION", "message": "bad"})
    mocked.post(SEND_URL, payload=PENDING)
    seen: list[tuple[OutcomeClass, float]] = []
    cfg = settings(auth=AuthSettings(token_file=token_file))

    async with client(fake_time, cfg) as c:

        def observe(outcome: Outcome, started_at: float) -> None:
            seen.append((outcome.cls, started_at))
            if outcome.cls is OutcomeClass.PAUSE:
                c.limiter.hold("unauthorized")  # what the pause controller does on a 401
                token_file.write_text("rotated-token-value-2")
                fake_time.now += 1

        c._observer = observe
        outcome = await asyncio.wait_for(c.send(request()), 5)
    assert outcome.cls is OutcomeClass.SENT
    assert [cls for cls, _ in seen] == [OutcomeClass.PAUSE, OutcomeClass.SENT]
    assert seen[1][1] > seen[0][1]  # the observer learns that the success started after the 401


class RequestTimes:
    """An aioresponses callback: answers 503 with ``Retry-After: 1`` first, then accepts; records when
    each request arrived (real time: these tests check concurrent calls, so the clock is real)."""

    def __init__(self) -> None:
        self.at: list[float] = []

    def __call__(self, url: Any, **kwargs: Any) -> CallbackResult:
        self.at.append(time.monotonic())
        if len(self.at) == 1:
            return CallbackResult(status=503, headers={"Retry-After": "1"})
        return CallbackResult(payload=PENDING)


async def test_a_probe_sent_while_the_retry_sleeps_waits_out_the_retry_after(mocked: aioresponses) -> None:
    times = RequestTimes()
    mocked.post(SEND_URL, callback=times, repeat=True)
    async with HubSpotClient(settings(), max_in_flight=8) as c:
        retrying = asyncio.create_task(c.send(request()))
        while not times.at:
            await asyncio.sleep(0.01)
        probe = await c.send(request(), probe=True)  # the pause controller's probe of the same request
        assert (await retrying).cls is OutcomeClass.SENT
    assert probe.cls is OutcomeClass.SENT
    assert min(times.at[1:]) - times.at[0] >= 1.0


async def test_a_request_sent_again_after_giving_up_waits_out_its_retry_after(mocked: aioresponses) -> None:
    times = RequestTimes()
    mocked.post(SEND_URL, callback=times, repeat=True)
    impatient = settings(retry=RetrySettings(initial_backoff_s=0.01, max_backoff_s=0.01, budget_s=0.1))
    async with HubSpotClient(impatient, max_in_flight=8) as c:
        first = await c.send(request())  # Retry-After 1 s exceeds the budget: given back at once
        assert first.reason is Reason.RETRIES_EXHAUSTED
        assert (await c.send(request())).cls is OutcomeClass.SENT  # after the pause that followed
        assert (await c.send(request("another"))).cls is OutcomeClass.SENT  # others are not held
    assert times.at[1] - times.at[0] >= 1.0
    assert times.at[2] - times.at[1] < 0.5
