"""A simulator running as a separate process, driven through its control API (``/_simulator/...``).

The benchmark and the chaos suite start the simulator in its own process (its CPU is not the
consumer's, and a run can signal it); this is the one client they share: wait until healthy, call the
control API, stop (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from typing import Any

import aiohttp
import orjson


class SimulatorProcess:
    """``proc`` serves the simulator on 127.0.0.1:``port``; :meth:`open` before the first call."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, *, call_timeout_s: float = 60.0) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._call_timeout_s = call_timeout_s
        self._session: aiohttp.ClientSession | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def open(self, timeout_s: float = 30.0) -> None:
        """Wait until ``/_simulator/health`` answers; fails fast when the process exits."""
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._call_timeout_s))
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
        """One control-API call; the decoded JSON answer (an HTTP error raises)."""
        if self._session is None:
            raise RuntimeError("SimulatorProcess is not open: call open() first")
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
        """Stop the process: SIGTERM (the simulator flushes its logs), at most 15 s, then SIGKILL."""
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
