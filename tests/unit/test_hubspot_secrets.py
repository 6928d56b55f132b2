"""Canary secrets (token, token file, OAuth client secret / refresh / access tokens, hapikey) never
appear in captured logs, reprs, outcome details, exception strings or the metrics output."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses
from prometheus_client import generate_latest
from pydantic import SecretStr

from consumer import logs
from consumer.errors import ConfigError
from consumer.hubspot.auth import build_auth
from consumer.hubspot.client import HubSpotClient
from consumer.hubspot.request import SingleSendRequest
from consumer.metrics import REGISTRY
from consumer.outcome import Outcome
from consumer.settings import AuthMode, AuthSettings, HubSpotSettings, RateLimitSettings, RetrySettings

BASE = "https://api.canary.test"
SEND_URL = BASE + "/marketing/v3/transactional/single-email/send"
CANARIES = {
    "token": "canary-bearer-7d1f0c2e9a",
    "file_token": "canary-file-5b3e8a1d44",
    "rotated": "canary-rotated-0c9d7e6f",
    "client_secret": "canary-secret-a1b2c3d4",
    "refresh": "canary-refresh-e5f6a7b8",
    "rotated_refresh": "canary-refresh2-99aa88",
    "access": "canary-access-1029384756",
    "hapikey": "canary-hapikey-6e5d4c3b",
}


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.configure(level="DEBUG", fmt="json", stream=stream)
    yield stream
    logging.getLogger().handlers.clear()


def request() -> SingleSendRequest:
    return SingleSendRequest.model_validate(
        {"emailId": 1, "message": {"to": "canary.person@example.com", "sendId": "s"}}
    )


def settings(auth: AuthSettings) -> HubSpotSettings:
    retry = RetrySettings(initial_backoff_s=0.001, max_backoff_s=0.002, budget_s=0.05)
    limits = RateLimitSettings(requests_per_interval=100_000)  # the fake sleep must never be needed
    return HubSpotSettings(base_url=BASE, auth=auth, retry=retry, rate_limit=limits)


async def no_sleep(_: float) -> None:
    return None


def assert_clean(*texts: str) -> None:
    for text in texts:
        for name, canary in CANARIES.items():
            assert canary not in text, name
        assert "canary.person@example.com" not in text


async def test_no_secret_leaks_anywhere(
    captured: io.StringIO, http_mock: aioresponses, tmp_path: Path
) -> None:
    mocked = http_mock
    outcomes: list[Outcome] = []
    reprs: list[str] = []

    # 1. bearer token from the environment, 401 then a rotated file token
    token_file = tmp_path / "token"
    token_file.write_text(CANARIES["file_token"])
    calls = {"n": 0}

    def flaky(url: Any, **kwargs: Any) -> CallbackResult:
        calls["n"] += 1
        if calls["n"] == 1:
            return CallbackResult(status=401, payload={"message": f"bad token {CANARIES['file_token']}"})
        return CallbackResult(status=503, body=f"echo Bearer {CANARIES['rotated']}")

    mocked.post(SEND_URL, callback=flaky, repeat=True)
    cfg = settings(AuthSettings(token_file=token_file))
    async with HubSpotClient(
        cfg, max_in_flight=2, observer=lambda outcome, _at: outcomes.append(outcome), sleep=no_sleep
    ) as client:
        token_file.write_text(CANARIES["rotated"])
        outcomes.append(await client.send(request()))
        reprs += [repr(client), repr(client.auth), repr(cfg), str(cfg.model_dump())]

    # 2. OAuth with a rotated refresh token and an access token
    mocked.clear()
    grant = {
        "access_token": CANARIES["access"],
        "refresh_token": CANARIES["rotated_refresh"],
        "expires_in": 1800,
    }
    mocked.post(BASE + "/oauth/v3/token", payload=grant)
    mocked.post(SEND_URL, status=500, payload={"message": f"boom {CANARIES['access']}"}, repeat=True)
    oauth = AuthSettings(
        mode=AuthMode.OAUTH,
        oauth_client_id="app",
        oauth_client_secret=SecretStr(CANARIES["client_secret"]),
        oauth_refresh_token=SecretStr(CANARIES["refresh"]),
    )
    async with HubSpotClient(settings(oauth), max_in_flight=2, sleep=no_sleep) as client:
        outcomes.append(await client.send(request()))
        reprs += [repr(client), repr(client.auth), repr(oauth)]

    # 3. hapikey: in the query, and a transport failure
    mocked.clear()
    refused = aiohttp.ClientConnectionError("refused")
    mocked.post(SEND_URL + f"?hapikey={CANARIES['hapikey']}", exception=refused, repeat=True)
    legacy = AuthSettings(mode=AuthMode.HAPIKEY, hapikey=SecretStr(CANARIES["hapikey"]))
    async with HubSpotClient(settings(legacy), max_in_flight=2, sleep=no_sleep) as client:
        outcomes.append(await client.send(request()))
        reprs += [repr(client), repr(client.auth)]

    # 4. a refused OAuth refresh and a missing credential
    mocked.clear()
    refusal = {"status": "BAD_REFRESH_TOKEN", "message": CANARIES["refresh"]}
    mocked.post(BASE + "/oauth/v3/token", status=400, payload=refusal)
    async with HubSpotClient(settings(oauth), max_in_flight=2, sleep=no_sleep) as client:
        outcomes.append(await client.send(request()))
    errors = []
    with pytest.raises(ConfigError) as missing:
        build_auth(AuthSettings(token_file=tmp_path / "absent"), base_url=BASE)
    errors.append(str(missing.value))

    log_text = captured.getvalue()
    for event in (
        "send.retry_scheduled",
        "auth.token_file_reread",
        "auth.oauth_refreshed",
        "auth.oauth_refresh_failed",
    ):
        assert event in log_text  # the scenarios really ran and were logged
    assert_clean(
        log_text,
        *reprs,
        *errors,
        *(repr(o) for o in outcomes),
        generate_latest(REGISTRY).decode(),
    )
    assert "SSC_HUBSPOT__AUTH__TOKEN_FILE" in errors[0]
