"""HTTP endpoints for operators and Kubernetes: ``/metrics``, ``/healthz``, ``/readyz``.

- ``/healthz`` — 200 while the event loop answers and the fetch loop ticked recently (a wedged loop
  or a dead worker task makes it 503, so the pod is restarted).
- ``/readyz`` — 200 when the member has joined its group, the pipeline is not paused and the service
  is not stopping; 503 otherwise with the pause causes in the JSON body (no secrets, no addresses).
- ``/metrics`` — Prometheus text format from :data:`consumer.metrics.REGISTRY`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from consumer.metrics import REGISTRY

STALL_AFTER_S = 120.0


@dataclass(frozen=True, slots=True)
class Health:
    alive: bool
    ready: bool
    detail: dict[str, object]


HealthProbe = Callable[[], Health]


def _json(status: int, body: dict[str, object]) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


def create_app(probe: HealthProbe) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        h = probe()
        return _json(200 if h.alive else 503, {"alive": h.alive, **h.detail})

    async def readyz(_: web.Request) -> web.Response:
        h = probe()
        return _json(200 if h.ready else 503, {"ready": h.ready, **h.detail})

    async def metrics(_: web.Request) -> web.Response:
        resp = web.Response(body=generate_latest(REGISTRY))
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


class HttpServer:
    """Runs the app on ``host:port`` (port 0 picks a free one; :attr:`port` tells which)."""

    def __init__(self, probe: HealthProbe, host: str, port: int) -> None:
        self._runner = web.AppRunner(create_app(probe), access_log=None, handle_signals=False)
        self._host = host
        self._port = port
        self.port = port

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port, reuse_address=True)
        await site.start()
        server = site._server
        if server is not None and server.sockets:  # type: ignore[attr-defined]
            self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]

    async def stop(self) -> None:
        await self._runner.cleanup()


def stalled(last_tick: float, now: float | None = None) -> bool:
    return ((now or time.monotonic()) - last_tick) > STALL_AFTER_S
