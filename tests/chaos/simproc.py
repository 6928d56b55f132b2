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

import orjson
from aiohttp import web

from hubspot_simulator import SimState, create_app
from hubspot_simulator.cli import build_config
from hubspot_simulator.process import SimulatorProcess

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


class SimClient(SimulatorProcess):
    """The simulator process of a run (with its request log) and its control API."""

    def __init__(self, port: int, config: dict[str, Any], requests: Path, stderr: Path) -> None:
        self.requests = requests
        args = [
            sys.executable,
            "-m",
            "tests.chaos.simproc",
            "--port",
            str(port),
            "--requests",
            str(requests),
            "--config",
            orjson.dumps(config).decode(),
        ]
        with stderr.open("ab") as err:
            proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True
            )
        super().__init__(proc, port)


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
