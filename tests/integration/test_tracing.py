"""OpenTelemetry spans from a real run (the broker, the simulator, the engine): one consumer span per
record continuing the event's trace, a client span per HubSpot request, a producer span per dead-letter
write — no body, no address; and a real OTLP/HTTP export to a receiver on loopback."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from consumer import tracing
from consumer.otel import OtelTracing
from consumer.routing_loader import load_router
from consumer.service import Service
from tests.conftest import CreateTopic
from tests.fixtures_simulator import StartSim
from tests.integration.harness import produce, settings_for, signup, sim_config

pytestmark = pytest.mark.kafka

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


def traced_signup(i: int, **kwargs: Any) -> dict[str, Any]:
    event = signup(i, **kwargs)
    event["traceparent"] = f"00-{TRACE_ID}-{PARENT_ID}-01"
    return event


async def test_spans_continue_the_events_trace_and_carry_no_personal_data(
    kafka_bootstrap: str, create_topic: CreateTopic, start_sim: StartSim
) -> None:
    topic = await create_topic(partitions=1)
    sim = await start_sim(sim_config())
    await produce(kafka_bootstrap, topic, [traced_signup(1), traced_signup(2, poison=True)])
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = settings_for(kafka_bootstrap, topic, sim)

    result = await asyncio.wait_for(
        Service(settings, load_router(settings), OtelTracing(provider, settings.kafka.group_id)).run(
            until_drained=True
        ),
        90,
    )

    assert result.counts.by_outcome == {"SENT": 1, "PERMANENT": 1}
    spans = exporter.get_finished_spans()
    process = {s.attributes["cloudevents.event_id"]: s for s in spans if s.kind is SpanKind.CONSUMER}
    sent, poisoned = process["evt-000001"], process["evt-000002"]
    for span in (sent, poisoned):
        assert span.name == f"process {topic}"
        assert format(span.context.trace_id, "032x") == TRACE_ID  # the event's trace, continued
        assert span.parent is not None
        assert format(span.parent.span_id, "016x") == PARENT_ID
        assert span.attributes["messaging.destination.name"] == topic
        assert span.attributes["messaging.consumer.group.name"] == settings.kafka.group_id
    assert (sent.attributes["ssc.outcome"], sent.status.status_code) == ("SENT", StatusCode.UNSET)
    assert (poisoned.attributes["ssc.reason"], poisoned.status.status_code) == (
        "bad_request",
        StatusCode.ERROR,
    )
    http = children(spans, sent, SpanKind.CLIENT)
    assert [(s.name, s.attributes["http.response.status_code"]) for s in http] == [("POST", 200)]
    assert http[0].attributes["server.address"] == "127.0.0.1"
    rejected = children(spans, poisoned, SpanKind.CLIENT)
    assert [s.attributes["error.type"] for s in rejected] == ["400"]
    (dlq,) = children(spans, poisoned, SpanKind.PRODUCER)
    assert dlq.name == f"send {topic}.dlq"
    values = " ".join(str(v) for s in spans for v in (s.attributes or {}).values())
    assert "@example.com" not in values
    assert "User1" not in values  # nothing from the body


def children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan, kind: SpanKind) -> list[ReadableSpan]:
    return [
        s
        for s in spans
        if s.kind is kind and s.parent is not None and s.parent.span_id == parent.context.span_id
    ]


class _Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: keeps every request body it is sent."""

    bodies: list[bytes]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.bodies.append((self.path, self.headers.get("Content-Type"), self.rfile.read(length)))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.bodies = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def test_spans_are_exported_over_otlp_http_to_the_configured_endpoint(
    kafka_bootstrap: str,
    create_topic: CreateTopic,
    start_sim: StartSim,
    receiver: ThreadingHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topic = await create_topic(partitions=1)
    sim = await start_sim(sim_config())
    await produce(kafka_bootstrap, topic, [traced_signup(1)])
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{receiver.server_port}")
    environ = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SERVICE_NAME": "ssc-under-test"}
    settings = settings_for(kafka_bootstrap, topic, sim)

    await asyncio.wait_for(
        Service(settings, load_router(settings), tracing.configure(environ)).run(until_drained=True), 90
    )

    posts = receiver.bodies  # type: ignore[attr-defined]
    assert posts
    assert {(path, kind) for path, kind, _ in posts} == {("/v1/traces", "application/x-protobuf")}
    names, services = set(), set()
    for _, _, body in posts:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            services.add(attrs["service.name"])
            names |= {s.name for scope in resource_spans.scope_spans for s in scope.spans}
    assert services == {"ssc-under-test"}
    assert {f"process {topic}", "POST"} <= names
