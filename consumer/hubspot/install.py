"""Installing an OAuth app into a portal from the command line (``consumer hubspot oauth-install``).

HubSpot has no client-credentials flow: an app is installed once into a portal through the
authorization-code flow. :func:`install` does it without a web app of one's own:

1. it serves a one-shot callback on a loopback port and hands :func:`authorize_url` (the app's
   client id, the scopes, the loopback ``redirect_uri`` and a random ``state``) to ``show`` — the
   user opens it, picks the portal and approves;
2. HubSpot redirects the browser to the callback with a ``code`` (the ``state`` must match);
3. the code is exchanged at the token endpoint (``grant_type=authorization_code``; redirects are not
   followed) for an access and a refresh token; the answer names the portal (``hub_id``);
4. the refresh token is written to a file created with mode 0600 — the file the deployment mounts
   as ``SSC_HUBSPOT__AUTH__OAUTH_REFRESH_TOKEN_FILE``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson
from aiohttp import web

from consumer.errors import ConsumerError
from consumer.hubspot.portal import PortalIdentity, parse_identity
from consumer.scrubbing import register_secret

AUTHORIZE_URL = "https://app.hubspot.com/oauth/authorize"
CALLBACK_PATH = "/oauth-callback"
DEFAULT_SCOPES = ("transactional-email",)


@dataclass(frozen=True, slots=True)
class Installation:
    """The outcome of an installation: the portal and scopes HubSpot named, where the token went."""

    portal: PortalIdentity
    refresh_token_file: Path


def authorize_url(
    base: str, *, client_id: str, scopes: tuple[str, ...], redirect_uri: str, state: str
) -> str:
    """The URL a portal user opens to install the app (HubSpot's ``scope`` is space-separated)."""
    query = urllib.parse.urlencode(
        {"client_id": client_id, "scope": " ".join(scopes), "redirect_uri": redirect_uri, "state": state}
    )
    return f"{base}?{query}"


def write_secret_file(path: Path, value: str) -> None:
    """Write ``value`` to ``path``, created (or truncated) with mode 0600 before anything is written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode on open: tighten it too
        os.write(fd, value.encode() + b"\n")
    finally:
        os.close(fd)


async def _receive_code(
    host: str, port: int, state: str, timeout_s: float, ready: Callable[[str], None]
) -> str:
    """Serve the callback until it receives a code with the right ``state``; returns the code."""
    received: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def callback(request: web.Request) -> web.Response:
        if request.query.get("state") != state:
            return web.Response(status=400, text="state does not match: start the installation again")
        code = request.query.get("code")
        if not code:
            error = request.query.get("error", "no code")
            if not received.done():
                received.set_exception(ConsumerError(f"the installation was not approved ({error[:80]})"))
            return web.Response(status=400, text="no code: the installation was not approved")
        if not received.done():
            received.set_result(code)
        return web.Response(text="The app is installed. You can close this tab and return to the terminal.")

    app = web.Application()
    app.router.add_get(CALLBACK_PATH, callback)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    try:
        ready(f"http://{host}:{bound}{CALLBACK_PATH}")
        async with asyncio.timeout(timeout_s):
            return await received
    except TimeoutError:
        raise ConsumerError(f"no approval within {timeout_s:g} s") from None
    finally:
        await runner.cleanup()


async def _exchange(
    token_url: str, *, client_id: str, client_secret: str, code: str, redirect_uri: str
) -> tuple[str, PortalIdentity]:
    form = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_uri": redirect_uri,
        "code": code,
    }
    timeout = aiohttp.ClientTimeout(total=30)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout, trust_env=True) as session,
            session.post(token_url, data=form, allow_redirects=False) as resp,
        ):
            status, raw = resp.status, await resp.read()
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise ConsumerError(f"cannot reach the token endpoint ({type(exc).__name__})") from None
    try:
        data = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        data = {}
    refresh = data.get("refresh_token") if isinstance(data, dict) else None
    if status != 200 or not isinstance(refresh, str) or not refresh:
        what = data.get("status") or data.get("error") or "unknown" if isinstance(data, dict) else "unknown"
        raise ConsumerError(f"the token endpoint refused the code (HTTP {status}, {str(what)[:64]})")
    register_secret(refresh)
    return refresh, parse_identity(data)


async def install(
    *,
    token_url: str,
    client_id: str,
    client_secret: str,
    out: Path,
    show: Callable[[str], None],
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
    authorize_base: str = AUTHORIZE_URL,
    host: str = "127.0.0.1",
    port: int = 0,
    timeout_s: float = 300.0,
) -> Installation:
    """Run the whole installation (module docstring); ``show`` receives the authorize URL."""
    state = secrets.token_urlsafe(24)
    redirect: list[str] = []

    def ready(redirect_uri: str) -> None:
        if host == "127.0.0.1":  # HubSpot accepts http://localhost redirect URLs for installations
            redirect_uri = redirect_uri.replace("http://127.0.0.1:", "http://localhost:", 1)
        redirect.append(redirect_uri)
        show(
            authorize_url(
                authorize_base, client_id=client_id, scopes=scopes, redirect_uri=redirect_uri, state=state
            )
        )

    code = await _receive_code(host, port, state, timeout_s, ready)
    refresh, portal = await _exchange(
        token_url, client_id=client_id, client_secret=client_secret, code=code, redirect_uri=redirect[0]
    )
    write_secret_file(out, refresh)
    return Installation(portal, out)
