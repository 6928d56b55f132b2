"""The real client against the real simulator (loopback HTTP), one test per class of answer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from pydantic import SecretStr

from consumer.hubspot.client import HubSpotClient
from consumer.hubspot.request import SingleSendRequest
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.settings import AuthMode, AuthSettings, RetrySettings
from hubspot_simulator import OAuthClient, RecipientRule, RunningSimulator, Template
from tests.fixtures_simulator import SIM_EMAIL_ID, SIM_TOKEN, StartSim, hubspot_settings_for


def request(
    send_id: str = "sid-1", to: str = "ada@example.com", email_id: int = SIM_EMAIL_ID, **extra: Any
) -> SingleSendRequest:
    body: dict[str, Any] = {"emailId": email_id, "message": {"to": to, "sendId": send_id}, **extra}
    return SingleSendRequest.model_validate(body)


def client(sim: RunningSimulator, observer: Any = None, **overrides: Any) -> HubSpotClient:
    return HubSpotClient(hubspot_settings_for(sim, **overrides), max_in_flight=16, observer=observer)


async def test_an_accepted_send_is_sent_and_recorded_once(simulator: RunningSimulator) -> None:
    async with client(simulator) as c:
        outcome = await c.send(
            request(contactProperties={"firstname": "Ada"}, customProperties={"plan": "pro"})
        )
    assert (outcome.cls, outcome.http_status, outcome.attempts) == (OutcomeClass.SENT, 200, 1)
    assert outcome.status_id
    (record,) = simulator.state.sends_json()
    assert record["sendId"] == "sid-1"
    assert record["emailId"] == SIM_EMAIL_ID
    assert record["contactProperties"] == {"firstname": "Ada"}
    assert record["customProperties"] == {"plan": "pro"}
    assert record["attempts"] == 1


async def test_a_repeated_send_id_returns_idempotent_ignore_and_sends_nothing(
    simulator: RunningSimulator,
) -> None:
    async with client(simulator) as c:
        first, second = await c.send(request()), await c.send(request())
    assert first.cls is second.cls is OutcomeClass.SENT
    assert second.send_result == "IDEMPOTENT_IGNORE"
    assert second.status_id == first.status_id
    assert len(simulator.state.sends) == 1
    assert simulator.state.duplicates_prevented == 1
    assert simulator.state.sends_json()[0]["attempts"] == 2


async def test_recipient_rules_give_terminal_results_and_send_nothing(start_sim: StartSim) -> None:
    sim = await start_sim(
        rules=(
            RecipientRule("*@bounce.test", "PREVIOUSLY_BOUNCED"),
            RecipientRule("bad*", "INVALID_TO_ADDRESS"),
        )
    )
    async with client(sim) as c:
        bounced = await c.send(request("a", to="Jane@Bounce.test"))
        invalid = await c.send(request("b", to="bad-address"))
    assert (bounced.cls, bounced.send_result) == (OutcomeClass.TERMINAL, "PREVIOUSLY_BOUNCED")
    assert (invalid.cls, invalid.send_result) == (OutcomeClass.TERMINAL, "INVALID_TO_ADDRESS")
    assert sim.state.sends == {}


async def test_an_unknown_email_id_is_permanent(simulator: RunningSimulator) -> None:
    async with client(simulator) as c:
        outcome = await c.send(request(email_id=999))
    assert (outcome.cls, outcome.reason, outcome.http_status) == (
        OutcomeClass.PERMANENT,
        Reason.BAD_REQUEST,
        400,
    )
    assert outcome.correlation_id


async def test_missing_template_properties_are_permanent_as_result_or_as_400(start_sim: StartSim) -> None:
    as_result = await start_sim()
    as_400 = await start_sim(missing_properties_status=400)
    for sim, status in ((as_result, 200), (as_400, 400)):
        async with client(sim) as c:
            outcome = await c.send(request(email_id=2002, contactProperties={"lastname": "L"}))
            ok = await c.send(request("sid-2", email_id=2002, contactProperties={"firstname": "F"}))
        assert (outcome.cls, outcome.http_status) == (OutcomeClass.PERMANENT, status)
        assert ok.cls is OutcomeClass.SENT
        assert len(sim.state.sends) == 1


async def test_a_bad_body_gets_a_400_naming_the_field(simulator: RunningSimulator) -> None:
    headers = {"Authorization": f"Bearer {SIM_TOKEN}", "Content-Type": "application/json"}
    url = simulator.url + "/marketing/v3/transactional/single-email/send"
    cases = {
        "emailId": {"emailId": "x", "message": {"to": "a@b.test"}},
        "message.to": {"emailId": SIM_EMAIL_ID, "message": {}},
        "message.cc": {"emailId": SIM_EMAIL_ID, "message": {"to": "a@b.test", "cc": "c@d.test"}},
        "contactProperties.age": {
            "emailId": SIM_EMAIL_ID,
            "message": {"to": "a@b.test"},
            "contactProperties": {"age": 3},
        },
    }
    async with aiohttp.ClientSession() as session:
        for field, body in cases.items():
            async with session.post(url, data=orjson.dumps(body), headers=headers) as resp:
                answer = orjson.loads(await resp.read())
            assert resp.status == 400
            assert answer["category"] == "VALIDATION_ERROR"
            assert answer["errors"][0]["in"] == field


async def test_a_503_window_with_retry_after_is_retried_until_it_ends(simulator: RunningSimulator) -> None:
    simulator.configure(window={"status": 503, "seconds": 0.3, "retry_after": 0.2})
    seen: list[Outcome] = []
    async with client(simulator, observer=lambda outcome, _at: seen.append(outcome)) as c:
        started = time.monotonic()
        outcome = await c.send(request())
    assert outcome.cls is OutcomeClass.SENT
    assert seen[0].cls is OutcomeClass.RETRY
    assert seen[0].retry_after_s == 0.2
    assert time.monotonic() - started >= 0.3
    assert len(simulator.state.sends) == 1


async def test_sustained_5xx_exhaust_the_retry_budget(simulator: RunningSimulator) -> None:
    simulator.configure(error_rate=1.0)
    async with client(
        simulator, retry=RetrySettings(initial_backoff_s=0.01, max_backoff_s=0.02, budget_s=0.3)
    ) as c:
        outcome = await c.send(request())
    assert (outcome.cls, outcome.reason) == (OutcomeClass.RETRY, Reason.RETRIES_EXHAUSTED)
    assert outcome.http_status in (500, 502, 503, 504)
    assert outcome.attempts >= 2
    assert simulator.state.sends == {}


async def test_a_429_without_retry_after_throttles_then_succeeds(simulator: RunningSimulator) -> None:
    simulator.configure(rate_429=1.0)
    seen: list[Outcome] = []

    def observe(outcome: Outcome, _started_at: float) -> None:
        seen.append(outcome)
        simulator.configure(rate_429=0.0)

    async with client(simulator, observer=observe) as c:
        outcome = await c.send(request())
    assert [o.cls for o in seen] == [OutcomeClass.THROTTLE, OutcomeClass.SENT]
    assert seen[0].retry_after_s is None
    assert outcome.cls is OutcomeClass.SENT


async def test_a_429_with_retry_after_waits_it_out(simulator: RunningSimulator) -> None:
    simulator.configure(rate_429=1.0, retry_after_429_s=0.4)
    seen: list[Outcome] = []

    def observe(outcome: Outcome, _started_at: float) -> None:
        seen.append(outcome)
        simulator.configure(rate_429=0.0)

    async with client(simulator, observer=observe) as c:
        started = time.monotonic()
        outcome = await c.send(request())
    assert outcome.cls is OutcomeClass.SENT
    assert seen[0].retry_after_s == 0.4
    assert time.monotonic() - started >= 0.4


async def test_accept_then_hang_is_retried_with_the_same_send_id_and_sends_one_email(
    simulator: RunningSimulator,
) -> None:
    simulator.configure(hang_rate=1.0, hang_s=1.5)
    seen: list[Outcome] = []

    def observe(outcome: Outcome, _started_at: float) -> None:
        seen.append(outcome)
        simulator.configure(hang_rate=0.0)

    async with client(simulator, observer=observe, read_timeout_s=0.3) as c:
        outcome = await c.send(request("hang-1"))
    assert [o.reason for o in seen] == [Reason.TIMEOUT, Reason.SENT]
    assert outcome.send_result == "IDEMPOTENT_IGNORE"
    assert len(simulator.state.sends) == 1
    assert simulator.state.sends_json()[0]["attempts"] == 2
    assert simulator.state.hangs == 1


async def test_a_401_window_pauses(simulator: RunningSimulator) -> None:
    simulator.configure(window={"status": 401, "seconds": 5})
    async with client(simulator) as c:
        outcome = await c.send(request())
    assert (outcome.cls, outcome.reason) == (OutcomeClass.PAUSE, Reason.UNAUTHORIZED)


async def test_a_token_without_the_scope_is_forbidden(start_sim: StartSim) -> None:
    sim = await start_sim(tokens_without_scope=("scopeless-token-1",))
    async with client(sim, auth=AuthSettings(token=SecretStr("scopeless-token-1"))) as c:
        outcome = await c.send(request())
        check = await c.check()
    assert (outcome.cls, outcome.reason, outcome.http_status) == (OutcomeClass.PAUSE, Reason.FORBIDDEN, 403)
    assert check.cls is OutcomeClass.PAUSE


async def test_a_477_window_pauses_for_retry_after(simulator: RunningSimulator) -> None:
    simulator.configure(window={"status": 477, "seconds": 5, "retry_after": 120})
    async with client(simulator) as c:
        outcome = await c.send(request())
        assert c.limiter.held
    assert (outcome.cls, outcome.reason, outcome.retry_after_s) == (
        OutcomeClass.PAUSE,
        Reason.MIGRATING,
        120.0,
    )


async def test_the_daily_limit_pauses(start_sim: StartSim) -> None:
    sim = await start_sim(daily_limit=2)
    async with client(sim) as c:
        outcomes = [await c.send(request(f"d-{i}")) for i in range(3)]
    assert [o.cls for o in outcomes] == [OutcomeClass.SENT, OutcomeClass.SENT, OutcomeClass.PAUSE]
    assert outcomes[2].reason is Reason.DAILY_LIMIT
    assert outcomes[2].retry_after_s is not None


async def test_a_portal_level_send_result_pauses(start_sim: StartSim) -> None:
    sim = await start_sim(rules=(RecipientRule("*@suspended.test", "PORTAL_SUSPENDED"),))
    async with client(sim) as c:
        outcome = await c.send(request(to="x@suspended.test"))
    assert (outcome.cls, outcome.send_result) == (OutcomeClass.PAUSE, "PORTAL_SUSPENDED")


async def test_a_rotated_token_file_is_picked_up_after_a_401(start_sim: StartSim, tmp_path: Path) -> None:
    sim = await start_sim(tokens=("first-token-aaaa",))
    token_file = tmp_path / "token"
    token_file.write_text("first-token-aaaa")
    async with client(sim, auth=AuthSettings(token_file=token_file)) as c:
        assert (await c.send(request("r-1"))).cls is OutcomeClass.SENT
        async with aiohttp.ClientSession() as session:  # the operator rotates the private-app token
            rotation = {"add": ["second-token-bbbb"], "remove": ["first-token-aaaa"]}
            await session.post(sim.url + "/_simulator/tokens", json=rotation)
        token_file.write_text("second-token-bbbb\n")
        outcome = await c.send(request("r-2"))
    assert (outcome.cls, outcome.attempts) == (OutcomeClass.SENT, 2)
    assert len(sim.state.sends) == 2


async def test_oauth_expiry_refreshes_and_succeeds_with_rotated_refresh_tokens(start_sim: StartSim) -> None:
    sim = await start_sim(
        tokens=(),
        oauth_clients=(OAuthClient("app-1", "app-secret-1", "install-refresh-1"),),
        rotate_refresh_tokens=True,
        access_token_ttl_s=1800,
    )
    auth = AuthSettings(
        mode=AuthMode.OAUTH,
        oauth_client_id="app-1",
        oauth_client_secret=SecretStr("app-secret-1"),
        oauth_refresh_token=SecretStr("install-refresh-1"),
        oauth_token_path="/oauth/v3/token",
    )
    async with client(sim, auth=auth) as c:
        assert (await c.send(request("o-1"))).cls is OutcomeClass.SENT
        sim.state.access_tokens = dict(sim.state.access_tokens.items())
        for token in sim.state.access_tokens.values():
            token.expires_at = 0.0  # HubSpot expired the access token early
        outcome = await c.send(request("o-2"))
        again = await c.send(request("o-3"))
    assert (outcome.cls, outcome.attempts) == (OutcomeClass.SENT, 2)
    assert again.cls is OutcomeClass.SENT
    assert sim.state.oauth_refreshes == 2  # the second one used the rotated refresh token
    assert sim.state.stats_json()["by_status"]["401"] == 1


async def test_hapikey_is_refused_unless_the_simulator_allows_it(start_sim: StartSim) -> None:
    auth = AuthSettings(mode=AuthMode.HAPIKEY, hapikey=SecretStr(SIM_TOKEN))
    refusing, allowing = await start_sim(), await start_sim(allow_hapikey=True)
    async with client(refusing, auth=auth) as c:
        outcome = await c.send(request())
    assert (outcome.cls, outcome.reason, outcome.http_status) == (
        OutcomeClass.PAUSE,
        Reason.UNAUTHORIZED,
        401,
    )
    assert refusing.state.sends == {}
    async with client(allowing, auth=auth) as c:
        assert (await c.send(request())).cls is OutcomeClass.SENT


async def test_a_dated_version_is_served_and_satisfies_its_stricter_spec(start_sim: StartSim) -> None:
    sim = await start_sim(strict_dated_required=True)
    async with client(sim, api_version="2026-03") as c:
        outcome = await c.send(request())
    assert outcome.cls is OutcomeClass.SENT
    assert sim.state.sends_json()[0]["path"] == "/marketing/transactional/2026-03/single-email/send"


async def test_check_and_send_status(start_sim: StartSim) -> None:
    sim = await start_sim(complete_after_ms=0)
    async with client(sim) as c:
        assert (await c.check()).http_status == 404
        status_id = (await c.send(request())).status_id
    headers = {"Authorization": f"Bearer {SIM_TOKEN}"}
    url = f"{sim.url}/marketing/v3/email/send-statuses/{status_id}"
    async with aiohttp.ClientSession(headers=headers) as session, session.get(url) as resp:
        view = orjson.loads(await resp.read())
    assert (view["status"], view["sendResult"]) == ("COMPLETE", "SENT")


async def test_a_wrong_token_fails_the_check(simulator: RunningSimulator) -> None:
    async with client(simulator, auth=AuthSettings(token=SecretStr("wrong-token-zzzz"))) as c:
        outcome = await c.check()
    assert (outcome.cls, outcome.http_status) == (OutcomeClass.PAUSE, 401)


async def test_the_ledger_file_has_one_line_per_accepted_email(start_sim: StartSim, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    sim = await start_sim(ledger=ledger, templates=(Template(SIM_EMAIL_ID),))
    async with client(sim) as c:
        for send_id in ("l-1", "l-2", "l-1"):
            await c.send(request(send_id))
    lines = [orjson.loads(line) for line in ledger.read_bytes().splitlines()]
    assert [line["sendId"] for line in lines] == ["l-1", "l-2"]


async def test_the_control_api_reports_stats_and_resets(simulator: RunningSimulator) -> None:
    async with client(simulator) as c:
        await c.send(request("c-1"))
        await c.send(request("c-1"))
    async with aiohttp.ClientSession() as session:
        async with session.get(simulator.url + "/_simulator/stats") as resp:
            stats = await resp.json()
        async with session.get(simulator.url + "/_simulator/sends") as resp:
            sends = await resp.json()
        async with session.post(simulator.url + "/_simulator/faults", json={"error_rate": 2}) as resp:
            assert resp.status == 400
        async with session.post(simulator.url + "/_simulator/faults", json={"latency_ms": 1}) as resp:
            assert (await resp.json())["latency_ms"] == 1
        async with session.post(simulator.url + "/_simulator/reset") as resp:
            assert resp.status == 200
        async with session.get(simulator.url + "/_simulator/faults") as resp:
            assert (await resp.json())["latency_ms"] == 0
    assert stats["accepted"] == 1
    assert stats["duplicates_prevented"] == 1
    assert stats["by_outcome"] == {"ACCEPTED": 1, "IDEMPOTENT_IGNORE": 1}
    assert [s["sendId"] for s in sends] == ["c-1"]
    assert simulator.state.sends == {}
