"""Start-up: an unreachable broker is waited for (not a crash loop); a fatal error is one JSON line.

``consumer run`` runs as a subprocess, as Kubernetes runs it; the broker is a closed port, then (for
the recovery) a TCP proxy to the real broker opened on that port while the consumer waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.conftest import CreateTopic
from tests.fixtures_simulator import StartSim
from tests.integration.harness import committed, produce, signup, sim_config
from tests.integration.test_engine_signals import consumer_env, start_consumer

pytestmark = [pytest.mark.slow]


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Lines:
    """The consumer's stderr, line by line, each parsed as JSON (a line that is not fails the test)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.seen: list[dict[str, object]] = []

    async def until(self, event: str, timeout: float = 30.0) -> dict[str, object]:
        assert self.proc.stderr is not None
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.proc.stderr.readline()
                assert raw, f"stderr ended before {event!r}: {self.seen[-3:]}"
                line = json.loads(raw)  # never a traceback or a library print
                self.seen.append(line)
                if line.get("event") == event:
                    return line

    async def rest(self) -> list[dict[str, object]]:
        assert self.proc.stderr is not None
        tail = [json.loads(raw) for raw in (await self.proc.stderr.read()).splitlines()]
        self.seen += tail
        return tail


async def get(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.json()


@pytest.mark.timeout(60)
async def test_an_unreachable_broker_is_waited_for_with_health_up_and_sigterm_exits_0_at_once() -> None:
    env = consumer_env(f"127.0.0.1:{closed_port()}", "t.never", "g.never", "http://127.0.0.1:9")
    proc = await start_consumer(env)
    lines = Lines(proc)
    try:
        port = (await lines.until("service.starting"))["http_port"]
        first = await lines.until("kafka.waiting")
        second = await lines.until("kafka.waiting")
        assert proc.returncode is None  # still there: no crash loop
        assert (first["attempt"], second["attempt"]) == (1, 2)
        assert float(str(second["retry_in_s"])) > float(str(first["retry_in_s"]))  # backing off
        assert first["waiting_for"] == "kafka broker"
        assert (await get(f"http://127.0.0.1:{port}/healthz"))[0] == 200
        status, body = await get(f"http://127.0.0.1:{port}/readyz")
        assert (status, body["waiting_for"]) == (503, "kafka")

        asked = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        await lines.rest()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        assert time.monotonic() - asked < 5
        assert "service.stopped" in {line.get("event") for line in lines.seen}
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()


@contextlib.asynccontextmanager
async def proxy(port: int, target: str) -> AsyncIterator[None]:
    """A TCP proxy on ``port`` to ``target`` (host:port) — the broker appearing on the bootstrap address."""
    host, target_port = target.rsplit(":", 1)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(target_port))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()


@pytest.mark.kafka
@pytest.mark.timeout(120)
async def test_the_consumer_starts_working_once_the_broker_becomes_reachable(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic(partitions=1)
    sim = await start_sim(sim_config())
    await produce(kafka_bootstrap, topic, [signup(i) for i in range(5)])
    port = closed_port()
    env = consumer_env(f"127.0.0.1:{port}", topic, f"g.{topic}", sim.url)
    proc = await start_consumer(env, "--until-drained")
    lines = Lines(proc)
    try:
        await lines.until("kafka.waiting")
        async with proxy(port, kafka_bootstrap):  # the broker comes back
            await lines.until("service.drained", timeout=60)
            await lines.rest()
            assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    assert len(sim.state.sends) == 5
    assert await committed(kafka_bootstrap, f"g.{topic}", topic, 1) == {0: 5}


@pytest.mark.timeout(60)
async def test_a_fatal_error_is_one_scrubbed_json_line_and_a_non_zero_exit() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = consumer_env(f"127.0.0.1:{closed_port()}", "t.never", "g.never", "http://127.0.0.1:9")
        env["SSC_OBSERVABILITY__PORT"] = str(taken.getsockname()[1])  # the health port is in use
        proc = await start_consumer(env)
        _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    [line] = stderr.decode().splitlines()
    failed = json.loads(line)
    assert (failed["event"], failed["level"], failed["error"]) == ("service.failed", "critical", "OSError")
    assert "address already in use" in str(failed["detail"])
