"""Installing the OAuth app from the CLI, end to end against the simulator's consent page."""

from __future__ import annotations

import asyncio
import re
import stat
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from consumer.errors import ConsumerError
from consumer.hubspot.client import HubSpotClient
from consumer.hubspot.install import authorize_url, install, write_secret_file
from consumer.hubspot.request import SingleSendRequest
from consumer.outcome import OutcomeClass
from consumer.settings import AuthMode, AuthSettings
from hubspot_simulator import OAuthClient
from tests.fixtures_simulator import SIM_EMAIL_ID, StartSim, hubspot_settings_for

APP = OAuthClient("install-app", "install-secret-0001", "unused-refresh-0001")


async def approve_in_browser(url: str) -> int:
    """What the user does: open the consent page, click Approve; the browser follows the redirect."""
    async with aiohttp.ClientSession() as browser:
        async with browser.get(url) as page:
            approve = re.search(r'id="approve" href="([^"]+)"', await page.text())
        assert approve is not None
        async with browser.get(approve.group(1).replace("&amp;", "&")) as landed:
            return landed.status


async def test_the_installation_writes_a_working_refresh_token_and_names_the_portal(
    start_sim: StartSim, tmp_path: Path
) -> None:
    sim = await start_sim(tokens=(), oauth_clients=(APP,), portal_id=4711)
    out = tmp_path / "refresh-token"
    urls: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.create_task(
        install(
            token_url=sim.url + "/oauth/v3/token",
            client_id=APP.client_id,
            client_secret=APP.client_secret,
            out=out,
            show=urls.put_nowait,
            authorize_base=sim.url + "/oauth/authorize",
            timeout_s=20,
        )
    )
    url = await asyncio.wait_for(urls.get(), 10)
    assert "scope=transactional-email" in url
    assert "redirect_uri=http%3A%2F%2Flocalhost%3A" in url
    assert await approve_in_browser(url) == 200
    done = await asyncio.wait_for(task, 20)

    assert done.portal.hub_id == 4711
    assert "transactional-email" in (done.portal.scopes or ())
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    auth = AuthSettings(
        mode=AuthMode.OAUTH,
        oauth_client_id=APP.client_id,
        oauth_client_secret=SecretStr(APP.client_secret),
        oauth_refresh_token_file=out,
    )
    async with HubSpotClient(hubspot_settings_for(sim, auth=auth, portal_id=4711), max_in_flight=2) as client:
        sent = await client.send(
            SingleSendRequest.model_validate({"emailId": SIM_EMAIL_ID, "message": {"to": "a@example.com"}})
        )
    assert sent.cls is OutcomeClass.SENT  # the installed token sends, and the portal guard agrees


async def test_a_code_is_single_use_and_bound_to_its_redirect_uri(start_sim: StartSim) -> None:
    sim = await start_sim(tokens=(), oauth_clients=(APP,))
    redirect = "http://localhost:9/oauth-callback"
    async with aiohttp.ClientSession() as browser:
        approve = f"{sim.url}/oauth/authorize/approve?client_id={APP.client_id}&redirect_uri={redirect}"
        async with browser.get(approve, allow_redirects=False) as resp:
            code = re.search(r"code=([^&]+)", resp.headers["Location"])
        assert code is not None
        form = {
            "grant_type": "authorization_code",
            "client_id": APP.client_id,
            "client_secret": APP.client_secret,
            "code": code.group(1),
        }
        answers = []
        for redirect_uri in ("http://localhost:1/elsewhere", redirect, redirect):
            async with browser.post(
                sim.url + "/oauth/v3/token", data={**form, "redirect_uri": redirect_uri}
            ) as r:
                answers.append(r.status)
    assert answers == [400, 400, 400]  # a wrong redirect_uri burns the code, as a used one


def test_the_authorize_url_carries_the_app_the_scopes_and_the_state() -> None:
    url = authorize_url(
        "https://app.hubspot.com/oauth/authorize",
        client_id="c1",
        scopes=("transactional-email", "oauth"),
        redirect_uri="http://localhost:8765/cb",
        state="s1",
    )
    assert url.startswith("https://app.hubspot.com/oauth/authorize?client_id=c1&")
    assert "scope=transactional-email+oauth" in url
    assert "state=s1" in url


def test_the_secret_file_is_0600_even_when_it_existed(tmp_path: Path) -> None:
    path = tmp_path / "t"
    path.write_text("old")
    path.chmod(0o644)
    write_secret_file(path, "new-token")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "new-token\n"


async def test_no_approval_ends_with_a_readable_error(start_sim: StartSim, tmp_path: Path) -> None:
    sim = await start_sim(tokens=(), oauth_clients=(APP,))
    with pytest.raises(ConsumerError, match="no approval within"):
        await install(
            token_url=sim.url + "/oauth/v3/token",
            client_id=APP.client_id,
            client_secret=APP.client_secret,
            out=tmp_path / "t",
            show=lambda _: None,
            timeout_s=0.3,
        )
    assert not (tmp_path / "t").exists()
