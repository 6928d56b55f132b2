"""The simulator's aiohttp application, its control API and an in-process runner.

Control and inspection API. It can add tokens, publish templates and read every accepted email, so
it is guarded (:func:`control_guard`): with a control token every call needs
``Authorization: Bearer <control token>``; without one it answers only on loopback, and a simulator
listening on any other address refuses every control call (403). ``/_simulator/health`` stays open
for probes.

* ``GET  /_simulator/health``: ``{"ok": true}``.
* ``GET  /_simulator/sends``: JSON list of accepted emails (``sendId``, ``emailId``, ``to``,
  ``contactProperties``, ``customProperties``, ``attempts``, ``firstAcceptedAt``, ``statusId``).
* ``GET  /_simulator/stats``: ``requests``, ``accepted``, ``duplicates_prevented``, ``hangs``,
  ``oauth_refreshes``, counts ``by_status`` (HTTP) and ``by_outcome``.
* ``POST /_simulator/reset``: forget sends, counters, OAuth tokens and rate windows; faults and
  tokens back to their start values.
* ``GET  /_simulator/faults`` / ``POST /_simulator/faults``: read / change fault settings, e.g.
  ``{"error_rate": 0.1}`` or ``{"window": {"status": 503, "seconds": 5, "retry_after": 2}}``.
* ``GET  /_simulator/tokens`` / ``POST /_simulator/tokens``: counts / ``{"add": [..], "remove": [..],
  "add_without_scope": [..], "expire_access_tokens": true}``.
* ``GET  /_simulator/templates`` / ``POST /_simulator/templates``: published emails (emailId ->
  required properties) / ``{"publish": [{"emailId": 1, "required": ["firstname"]}], "unpublish": [1]}``
  (publishing or changing a transactional email in HubSpot while the consumer runs).
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from consumer.loopback import is_loopback
from hubspot_simulator.api import JSON, HubSpotApi
from hubspot_simulator.config import SimulatorConfig
from hubspot_simulator.state import SimState

STATE_KEY = web.AppKey("state", SimState)


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type=JSON)


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise web.HTTPBadRequest(text="body must be JSON") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return data


class Control:
    """Handlers of ``/_simulator/``."""

    def __init__(self, state: SimState) -> None:
        self.state = state

    async def health(self, _: web.Request) -> web.Response:
        return _json({"ok": True})

    async def sends(self, _: web.Request) -> web.Response:
        return _json(self.state.sends_json())

    async def stats(self, _: web.Request) -> web.Response:
        return _json(self.state.stats_json())

    async def reset(self, _: web.Request) -> web.Response:
        self.state.reset()
        return _json({"ok": True})

    async def get_faults(self, _: web.Request) -> web.Response:
        return _json(self.state.faults.to_json(asyncio.get_running_loop().time()))

    async def set_faults(self, request: web.Request) -> web.Response:
        now = asyncio.get_running_loop().time()
        try:
            self.state.faults.update(await _body(request), now)
        except (ValueError, TypeError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json(self.state.faults.to_json(now))

    async def get_tokens(self, _: web.Request) -> web.Response:
        state = self.state
        return _json(
            {
                "tokens": len(state.tokens),
                "tokens_without_scope": len(state.tokens_without_scope),
                "refresh_tokens": len(state.refresh_tokens),
                "access_tokens": len(state.access_tokens),
                "open_auth": state.open_auth,
            }
        )

    async def set_tokens(self, request: web.Request) -> web.Response:
        state, data = self.state, await _body(request)
        for token in data.get("add", ()):
            state.tokens.add(str(token))
            state.tokens_without_scope.discard(str(token))
            state.open_auth = False
        for token in data.get("add_without_scope", ()):
            state.tokens_without_scope.add(str(token))
            state.tokens.discard(str(token))
            state.open_auth = False
        for token in data.get("remove", ()):
            state.tokens.discard(str(token))
            state.tokens_without_scope.discard(str(token))
            state.access_tokens.pop(str(token), None)
        if data.get("expire_access_tokens"):
            now = asyncio.get_running_loop().time()
            for access in state.access_tokens.values():
                access.expires_at = min(access.expires_at, now)
        return await self.get_tokens(request)

    async def get_templates(self, _: web.Request) -> web.Response:
        return _json({str(i): list(req) for i, req in sorted(self.state.templates.items())})

    async def set_templates(self, request: web.Request) -> web.Response:
        """``{"publish": [{"emailId": 1, "required": ["firstname"]}], "unpublish": [1]}``."""
        state, data = self.state, await _body(request)
        try:
            for item in data.get("publish", ()):
                state.templates[int(item["emailId"])] = tuple(str(p) for p in item.get("required", ()))
            for email_id in data.get("unpublish", ()):
                state.templates.pop(int(email_id), None)
        except (KeyError, TypeError, ValueError) as exc:
            return _json({"error": f"publish: [{{emailId, required}}], unpublish: [emailId] ({exc})"}, 400)
        return await self.get_templates(request)


_HTTP_CATEGORY = {
    404: "OBJECT_NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "REQUEST_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def _hubspot_errors(api: HubSpotApi) -> Middleware:
    """aiohttp's own 404/405/413/415 (plain text) become HubSpot-shaped JSON errors on the API paths."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            category = _HTTP_CATEGORY.get(exc.status)
            if category is None or request.path.startswith("/_simulator/"):
                raise
            return api.error(exc.status, category, exc.reason, outcome=f"HTTP_{exc.status}")

    return middleware


CONTROL_PREFIX = "/_simulator/"
OPEN_CONTROL_PATHS = frozenset({"/_simulator/health"})


def control_guard(token: str | None, *, loopback: bool) -> Middleware:
    """Middleware guarding ``/_simulator/`` (except health): the bearer ``token`` when one is set,
    else loopback only (a simulator on another address without a token refuses control calls)."""
    expected = f"Bearer {token}".encode() if token else None

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX) and request.path not in OPEN_CONTROL_PATHS:
            if expected is None and not loopback:
                return _json({"error": "control API disabled: not on loopback and no control token"}, 403)
            given = request.headers.get("Authorization", "").encode()
            if expected is not None and not hmac.compare_digest(given, expected):
                return _json({"error": "control token required: Authorization: Bearer <token>"}, 401)
        return await handler(request)

    return guard


def create_app(
    config: SimulatorConfig,
    state: SimState | None = None,
    *,
    control_token: str | None = None,
    loopback: bool = True,
) -> web.Application:
    """The simulator as an aiohttp application (HubSpot endpoints + ``/_simulator/`` control API,
    guarded by :func:`control_guard`; ``loopback``: it listens on loopback only)."""
    state = state or SimState(config)
    api, control = HubSpotApi(state), Control(state)
    app = web.Application(
        client_max_size=1024**2,
        middlewares=[control_guard(control_token, loopback=loopback), _hubspot_errors(api)],
    )
    app[STATE_KEY] = state
    app.router.add_post("/marketing/v3/transactional/single-email/send", api.send)
    app.router.add_post(r"/marketing/transactional/{version:\d{4}-\d{2}}/single-email/send", api.send)
    app.router.add_get("/marketing/v3/email/send-statuses/{status_id}", api.send_status)
    app.router.add_post("/oauth/v1/token", api.oauth_token)
    app.router.add_post("/oauth/v3/token", api.oauth_token)
    app.router.add_post(r"/oauth/{version:\d{4}-\d{2}}/token", api.oauth_token)
    app.router.add_post("/oauth/v2/private-apps/get/access-token-info", api.token_info)
    app.router.add_get("/oauth/authorize", api.authorize)
    app.router.add_get("/oauth/authorize/approve", api.approve)
    app.router.add_get("/_simulator/health", control.health)
    app.router.add_get("/_simulator/sends", control.sends)
    app.router.add_get("/_simulator/stats", control.stats)
    app.router.add_post("/_simulator/reset", control.reset)
    app.router.add_get("/_simulator/faults", control.get_faults)
    app.router.add_post("/_simulator/faults", control.set_faults)
    app.router.add_get("/_simulator/tokens", control.get_tokens)
    app.router.add_post("/_simulator/tokens", control.set_tokens)
    app.router.add_get("/_simulator/templates", control.get_templates)
    app.router.add_post("/_simulator/templates", control.set_templates)

    async def _close(_: web.Application) -> None:
        state.close()

    app.on_cleanup.append(_close)
    return app


@dataclass(slots=True)
class RunningSimulator:
    """A simulator serving on ``url``; ``state`` for inspection, :meth:`configure` for faults."""

    url: str
    state: SimState
    runner: web.AppRunner

    @property
    def config(self) -> SimulatorConfig:
        return self.state.config

    def configure(self, **changes: Any) -> None:
        """Change faults at run time, like ``POST /_simulator/faults`` (e.g. ``window={...}``)."""
        self.state.faults.update(changes, asyncio.get_running_loop().time())

    async def stop(self) -> None:
        await self.runner.cleanup()

    async def __aenter__(self) -> RunningSimulator:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()


async def start_simulator(
    config: SimulatorConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    shutdown_timeout: float = 1.0,
    control_token: str | None = None,
) -> RunningSimulator:
    """Serve the simulator on ``host:port`` (0: a free port) in the running event loop."""
    state = SimState(config)
    app = create_app(config, state, control_token=control_token, loopback=is_loopback(host))
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server  # aiohttp exposes the bound port only here
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return RunningSimulator(url=f"http://{host}:{bound}", state=state, runner=runner)
