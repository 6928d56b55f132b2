"""Publishing the run's events at a steady rate, remembering where each one landed and when.

Events go out evenly over ``duration_s`` (released every tick in the number due by then), so faults
hit a stream with traffic, and latency (publish -> accepted by HubSpot) means something. The producer
is idempotent with ``acks=all`` and a long delivery timeout so a broker restart delays records
instead of failing them; a record that still fails is published again (then the event sits at two
offsets — the consumer must still send one email).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from tests.chaos.generator import Event

HEADERS = [("content-type", b"application/cloudevents+json")]
TICK_S = 0.01


@dataclass(slots=True)
class Published:
    placed: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # index -> [(partition, offset)]
    sent_at: dict[int, float] = field(default_factory=dict)  # index -> wall clock of the first send()
    republished: int = 0
    finished_at: float | None = None

    def by_offset(self) -> dict[tuple[int, int], int]:
        return {po: index for index, places in self.placed.items() for po in places}


async def publish(bootstrap: str, topic: str, events: list[Event], duration_s: float, out: Published) -> None:
    """Publish ``events`` in order, evenly over ``duration_s``; fills ``out`` as acks arrive."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=120_000,
        max_batch_size=256 * 1024,
        max_request_size=2 * 1024 * 1024,
        compression_type="zstd",  # the broker checks compressed batches: a 1.1 MB event gets in
    )
    await producer.start()
    pending: list[tuple[Event, asyncio.Future[object]]] = []
    try:
        rate = len(events) / max(duration_s, 0.001)
        start = time.monotonic()
        n = 0
        while n < len(events) or pending:
            due = min(len(events), int((time.monotonic() - start) * rate) + 1)
            while n < due:
                ev = events[n]
                out.sent_at[ev.index] = time.time()
                pending.append((ev, await producer.send(topic, ev.value, key=ev.key, headers=HEADERS)))
                n += 1
            still: list[tuple[Event, asyncio.Future[object]]] = []
            for ev, fut in pending:
                if not fut.done():
                    still.append((ev, fut))
                elif fut.exception() is not None:
                    out.republished += 1
                    still.append((ev, await producer.send(topic, ev.value, key=ev.key, headers=HEADERS)))
                else:
                    meta = fut.result()
                    out.placed.setdefault(ev.index, []).append((meta.partition, meta.offset))  # type: ignore[attr-defined]
            pending = still
            await asyncio.sleep(TICK_S)
    finally:
        await producer.stop()
        out.finished_at = time.time()
