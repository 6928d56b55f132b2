"""The simulator answers as HubSpot does where our tests used to see aiohttp: unknown paths and
versions, wrong methods and media types, scopes, OAuth installations, daily limits, repeated sendIds."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import orjson
import pytest
from pydantic import SecretStr

from consumer.hubspot.auth import OAuthAuth
from consumer.hubspot.client import HubSpotClient
from consumer.hubspot.request import SingleSendRequest
from consumer.outcome import OutcomeClass, Reason
from consumer.settings import AuthMode, AuthSettings
from hubspot_simulator import OAuthClient, RunningSimulator
from tests.fixtures_simulator import SIM_EMAIL_ID, SIM_TOKEN, StartSim, hubspot_settings_for

SEND = "/marketing/v3/transactional/single-email/send"
AUTH = {"Authorization": f"Bearer {SIM_TOKEN}"}
OK = {"emailId": SIM_EMAIL_ID, "message": {"to": "ada@example.com", "sendId": "f-1"}}


async def call(
    sim: RunningSimulator,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, sim.url + path, data=body, headers={**AUTH, **(headers or {})}) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.read()


def hubspot_error(status: int, raw: bytes, headers: dict[str, str]) -> dict[str, Any]:
    assert headers["Content-Type"].startswith("application/json")
    body = orjson.loads(raw)
    assert {"status", "message", "correlationId", "category"} <= body.keys()
    assert headers["X-HubSpot-Correlation-Id"] == body["correlationId"]
    return dict(body)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("POST", "/marketing/v3/transactional/single-email/sendd", 404), ("GET", SEND, 405)],
)
async def test_unknown_paths_and_methods_get_hubspot_shaped_json(
    simulator: RunningSimulator, method: str, path: str, status: int
) -> None:
    got, headers, raw = await call(simulator, method, path, orjson.dumps(OK))
    assert got == status
    hubspot_error(got, raw, headers)


async def test_an_unknown_api_version_is_not_served(start_sim: StartSim) -> None:
    sim = await start_sim()
    status, headers, raw = await call(
        sim,
        "POST",
        "/marketing/transactional/9999-99/single-email/send",
        orjson.dumps(OK),
        {"Content-Type": "application/json"},
    )
    assert status == 404
    assert hubspot_error(status, raw, headers)["category"] == "OBJECT_NOT_FOUND"
    assert sim.state.sends == {}
    for version in ("2026-03", "2026-09"):
        ok, _, _ = await call(
            sim,
            "POST",
            f"/marketing/transactional/{version}/single-email/send",
            orjson.dumps({**OK, "message": {"to": "a@example.com", "sendId": version}}),
            {"Content-Type": "application/json"},
        )
        assert ok == 200
    empty = await start_sim(unknown_version_body=False)
    status, _, raw = await call(empty, "POST", "/marketing/transactional/2025-10/single-email/send", b"{}")
    assert (status, raw) == (404, b"")


async def test_a_send_that_is_not_json_is_refused_with_415(simulator: RunningSimulator) -> None:
    body = orjson.dumps(OK)
    status, headers, raw = await call(simulator, "POST", SEND, body, {"Content-Type": "text/plain"})
    assert status == 415
    assert hubspot_error(status, raw, headers)["category"] == "UNSUPPORTED_MEDIA_TYPE"
    assert simulator.state.sends == {}


async def test_a_body_over_the_size_limit_is_refused_with_hubspot_json(simulator: RunningSimulator) -> None:
    big = io.BytesIO(b'{"pad": "' + b"x" * (1024**2 + 10) + b'"}')
    status, headers, raw = await call(simulator, "POST", SEND, big, {"Content-Type": "application/json"})
    assert status == 413
    hubspot_error(status, raw, headers)


async def test_missing_scopes_come_in_hubspots_nested_shape(start_sim: StartSim) -> None:
    sim = await start_sim(tokens_without_scope=("no-scope-token",))
    status, headers, raw = await call(
        sim,
        "POST",
        SEND,
        orjson.dumps(OK),
        {"Authorization": "Bearer no-scope-token", "Content-Type": "application/json"},
    )
    body = hubspot_error(status, raw, headers)
    assert (status, body["category"]) == (403, "MISSING_SCOPES")
    assert body["errors"][0]["context"]["requiredScopes"] == ["transactional-email"]
    assert body["links"]["scopes"].startswith("https://")


async def test_oauth_answers_carry_an_integer_lifetime_the_portal_and_the_scopes(start_sim: StartSim) -> None:
    sim = await start_sim(
        tokens=(), oauth_clients=(OAuthClient("app-1", "secret-1", "refresh-1"),), portal_id=4711
    )
    form = {
        "grant_type": "refresh_token",
        "client_id": "app-1",
        "client_secret": "secret-1",
        "refresh_token": "refresh-1",
    }
    for path in ("/oauth/v1/token", "/oauth/v3/token", "/oauth/2026-03/token"):
        async with aiohttp.ClientSession() as session, session.post(sim.url + path, data=form) as resp:
            answer = await resp.json()
        assert resp.status == 200, path
        assert isinstance(answer["expires_in"], int)
        assert answer["hub_id"] == 4711
        assert "transactional-email" in answer["scopes"]


async def test_the_client_learns_the_portal_from_the_simulators_oauth_answer(start_sim: StartSim) -> None:
    sim = await start_sim(
        tokens=(), oauth_clients=(OAuthClient("app-1", "secret-1", "refresh-1"),), portal_id=4711
    )
    auth = AuthSettings(
        mode=AuthMode.OAUTH,
        oauth_client_id="app-1",
        oauth_client_secret=SecretStr("secret-1"),
        oauth_refresh_token=SecretStr("refresh-1"),
    )
    async with HubSpotClient(hubspot_settings_for(sim, auth=auth), max_in_flight=2) as client:
        outcome = await client.send(SingleSendRequest.model_validate(OK))
        assert isinstance(client.auth, OAuthAuth)
        assert client.auth.hub_id == 4711
    assert outcome.cls is OutcomeClass.SENT


async def test_oauth_calls_have_no_daily_limit_and_no_daily_headers(start_sim: StartSim) -> None:
    sim = await start_sim(
        tokens=(SIM_TOKEN,), oauth_clients=(OAuthClient("app-1", "secret-1", "refresh-1"),), daily_limit=1
    )
    form = {
        "grant_type": "refresh_token",
        "client_id": "app-1",
        "client_secret": "secret-1",
        "refresh_token": "refresh-1",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(sim.url + "/oauth/v3/token", data=form) as resp,
    ):
        access = (await resp.json())["access_token"]
    json_type = {"Content-Type": "application/json"}
    for n in range(3):
        body = orjson.dumps({**OK, "message": {"to": "a@example.com", "sendId": f"o-{n}"}})
        status, headers, _ = await call(
            sim, "POST", SEND, body, {"Authorization": f"Bearer {access}", **json_type}
        )
        assert status == 200
        assert not any(h.lower().startswith("x-hubspot-ratelimit-daily") for h in headers)
    statuses = []
    for n in range(2):
        body = orjson.dumps({**OK, "message": {"to": "a@example.com", "sendId": f"p-{n}"}})
        statuses.append((await call(sim, "POST", SEND, body, json_type))[0])
    assert statuses == [200, 429]  # the private-app token has its daily budget


def _seconds_to_midnight(zone: str) -> float:
    now = datetime.now(ZoneInfo(zone))
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo(zone))
    return (midnight.astimezone(UTC) - now.astimezone(UTC)).total_seconds()


async def test_a_daily_429_without_retry_after_pauses_until_the_portals_midnight(start_sim: StartSim) -> None:
    zone = "Pacific/Kiritimati"  # UTC+14: its midnight is never UTC's
    sim = await start_sim(daily_limit=1, daily_retry_after=False, portal_timezone=zone)
    cfg = hubspot_settings_for(sim, portal_timezone=zone)
    async with HubSpotClient(cfg, max_in_flight=2) as client:
        first = await client.send(SingleSendRequest.model_validate(OK))
        second = await client.send(
            SingleSendRequest.model_validate({**OK, "message": {"to": "b@example.com", "sendId": "f-2"}})
        )
    assert first.cls is OutcomeClass.SENT
    assert (second.cls, second.reason) == (OutcomeClass.PAUSE, Reason.DAILY_LIMIT)
    assert second.retry_after_s == pytest.approx(_seconds_to_midnight(zone), abs=5)
    status, headers, _ = await call(sim, "POST", SEND, orjson.dumps(OK), {"Content-Type": "application/json"})
    assert status == 429
    assert "Retry-After" not in headers


async def test_a_repeated_send_id_with_another_body_can_answer_idempotent_fail(start_sim: StartSim) -> None:
    sim = await start_sim(idempotent_fail=True)
    async with HubSpotClient(hubspot_settings_for(sim), max_in_flight=2) as client:
        first = await client.send(SingleSendRequest.model_validate(OK))
        same = await client.send(SingleSendRequest.model_validate(OK))
        other = await client.send(
            SingleSendRequest.model_validate({**OK, "contactProperties": {"firstname": "Eve"}})
        )
    assert [o.cls for o in (first, same)] == [OutcomeClass.SENT, OutcomeClass.SENT]
    assert (other.cls, other.send_result) == (OutcomeClass.PERMANENT, "IDEMPOTENT_FAIL")
    assert len(sim.state.sends) == 1


async def test_a_hubspot_404_from_the_simulator_is_dead_lettered_not_a_pause(start_sim: StartSim) -> None:
    sim = await start_sim()
    cfg = hubspot_settings_for(sim, base_url=sim.url + "/wrong-prefix")
    async with HubSpotClient(cfg, max_in_flight=2) as client:
        outcome = await client.send(SingleSendRequest.model_validate(OK))
    # HubSpot-shaped 404s are about the request; a wrong path on HubSpot itself looks the same, which
    # is why the base URL and version are checked at start and the mass-DLQ breaker catches a burst
    assert (outcome.cls, outcome.reason) == (OutcomeClass.PERMANENT, Reason.OBJECT_NOT_FOUND)
