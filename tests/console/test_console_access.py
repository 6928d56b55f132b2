"""The console's access rules over real HTTP: authentication, CSRF, replay switched off, confirmation
bound to the dry run, response headers; and the command's refusal to listen beyond loopback unguarded."""

from __future__ import annotations

import base64
import re

import aiohttp
import pytest
from pydantic import SecretStr

from consumer.console.guard import Credentials
from tests.console.conftest import Scenario, StartConsole
from tests.integration.harness import end_offsets
from tests.integration.test_ops_support import invoke

pytestmark = [pytest.mark.kafka]

CREDENTIALS = Credentials("ops", SecretStr("correct horse battery"))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_every_page_needs_the_credentials_when_they_are_configured(
    scenario: Scenario, start_console: StartConsole
) -> None:
    console = await start_console(scenario, credentials=CREDENTIALS)
    async with aiohttp.ClientSession() as http:
        for path in ("/", "/dead-letters", "/static/console.css"):
            async with http.get(console.url + path) as anonymous:
                assert anonymous.status == 401
                assert anonymous.headers["WWW-Authenticate"].startswith("Basic ")
        async with http.get(console.url + "/", headers={"Authorization": basic("ops", "wrong")}) as wrong:
            assert wrong.status == 401
        good = {"Authorization": basic("ops", "correct horse battery")}
        async with http.get(console.url + "/dead-letters", headers=good) as ok:
            assert ok.status == 200
            assert "correct horse battery" not in await ok.text()


async def test_pages_forbid_scripts_framing_and_caching(
    scenario: Scenario, start_console: StartConsole
) -> None:
    console = await start_console(scenario)
    async with aiohttp.ClientSession() as http, http.get(console.url + "/dead-letters") as page:
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp
        assert "script-src" not in csp  # no script source at all
        assert "frame-ancestors 'none'" in csp
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Cache-Control"] == "no-store"
        assert "<script" not in (await page.text()).replace("&lt;script", "")


async def test_a_replay_needs_the_form_token_and_the_same_origin(
    scenario: Scenario, start_console: StartConsole, kafka_bootstrap: str
) -> None:
    console = await start_console(scenario)
    before = await end_offsets(kafka_bootstrap, scenario.topic, 1)
    form = {"topic": scenario.dlq, "action": "dry-run"}
    async with aiohttp.ClientSession() as http:
        async with http.post(console.url + "/replay", data=form) as no_token:
            assert no_token.status == 403
        with_token = {**form, "csrf": console.guard.csrf_token}
        async with http.post(
            console.url + "/replay", data=with_token, headers={"Origin": "https://evil.example"}
        ) as cross_site:
            assert cross_site.status == 403
        async with http.post(console.url + "/replay", data=with_token) as dry_run:
            assert dry_run.status == 200
            assert "would replay 2 of 2 records" in await dry_run.text()
        forged = {**with_token, "action": "confirm", "position": ["0:0", "0:1"], "confirmation": "0" * 64}
        async with http.post(console.url + "/replay", data=forged) as refused:
            assert refused.status == 403
    assert await end_offsets(kafka_bootstrap, scenario.topic, 1) == before  # nothing was published


async def test_a_read_only_console_offers_no_replay_and_refuses_one(
    scenario: Scenario, start_console: StartConsole
) -> None:
    console = await start_console(scenario, allow_replay=False)
    async with aiohttp.ClientSession() as http:
        async with http.get(console.url + "/dead-letters") as page:
            assert 'action="/replay"' not in await page.text()
        form = {"topic": scenario.dlq, "action": "dry-run", "csrf": console.guard.csrf_token}
        async with http.post(console.url + "/replay", data=form) as refused:
            assert refused.status == 403


async def test_a_filter_typo_is_a_one_line_error_naming_the_filter(
    scenario: Scenario, start_console: StartConsole
) -> None:
    console = await start_console(scenario)
    async with aiohttp.ClientSession() as http:
        async with http.get(console.url + "/dead-letters", params={"partition": "zero"}) as page:
            assert page.status == 400
            assert re.search(r'role="alert">--partition: PARTITION', await page.text())
        async with http.get(console.url + "/dead-letters", params={"topic": "orders"}) as other:
            assert other.status == 404  # only the console's DLQ topics can be read


async def test_the_command_refuses_to_listen_beyond_loopback_without_credentials() -> None:
    result = await invoke("console", "--listen", "0.0.0.0:8090", "--topic", "t.dlq")

    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: --listen 0.0.0.0:8090 is beyond loopback: give --auth-file")
