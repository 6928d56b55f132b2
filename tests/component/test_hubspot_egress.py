"""The client on the network between it and HubSpot: redirects, slow servers, proxies (real sockets)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import aiohttp.client
import aiohttp.helpers
import orjson
import pytest
from aiohttp import web
from pydantic import SecretStr

from consumer.hubspot.client import HubSpotClient
from consumer.hubspot.request import SingleSendRequest
from consumer.outcome import OutcomeClass, Reason
from consumer.scrubbing import scrub
from consumer.settings import AuthMode, AuthSettings, HubSpotSettings, RetrySettings

SEND_PATH = "/marketing/v3/transactional/single-email/send"
PENDING = orjson.dumps({"statusId": "st-1", "status": "PENDING", "requestedAt": "2026-11-27T10:00:00Z"})
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def request() -> SingleSendRequest:
    return SingleSendRequest.model_validate(
        {"emailId": 1001, "message": {"to": "ada@example.com", "sendId": "s-1"}}
    )


def settings(base_url: str, **overrides: Any) -> HubSpotSettings:
    values: dict[str, Any] = {
        "base_url": base_url,
        "auth": AuthSettings(token=SecretStr("egress-token-123456")),
        "retry": RetrySettings(initial_backoff_s=0.01, max_backoff_s=0.05, budget_s=0.5),
        **overrides,
    }
    return HubSpotSettings(**values)


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Handler], Awaitable[int]]]:
    """Starts a raw TCP server on loopback with the given connection handler; returns its port."""
    servers: list[asyncio.Server] = []
    connections: list[tuple[asyncio.Task[Any], asyncio.StreamWriter]] = []

    async def start(handler: Handler) -> int:
        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            connections.append((task, writer))
            await handler(reader, writer)

        server = await asyncio.start_server(tracked, "127.0.0.1", 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for task, writer in connections:
        task.cancel()
        writer.close()
    await asyncio.gather(*(task for task, _ in connections), return_exceptions=True)
    for server in servers:
        server.close()
        await server.wait_closed()


async def _read_head(reader: asyncio.StreamReader) -> list[str]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        (int(v) for k, _, v in (h.partition(":") for h in lines) if k.lower() == "content-length"), 0
    )
    if length:
        await reader.readexactly(length)
    return lines


async def test_a_redirect_is_never_followed_and_pauses_with_its_own_cause() -> None:
    landed: list[str] = []

    async def redirect(_: web.Request) -> web.Response:
        raise web.HTTPFound("/captive/login?session=s3cret")

    async def landing(req: web.Request) -> web.Response:
        landed.append(req.method)  # any parseable 200 here would have counted as SENT
        return web.Response(body=PENDING, content_type="application/json")

    app = web.Application()
    app.router.add_post(SEND_PATH, redirect)
    app.router.add_route("*", "/captive/login", landing)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with HubSpotClient(settings(f"http://127.0.0.1:{port}"), max_in_flight=2) as client:
            outcome = await client.send(request())
    finally:
        await runner.cleanup()
    assert (outcome.cls, outcome.reason, outcome.http_status) == (OutcomeClass.PAUSE, Reason.REDIRECTED, 302)
    assert "redirect to /captive/login" in outcome.detail
    assert "s3cret" not in outcome.detail
    assert landed == []


async def test_a_server_that_trickles_its_answer_is_cut_off_by_the_attempt_deadline(
    raw_server: Callable[[Handler], Awaitable[int]],
) -> None:
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
        try:
            for _ in range(600):  # one byte every 50 ms: each read is quick, the answer never ends
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.05)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    port = await raw_server(trickle)
    cfg = settings(f"http://127.0.0.1:{port}", read_timeout_s=5.0, attempt_timeout_s=0.5)
    started = time.monotonic()
    async with HubSpotClient(cfg, max_in_flight=2) as client:
        outcome = await asyncio.wait_for(client.send(request(), probe=True), timeout=10)
    assert (outcome.cls, outcome.reason) == (OutcomeClass.RETRY, Reason.TIMEOUT)
    assert time.monotonic() - started < 5.0


async def test_the_wait_for_a_pooled_connection_counts_against_the_attempt_deadline(
    raw_server: Callable[[Handler], Awaitable[int]],
) -> None:
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_head(reader)
        await asyncio.sleep(30)
        writer.close()

    port = await raw_server(hang)
    cfg = settings(f"http://127.0.0.1:{port}", read_timeout_s=60.0, attempt_timeout_s=0.5)
    async with HubSpotClient(cfg, max_in_flight=1) as client:
        first, second = await asyncio.wait_for(
            asyncio.gather(client.send(request(), probe=True), client.send(request(), probe=True)), timeout=10
        )
    assert {first.reason, second.reason} == {Reason.TIMEOUT}


async def _answer_pending(writer: asyncio.StreamWriter) -> None:
    """Answer as HubSpot does to an accepted send (PENDING), then close the connection."""
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(PENDING)}\r\n"
    writer.write(head.encode() + b"Connection: close\r\n\r\n" + PENDING)
    await writer.drain()
    writer.close()


def _proxy(seen: list[str]) -> Handler:
    """A forward proxy that records each request line and answers as HubSpot would (for plain http),
    or refuses a CONNECT tunnel (for https) after recording it."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines = await _read_head(reader)
        seen.append(lines[0])
        if lines[0].startswith("CONNECT "):
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()
        else:
            await _answer_pending(writer)

    return handle


async def test_https_proxy_from_the_environment_tunnels_the_api_calls(
    raw_server: Callable[[Handler], Awaitable[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    port = await raw_server(_proxy(seen))
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
    async with HubSpotClient(settings("https://api.hubspot.invalid"), max_in_flight=2) as client:
        outcome = await client.send(request(), probe=True)
    assert seen
    assert seen[0].startswith("CONNECT api.hubspot.invalid:443 ")
    assert outcome.cls is OutcomeClass.RETRY  # the proxy refused the tunnel: a transport error


async def test_http_proxy_and_no_proxy_from_the_environment(
    raw_server: Callable[[Handler], Awaitable[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    port = await raw_server(_proxy(seen))
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    cfg = settings("http://hubspot-sim.invalid:8025", allow_insecure_http=True)
    async with HubSpotClient(cfg, max_in_flight=2) as client:
        outcome = await client.send(request(), probe=True)
    assert outcome.cls is OutcomeClass.SENT
    assert seen == [f"POST http://hubspot-sim.invalid:8025{SEND_PATH} HTTP/1.1"]

    monkeypatch.setenv("NO_PROXY", "hubspot-sim.invalid")
    async with HubSpotClient(cfg, max_in_flight=2) as client:
        outcome = await client.send(request(), probe=True)
    assert outcome.reason is Reason.CONNECTION  # straight to a host that does not resolve
    assert len(seen) == 1

    monkeypatch.delenv("NO_PROXY")
    async with HubSpotClient(cfg.model_copy(update={"use_env_proxy": False}), max_in_flight=2) as client:
        outcome = await client.send(request(), probe=True)
    assert outcome.reason is Reason.CONNECTION
    assert len(seen) == 1


def _recording_proxy(heads: list[list[str]]) -> Handler:
    """A forward proxy for plain http that records each request head and answers as HubSpot would."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await _read_head(reader))
        await _answer_pending(writer)

    return handle


async def test_the_proxy_is_read_from_the_environment_once_per_client_with_its_credentials(
    raw_server: Callable[[Handler], Awaitable[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    heads: list[list[str]] = []
    port = await raw_server(_recording_proxy(heads))
    monkeypatch.setenv("HTTP_PROXY", f"http://proxy-user:proxy-p%40ss-123456@127.0.0.1:{port}")
    looked_up: list[str] = []
    real = aiohttp.helpers.get_env_proxy_for_url

    def counting(url: Any) -> Any:
        looked_up.append(str(url))
        return real(url)

    monkeypatch.setattr(aiohttp.helpers, "get_env_proxy_for_url", counting)
    monkeypatch.setattr(aiohttp.client, "get_env_proxy_for_url", counting, raising=False)
    cfg = settings("http://hubspot-sim.invalid:8025", allow_insecure_http=True)
    async with HubSpotClient(cfg, max_in_flight=2) as client:
        outcomes = [await client.send(request(), probe=True) for _ in range(3)]
    assert [o.cls for o in outcomes] == [OutcomeClass.SENT] * 3
    assert [h[0] for h in heads] == [f"POST http://hubspot-sim.invalid:8025{SEND_PATH} HTTP/1.1"] * 3
    credentials = "Basic " + base64.b64encode(b"proxy-user:proxy-p@ss-123456").decode()
    assert all(f"Proxy-Authorization: {credentials}" in h for h in heads)
    assert looked_up == [f"http://hubspot-sim.invalid:8025{SEND_PATH}"]  # not once per request
    assert "proxy-p@ss-123456" not in scrub("proxy at http://proxy-user:proxy-p@ss-123456@proxy:3128")


async def test_the_oauth_token_call_goes_through_the_proxy_of_the_environment(
    raw_server: Callable[[Handler], Awaitable[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    heads: list[list[str]] = []
    port = await raw_server(_recording_proxy(heads))
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    oauth = AuthSettings(
        mode=AuthMode.OAUTH,
        oauth_client_id="client-1",
        oauth_client_secret=SecretStr("client-secret-123456"),
        oauth_refresh_token=SecretStr("refresh-token-123456"),
    )
    cfg = settings("http://hubspot-sim.invalid:8025", allow_insecure_http=True, auth=oauth)
    async with HubSpotClient(cfg, max_in_flight=2) as client:
        outcome = await client.send(request(), probe=True)
    assert outcome.cls is OutcomeClass.PAUSE  # the proxy's answer is no token
    assert heads[0][0] == "POST http://hubspot-sim.invalid:8025/oauth/v3/token HTTP/1.1"


async def test_cookies_an_answer_sets_are_never_sent_back(
    raw_server: Callable[[Handler], Awaitable[int]],
) -> None:
    heads: list[list[str]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not reader.at_eof():  # keep-alive: several requests per connection
            try:
                heads.append(await _read_head(reader))
            except asyncio.IncompleteReadError:
                break
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(PENDING)}\r\n"
            writer.write(head.encode() + b"Set-Cookie: __cf_bm=abc; Path=/\r\n\r\n" + PENDING)
            await writer.drain()

    port = await raw_server(handle)
    # a host name: aiohttp's jar never stores cookies of an IP address
    async with HubSpotClient(settings(f"http://localhost:{port}"), max_in_flight=1) as client:
        outcomes = [await client.send(request(), probe=True) for _ in range(2)]
    assert [o.cls for o in outcomes] == [OutcomeClass.SENT] * 2
    assert len(heads) == 2
    assert not [line for head in heads for line in head if line.lower().startswith("cookie:")]
