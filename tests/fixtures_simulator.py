"""Pytest fixtures for the HubSpot simulator (registered in tests/conftest.py).

* ``simulator`` — a real simulator on 127.0.0.1 (free port), started per test with
  :data:`DEFAULT_CONFIG`; yields a :class:`RunningSimulator` (``.url``, ``.state``, ``.configure()``).
* ``start_sim`` — a factory for tests that need another :class:`SimulatorConfig`; stopped at teardown.
* :func:`hubspot_settings_for` — :class:`HubSpotSettings` pointed at a running simulator.
* ``http_mock`` — ``aioresponses`` for the client's unit tests, with a shim for aiohttp >= 3.14
  (aioresponses 0.7.9 does not pass the new required ``stream_writer`` argument to
  ``ClientResponse``: pnuckowski/aioresponses#289).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import SimpleNamespace
from typing import Any

import aioresponses.core
import pytest
from aiohttp import ClientResponse
from aioresponses import aioresponses as AioResponses
from pydantic import SecretStr

from consumer.settings import AuthSettings, HubSpotSettings, RateLimitSettings, RetrySettings
from hubspot_simulator import RunningSimulator, SimulatorConfig, Template, start_simulator

SIM_TOKEN = "sim-test-token-0001"
SIM_EMAIL_ID = 1001
DEFAULT_CONFIG = SimulatorConfig(
    tokens=(SIM_TOKEN,),
    templates=(Template(SIM_EMAIL_ID), Template(2002, ("firstname",))),
    seed=7,
)

StartSim = Callable[..., Awaitable[RunningSimulator]]


def hubspot_settings_for(sim: RunningSimulator, **overrides: Any) -> HubSpotSettings:
    """Settings for a client of ``sim``: token auth, short timeouts and a short retry budget."""
    values: dict[str, Any] = {
        "base_url": sim.url,
        "auth": AuthSettings(token=SecretStr(SIM_TOKEN)),
        "connect_timeout_s": 2.0,
        "read_timeout_s": 2.0,
        "retry": RetrySettings(initial_backoff_s=0.01, max_backoff_s=0.05, budget_s=5.0),
        "rate_limit": RateLimitSettings(requests_per_interval=100_000, interval_ms=1_000),
    }
    values.update(overrides)
    return HubSpotSettings(**values)


@pytest.fixture
async def start_sim() -> AsyncIterator[StartSim]:
    started: list[RunningSimulator] = []

    async def start(config: SimulatorConfig | None = None, **fields: Any) -> RunningSimulator:
        if config is None:
            config = dataclasses.replace(DEFAULT_CONFIG, **fields)
        sim = await start_simulator(config, "127.0.0.1", 0)
        started.append(sim)
        return sim

    try:
        yield start
    finally:
        for sim in started:
            await sim.stop()


@pytest.fixture
async def simulator(start_sim: StartSim) -> RunningSimulator:
    return await start_sim()


class _CompatClientResponse(ClientResponse):
    """``ClientResponse`` that tolerates aioresponses not passing ``stream_writer`` (aiohttp >= 3.14)."""

    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


@pytest.fixture
def http_mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[AioResponses]:
    monkeypatch.setattr(aioresponses.core, "ClientResponse", _CompatClientResponse)
    with AioResponses() as mocked:
        yield mocked
