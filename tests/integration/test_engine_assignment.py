"""Taking a partition over: a member does not send again what the previous owner finished above the
committed offset (the done offsets travel in the commit metadata, docs/concepts/how-it-works.md).
Records handed out before the assignment listener has run are covered without a broker
(``tests/unit/test_worker_revoke.py``)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from consumer.outcome import Outcome
from consumer.pipeline import Pipeline
from consumer.records import Record
from consumer.routing_loader import load_router
from consumer.service import Service
from tests.conftest import CreateTopic
from tests.fixtures_simulator import StartSim
from tests.integration.harness import (
    committed,
    end_offsets,
    produce,
    run_until_drained,
    settings_for,
    signup,
    sim_config,
)

pytestmark = pytest.mark.kafka

EVENTS = 200


@pytest.mark.timeout(120)
@pytest.mark.parametrize("stop", ["crash", "sigterm"])
async def test_a_restarted_member_does_not_resend_records_done_above_the_committed_offset(
    kafka_bootstrap: str,
    create_topic: CreateTopic,
    start_sim: StartSim,
    monkeypatch: pytest.MonkeyPatch,
    stop: str,
) -> None:
    topic = await create_topic(partitions=1)
    events = [signup(i) for i in range(EVENTS)]
    await produce(kafka_bootstrap, topic, events)
    sim = await start_sim(sim_config())
    settings = settings_for(kafka_bootstrap, topic, sim, ordering="unordered", drain_deadline_s=0.5)
    original = Pipeline.process
    stuck: list[asyncio.Task[object]] = []

    async def first_offset_never_answered(self: Pipeline, record: Record) -> Outcome:
        if record.offset == 0:  # holds the committed offset at 0 while everything above it finishes
            task = asyncio.current_task()
            assert task is not None
            stuck.append(task)
            await asyncio.Event().wait()
        return await original(self, record)

    monkeypatch.setattr(Pipeline, "process", first_offset_never_answered)
    first = Service(settings, load_router(settings))
    running = asyncio.create_task(first.run())
    async with asyncio.timeout(60):
        while first.worker is None or first.worker.counts.done < EVENTS - 1:
            await asyncio.sleep(0.05)
    worker = first.worker
    commits = worker.counts.commits
    with contextlib.suppress(TimeoutError):  # two commit ticks after the last completion, if any come
        async with asyncio.timeout(5):
            while worker.counts.commits < commits + 2:
                await asyncio.sleep(0.05)
    if stop == "crash":  # gone without a final commit
        running.cancel()
        for task in stuck:
            task.cancel()
        await asyncio.gather(running, *stuck, return_exceptions=True)
    else:  # SIGTERM: the stuck record is cancelled at the drain deadline, the final commit is at 0
        first.stop_event.set()
        await running
    assert await committed(kafka_bootstrap, settings.kafka.group_id, topic, 1) == {0: 0}
    assert len(sim.state.sends) == EVENTS - 1
    monkeypatch.setattr(Pipeline, "process", original)
    requests_before = sim.state.requests

    result = await run_until_drained(settings)

    assert sim.state.requests - requests_before == 1  # only the record that was never done
    assert result.counts.skipped == EVENTS - 1
    assert sorted(s["attempts"] for s in sim.state.sends_json()) == [1] * EVENTS
    assert await committed(kafka_bootstrap, settings.kafka.group_id, topic, 1) == await end_offsets(
        kafka_bootstrap, topic, 1
    )
