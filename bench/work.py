"""The engine's per-event work, as the baselines of ``bench.engine`` do it (``bench.baselines``).

Kept apart from the baselines' Kafka loops so that it imports nothing beyond the consumer's own
dependencies (FastStream is a benchmark extra), and the suite can run it against the simulator.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from consumer.decode import decode, validate
from consumer.errors import InputError
from consumer.hubspot.taxonomy import classify
from consumer.outcome import OutcomeClass
from consumer.records import Record
from consumer.route import Router
from consumer.routing_loader import load_routing
from consumer.scrubbing import scrub
from consumer.settings import DecodeSettings, Environment, HubSpotSettings

SEND_PATH = HubSpotSettings().send_path


class Work:
    """decode → validate → route → POST → classify, for one record (the engine's per-event work)."""

    def __init__(self, sim_url: str, token: str, routing: str) -> None:
        self.router = Router.build(load_routing(Path(routing)), Environment.DEV)
        self.decode_settings = DecodeSettings()
        self.url = sim_url.rstrip("/") + SEND_PATH
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.session: aiohttp.ClientSession | None = None
        self.processed = 0
        self.sent = 0
        self.other = 0

    async def __aenter__(self) -> Work:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.session is not None:
            await self.session.close()

    async def handle(self, record: Record) -> None:
        assert self.session is not None
        self.processed += 1
        try:
            jobs = self.router.plan(validate(decode(record, self.decode_settings)), datetime.now(UTC))
        except InputError:
            self.other += 1
            return
        for job in jobs:
            async with self.session.post(self.url, data=job.request.complete_body, headers=self.headers) as r:
                raw = await r.read()
                outcome = classify(r.status, raw, r.headers, scrub=scrub)
            if outcome.cls is OutcomeClass.SENT:
                self.sent += 1
            else:
                self.other += 1
