"""Helpers for the operator-command tests (no tests here): CLI runs, env for settings, DLQ records.

``invoke`` runs ``consumer ...`` through Typer's CliRunner in a worker thread, so an async test can keep
its broker fixtures and an in-process simulator running on its own loop while the command runs
``asyncio.run`` on another. ``run_process`` runs the real console script for exit-code tests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from typer.testing import CliRunner, Result

from consumer.cli.app import app
from consumer.deadletters.format import FailureContext, dead_letter_headers
from consumer.deadletters.producer import DeadLetterProducer
from consumer.deadletters.writer import DeadLetterWriter
from consumer.kafka import PRODUCER_MAX_REQUEST_SIZE
from consumer.outcome import Outcome, OutcomeClass, Reason
from consumer.records import Record
from consumer.settings import DeadLetterSettings
from hubspot_simulator import RunningSimulator
from tests.integration.harness import ROUTING, TOKEN, signup

CONSUMER = Path(sys.executable).parent / "consumer"


async def invoke(*args: str, env: Mapping[str, str] | None = None, stdin: bytes | None = None) -> Result:
    """``consumer <args>`` in-process (``stdin`` as its input); logging configuration is restored."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, structlog.get_config())
    quiet = {name: logging.getLogger(name).level for name in ("aiokafka", "kafka", "aiohttp.access")}
    try:
        runner = CliRunner()
        return await asyncio.to_thread(runner.invoke, app, list(args), input=stdin, env=dict(env or {}))
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        structlog.configure(**saved[2])
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)


async def run_process(
    *args: str, env: Mapping[str, str] | None = None, stdin: bytes = b""
) -> tuple[int, str, str]:
    """The real ``consumer`` console script: exit code, stdout, stderr."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SSC_")}
    full_env.update(env or {})
    proc = await asyncio.create_subprocess_exec(
        str(CONSUMER),
        *args,
        env=full_env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def service_env(
    bootstrap: str, topic: str, sim: RunningSimulator | None = None, *, routing: Path = ROUTING, **extra: str
) -> dict[str, str]:
    """``SSC_*`` variables describing a deployment on the test broker (and simulator)."""
    env = {
        "SSC_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "SSC_KAFKA__TOPICS": orjson.dumps([topic]).decode(),
        "SSC_KAFKA__GROUP_ID": f"g.{topic}",
        "SSC_ROUTING_FILE": str(routing),
    }
    if sim is not None:
        env["SSC_HUBSPOT__BASE_URL"] = sim.url
        env["SSC_HUBSPOT__AUTH__TOKEN"] = TOKEN
    env.update(extra)
    return env


def one_line_error(result_stderr: str) -> str:
    """The single ``error: ...`` line of a failed command (and proof there is no traceback)."""
    assert "Traceback" not in result_stderr
    lines = [line for line in result_stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result_stderr
    return lines[0]


# --- dead letters, written by the service's own DLQ writer ------------------------------------------------


def permanent(reason: Reason, detail: str = "", **fields: Any) -> Outcome:
    return Outcome(OutcomeClass.PERMANENT, reason, detail, **fields)


async def write_dead_letters(
    bootstrap: str, source_topic: str, cases: Iterable[tuple[Record, Outcome, FailureContext]]
) -> int:
    """Write each (source record, outcome, context) to ``<source>.dlq`` with :class:`DeadLetterWriter`."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await producer.start()
    await admin.start()
    try:
        target = DeadLetterProducer(producer, admin, max_request_size=PRODUCER_MAX_REQUEST_SIZE)
        writer = DeadLetterWriter(target, DeadLetterSettings())
        n = 0
        for record, outcome, ctx in cases:
            await writer.write(record, outcome, ctx)
            n += 1
        return n
    finally:
        await admin.close()
        await producer.stop()


async def write_raw_dead_letter(  # noqa: PLR0917 - mirrors DeadLetterWriter.write plus where and when
    bootstrap: str, dlq_topic: str, record: Record, outcome: Outcome, ctx: FailureContext, timestamp_ms: int
) -> None:
    """One DLQ record with an explicit (past) timestamp, headers as the writer builds them."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(
            dlq_topic,
            value=record.value,
            key=record.key,
            timestamp_ms=timestamp_ms,
            headers=dead_letter_headers(record, outcome, ctx),
        )
    finally:
        await producer.stop()


def source(topic: str, offset: int, event: dict[str, Any] | bytes, *, partition: int = 0) -> Record:
    """A source record as the consumer fetched it (structured mode)."""
    value = event if isinstance(event, bytes) else orjson.dumps(event)
    key = None if isinstance(event, bytes) else str(event.get("subject") or event["id"]).encode()
    return Record(topic, partition, offset, key, value, (("content-type", b"application/cloudevents+json"),))


def ctx(event: dict[str, Any] | None, stage: str = "send", **fields: Any) -> FailureContext:
    values: dict[str, Any] = {"stage": stage, "group_id": "g.test"}
    if event is not None:
        values.update(event_type=event["type"], event_id=event["id"])
    values.update(fields)
    return FailureContext(**values)


ORDER = "com.example.order.confirmed.v1"


def order(i: int) -> dict[str, object]:
    data = {"order_id": f"ord_{i}", "customer": {"email": f"buyer{i}@shop.test"}}
    return {
        "specversion": "1.0",
        "id": f"ord-evt-{i}",
        "source": "/shop/orders",
        "type": ORDER,
        "subject": f"ord_{i}",
        "data": data,
    }


async def dead_lettered(bootstrap: str, topic: str) -> str:
    """Six dead letters as the service writes them; returns the DLQ topic."""
    a, b = signup(1, email="jane.doe@example.com"), signup(2)
    cases = [
        (
            source(topic, 10, a),
            permanent(
                Reason.SEND_REJECTED,
                "missing template properties",
                http_status=200,
                send_result="MISSING_TEMPLATE_PROPERTIES",
                correlation_id="corr-a",
            ),
            ctx(a, route="welcome", send_id="aa" * 32, email_id=10001, attempts=1),
        ),
        (
            source(topic, 11, b),
            permanent(
                Reason.SEND_REJECTED,
                "missing template properties",
                http_status=200,
                send_result="MISSING_TEMPLATE_PROPERTIES",
                correlation_id="corr-b",
            ),
            ctx(b, route="welcome", send_id="bb" * 32, email_id=10001, attempts=2),
        ),
        (
            source(topic, 12, order(3)),
            permanent(Reason.BAD_REQUEST, "HTTP 400", http_status=400, correlation_id="corr-c"),
            ctx(order(3), route="order-confirmation", email_id=10004, attempts=1),
        ),
        (
            source(topic, 13, b"{not json"),
            permanent(Reason.INVALID_JSON, "value is not valid JSON"),
            ctx(None, stage="decode"),
        ),
        (
            source(topic, 14, signup(5, email="x")),
            permanent(Reason.SCHEMA_VIOLATION, "data.email: value_error"),
            ctx(signup(5), stage="validate"),
        ),
        (
            source(topic, 15, {**signup(6), "type": "com.example.nope.v1"}),
            permanent(Reason.UNKNOWN_EVENT_TYPE, "event type is not in the catalog"),
            ctx({**signup(6), "type": "com.example.nope.v1"}, stage="validate"),
        ),
    ]
    await write_dead_letters(bootstrap, topic, cases)
    return f"{topic}.dlq"
