"""The HubSpot simulator as a separate process for chaos runs, with a per-request log beside its ledger.

``python -m tests.chaos.simproc --port P --requests FILE --config JSON`` serves the same application
as ``consumer simulator`` (``build_config`` takes the CLI's flags as JSON) and adds one middleware
that appends a line per Single Send request to ``FILE``:
``[t_in, t_out, status, sendId, to, sendResult, retry_after]`` (wall-clock seconds). The checker
needs it for what the ledger cannot tell: when each answer left (commit safety of terminal and
rejected events), which requests honoured ``Retry-After`` (I8), and every ``sendId`` used (I3).

:class:`SimClient` starts the process and talks to the control API (``/_simulator/...``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any

import aiohttp
import orjson
from aiohttp import web

from consumer.hubspot.simulator import SimState, create_app
from consumer.hubspot.simulator.cli import build_config

_SEND_ID = re.compile(rb'"sendId":"([^"]*)"')
_TO = re.compile(rb'"to":"([^"]*)"')
_RESULT = re.compile(rb'"sendResult":"([A-Z_]+)"')
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RequestLog:
    """Buffered JSON lines of every send request; flushed every second and at shutdown."""

    def __init__(self, path: Path) -> None:
        self._out: IO[bytes] = path.open("ab")
        self._buffer: list[bytes] = []

    def append(self, row: list[Any]) -> None:
        self._buffer.append(orjson.dumps(row))

    def flush(self) -> None:
        if self._buffer:
            self._out.write(b"\n".join(self._buffer) + b"\n")
            self._buffer.clear()
            self._out.flush()

    def close(self) -> None:
        self.flush()
        self._out.close()


def recorder(log: RequestLog) -> Any:
    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.endswith("/single-email/send"):
            return await handler(request)
        t_in = time.time()
        raw = await request.read()  # aiohttp keeps the bytes: the handler reads them again
        response = await handler(request)
        body = response.body if isinstance(response, web.Response) else None
        raw_body = body if isinstance(body, bytes) else b""
        sid, to, result = _SEND_ID.search(raw), _TO.search(raw), _RESULT.search(raw_body)
        log.append(
            [
                round(t_in, 4),
                round(time.time(), 4),
                response.status,
                sid.group(1).decode() if sid else None,
                to.group(1).decode() if to else None,
                result.group(1).decode() if result else None,
                response.headers.get("Retry-After"),
            ]
        )
        return response

    return record


async def serve(config: dict[str, Any], port: int, requests: Path) -> None:
    sim_config = build_config(**config)
    state = SimState(sim_config)
    app = create_app(sim_config, state)
    log = RequestLog(requests)
    app.middlewares.append(recorder(log))
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"simulator ready on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    try:
        while not stop.is_set():
            log.flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        await runner.cleanup()
        log.close()


class SimClient:
    """The simulator process of a run and its control API."""

    def __init__(self, port: int, config: dict[str, Any], requests: Path, stderr: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.requests = requests
        with stderr.open("ab") as err:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.chaos.simproc",
                    "--port",
                    str(port),
                    "--requests",
                    str(requests),
                    "--config",
                    orjson.dumps(config).decode(),
                ],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                start_new_session=True,
            )
        self._session: aiohttp.ClientSession | None = None

    async def open(self, timeout_s: float = 30.0) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the simulator exited with {self.proc.returncode}")
            try:
                await self.call("GET", "/_simulator/health")
                return
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        raise RuntimeError("the simulator did not answer /_simulator/health")

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        assert self._session is not None
        async with self._session.request(method, self.url + path, json=body) as r:
            r.raise_for_status()
            return orjson.loads(await r.read())

    async def faults(self, **changes: Any) -> Any:
        return await self.call("POST", "/_simulator/faults", changes)

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", "/_simulator/stats")
        return result

    async def sends(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.call("GET", "/_simulator/sends")
        return result

    async def close(self) -> None:
        """Stop the process (SIGTERM flushes the request log), at most 15 s, then SIGKILL."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, 15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                await asyncio.to_thread(self.proc.wait, 5)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="HubSpot simulator with a request log (chaos runs)")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--requests", type=Path, required=True)
    ap.add_argument("--config", required=True, help="JSON object of build_config keyword arguments")
    args = ap.parse_args(argv)
    config = orjson.loads(args.config)
    if config.get("ledger"):
        config["ledger"] = Path(config["ledger"])
    asyncio.run(serve(config, args.port, args.requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
