"""The portal guard against the real simulator: a credential of another portal never sends."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from consumer.hubspot.client import HubSpotClient
from consumer.hubspot.request import SingleSendRequest
from consumer.outcome import OutcomeClass, Reason
from consumer.settings import AuthMode, AuthSettings
from hubspot_simulator import OAuthClient
from tests.fixtures_simulator import SIM_EMAIL_ID, SIM_TOKEN, StartSim, hubspot_settings_for

PROD, DEV = 3001, 1001
DEV_TOKEN = "dev-portal-token-0001"


def request(send_id: str = "g-1") -> SingleSendRequest:
    return SingleSendRequest.model_validate(
        {"emailId": SIM_EMAIL_ID, "message": {"to": "ada@example.com", "sendId": send_id}}
    )


async def test_a_token_of_another_portal_pauses_and_sends_nothing(start_sim: StartSim) -> None:
    sim = await start_sim(tokens=(SIM_TOKEN, DEV_TOKEN), portal_id=PROD, token_portals=((DEV_TOKEN, DEV),))
    cfg = hubspot_settings_for(sim, portal_id=PROD, auth=AuthSettings(token=SecretStr(DEV_TOKEN)))
    async with HubSpotClient(cfg, max_in_flight=2) as client:
        outcomes = [await client.send(request(f"g-{n}")) for n in range(3)]
        checked = await client.check()
    for outcome in [*outcomes, checked]:
        assert (outcome.cls, outcome.reason) == (OutcomeClass.PAUSE, Reason.WRONG_PORTAL)
        assert f"portal {DEV}" in outcome.detail
        assert f"portal {PROD}" in outcome.detail
    assert sim.state.sends == {}
    assert "ACCEPTED" not in sim.state.by_outcome
    assert sim.state.by_outcome["TOKEN_INFO"] == 1  # learnt once per credential


async def test_the_right_portal_sends_and_a_rotated_token_is_checked_again(
    start_sim: StartSim, tmp_path: Path
) -> None:
    sim = await start_sim(tokens=(SIM_TOKEN, DEV_TOKEN), portal_id=PROD, token_portals=((DEV_TOKEN, DEV),))
    token_file = tmp_path / "token"
    token_file.write_text(DEV_TOKEN)
    cfg = hubspot_settings_for(sim, portal_id=PROD, auth=AuthSettings(token_file=token_file))
    async with HubSpotClient(cfg, max_in_flight=2) as client:
        assert (await client.send(request("r-1"))).reason is Reason.WRONG_PORTAL
        token_file.write_text(SIM_TOKEN)  # the PROD token is mounted
        assert await client.auth.refresh()  # what the pause controller does before each probe
        outcome = await client.send(request("r-2"))
    assert outcome.cls is OutcomeClass.SENT
    assert [s["sendId"] for s in sim.state.sends_json()] == ["r-2"]


async def test_a_token_without_the_scope_is_refused_before_sending(start_sim: StartSim) -> None:
    sim = await start_sim(tokens_without_scope=("no-scope-0001",), portal_id=PROD)
    cfg = hubspot_settings_for(sim, portal_id=PROD, auth=AuthSettings(token=SecretStr("no-scope-0001")))
    async with HubSpotClient(cfg, max_in_flight=2) as client:
        outcome = await client.send(request())
    assert (outcome.cls, outcome.reason) == (OutcomeClass.PAUSE, Reason.FORBIDDEN)
    assert "transactional-email" in outcome.detail
    assert "MISSING_SCOPES" not in sim.state.by_outcome  # refused by the guard, not by the send


async def test_an_oauth_installation_in_another_portal_pauses(start_sim: StartSim) -> None:
    sim = await start_sim(
        tokens=(), oauth_clients=(OAuthClient("app-1", "secret-1", "refresh-1"),), portal_id=DEV
    )
    auth = AuthSettings(
        mode=AuthMode.OAUTH,
        oauth_client_id="app-1",
        oauth_client_secret=SecretStr("secret-1"),
        oauth_refresh_token=SecretStr("refresh-1"),
    )
    async with HubSpotClient(hubspot_settings_for(sim, portal_id=PROD, auth=auth), max_in_flight=2) as client:
        outcome = await client.send(request())
    assert (outcome.cls, outcome.reason) == (OutcomeClass.PAUSE, Reason.WRONG_PORTAL)
    assert sim.state.sends == {}
    assert "TOKEN_INFO" not in sim.state.by_outcome  # OAuth: the token answer named the portal


async def test_without_a_portal_id_there_is_no_guard(start_sim: StartSim) -> None:
    sim = await start_sim(tokens=(DEV_TOKEN,), token_portals=((DEV_TOKEN, DEV),))
    cfg = hubspot_settings_for(sim, auth=AuthSettings(token=SecretStr(DEV_TOKEN)))
    async with HubSpotClient(cfg, max_in_flight=2) as client:
        assert (await client.send(request())).cls is OutcomeClass.SENT
    assert "TOKEN_INFO" not in sim.state.by_outcome
