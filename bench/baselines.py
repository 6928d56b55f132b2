"""The two consumers the engine is compared with, each run as its own process by ``bench.engine``.

Both do exactly the engine's work per event (:class:`bench.work.Work`):
:func:`consumer.decode.decode`, ``validate``, ``Router.plan`` over the same routing file, POST of
the same ``complete_body`` with a bearer token on one keep-alive aiohttp session,
:func:`consumer.hubspot.taxonomy.classify` of the answer; and both commit only after the send
(at-least-once). What differs is the loop around that work:

* ``naive``: a plain aiokafka loop, one record at a time, ``commit({tp: offset + 1})`` after each;
* ``faststream``: a FastStream ``KafkaBroker`` subscriber with ``AckPolicy.ACK`` (ack = commit after
  the handler returned), default sequential processing — the idiomatic alternative a Python team
  would write. Its per-message access log is turned off (``logger=None``), as the engine logs
  successes at debug level only.

    python -m bench.baselines {naive|faststream} --bootstrap B --topic T --group G --sim-url U \
        --max-events N --max-seconds S

Bounded: each stops after ``--max-events`` records or ``--max-seconds``, whichever comes first, and
prints one JSON line (``processed``, ``sent``, ``other``, ``seconds``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as KafkaTP
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy

from bench.work import Work
from consumer.kafka import to_record


async def run_naive(args: argparse.Namespace, work: Work) -> None:
    consumer = AIOKafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    deadline = time.monotonic() + args.max_seconds
    try:
        while work.processed < args.max_events and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200, max_records=1)
            for tp, messages in batch.items():
                for msg in messages:
                    await work.handle(to_record(msg))
                    await consumer.commit({KafkaTP(tp.topic, tp.partition): msg.offset + 1})
    finally:
        await consumer.stop()


async def run_faststream(args: argparse.Namespace, work: Work) -> None:
    broker = KafkaBroker(args.bootstrap, logger=None)
    enough = asyncio.Event()

    @broker.subscriber(  # type: ignore[untyped-decorator]  # faststream's decorator is untyped
        args.topic, group_id=args.group, auto_offset_reset="earliest", ack_policy=AckPolicy.ACK
    )
    async def handle(body: Any, message: KafkaMessage) -> None:
        await work.handle(to_record(message.raw_message))
        if work.processed >= args.max_events:
            enough.set()

    await broker.start()
    try:
        await asyncio.wait_for(enough.wait(), args.max_seconds)
    except TimeoutError:
        pass
    finally:
        await broker.stop()


async def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.baselines", description=__doc__.split("\n\n")[0])
    ap.add_argument("kind", choices=("naive", "faststream"))
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--sim-url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--routing", required=True)
    ap.add_argument("--max-events", type=int, required=True)
    ap.add_argument("--max-seconds", type=float, required=True)
    args = ap.parse_args(argv)
    started = time.monotonic()
    async with Work(args.sim_url, args.token, args.routing) as work:
        await (run_naive if args.kind == "naive" else run_faststream)(args, work)
    summary = {
        "kind": args.kind,
        "processed": work.processed,
        "sent": work.sent,
        "other": work.other,
        "seconds": round(time.monotonic() - started, 3),
    }
    sys.stdout.write(orjson.dumps(summary).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
