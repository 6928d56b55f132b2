"""The benchmark's baselines do the engine's per-event work against the simulator as a real server."""

from __future__ import annotations

import orjson

from bench import infra
from bench.work import Work
from consumer.records import Record
from hubspot_simulator import Template
from tests.fixtures_simulator import SIM_TOKEN, StartSim


async def test_a_baseline_sends_each_event_and_classifies_the_answer(start_sim: StartSim) -> None:
    sim = await start_sim(templates=(Template(10001, ("firstname", "lastname")),))
    good = Record("bench", 0, 0, None, orjson.dumps(infra.event(1, "/bench/test")))
    broken = Record("bench", 0, 1, None, b"not json")
    async with Work(sim.url, SIM_TOKEN, str(infra.ROUTING)) as work:
        await work.handle(good)
        await work.handle(broken)
    assert (work.processed, work.sent, work.other) == (2, 1, 1)
    assert len(sim.state.sends) == 1
