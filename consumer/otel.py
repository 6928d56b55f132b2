"""The OpenTelemetry side of :mod:`consumer.tracing` (the ``otel`` extra): spans, exporters, provider."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING

import aiohttp
from opentelemetry import context, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from consumer import __version__
from consumer.outcome import OutcomeClass
from consumer.tracing import Tracing

if TYPE_CHECKING:
    from consumer.deadletters.format import FailureContext
    from consumer.outcome import Outcome
    from consumer.ports import DeadLetterSink
    from consumer.records import Record

SERVICE_NAME = "single-send-consumer"

# The current record's span and the context token that made it current (each record runs in its own
# task, so this never leaks between records).
_RECORD: contextvars.ContextVar[tuple[Span, object] | None] = contextvars.ContextVar(
    "ssc_record_span", default=None
)


class OtelTracing(Tracing):
    """Spans through an OpenTelemetry SDK tracer provider."""

    enabled = True

    def __init__(self, provider: TracerProvider, group_id: str = "") -> None:
        self._provider = provider
        self._tracer: Tracer = provider.get_tracer(SERVICE_NAME, __version__)
        self._propagator = TraceContextTextMapPropagator()
        self._group = group_id

    def record_started(
        self, record: Record, traceparent: str | None, event_type: str | None, event_id: str | None
    ) -> None:
        if _RECORD.get() is not None:
            return  # the record runs again (after a pause): one span covers all its passes
        parent = self._propagator.extract({"traceparent": traceparent}) if traceparent else context.Context()
        attributes: dict[str, str | int] = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": record.topic,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
            "messaging.consumer.group.name": self._group,
        }
        if event_type is not None:
            attributes["cloudevents.event_type"] = event_type
        if event_id is not None:
            attributes["cloudevents.event_id"] = event_id
        span = self._tracer.start_span(
            f"process {record.topic}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
        )
        token = context.attach(trace.set_span_in_context(span, parent))
        _RECORD.set((span, token))

    def record_finished(self, outcome: Outcome) -> None:
        current = _RECORD.get()
        if current is None:
            return
        span, token = current
        _RECORD.set(None)
        span.set_attribute("ssc.outcome", outcome.cls.value)
        span.set_attribute("ssc.reason", outcome.label)
        if outcome.cls is OutcomeClass.PERMANENT:
            span.set_status(StatusCode.ERROR, outcome.label)
        span.end()
        context.detach(token)  # type: ignore[arg-type]

    def http_trace_configs(self) -> Sequence[aiohttp.TraceConfig]:
        config = aiohttp.TraceConfig()
        config.on_request_start.append(self._http_start)
        config.on_request_end.append(self._http_end)
        config.on_request_exception.append(self._http_exception)
        return (config,)

    async def _http_start(
        self, _: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestStartParams
    ) -> None:
        url = params.url
        attributes: dict[str, str | int] = {"http.request.method": params.method, "url.scheme": url.scheme}
        if url.host is not None:
            attributes["server.address"] = url.host
        if url.port is not None:
            attributes["server.port"] = url.port
        ctx.ssc_span = self._tracer.start_span(params.method, kind=SpanKind.CLIENT, attributes=attributes)

    async def _http_end(
        self, _: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        span: Span | None = getattr(ctx, "ssc_span", None)
        if span is None:
            return
        status = params.response.status
        span.set_attribute("http.response.status_code", status)
        if status >= 400:
            span.set_attribute("error.type", str(status))
            span.set_status(StatusCode.ERROR)
        span.end()

    async def _http_exception(
        self, _: aiohttp.ClientSession, ctx: SimpleNamespace, params: aiohttp.TraceRequestExceptionParams
    ) -> None:
        span: Span | None = getattr(ctx, "ssc_span", None)
        if span is None:
            return
        span.set_attribute("error.type", type(params.exception).__qualname__)
        span.set_status(StatusCode.ERROR)
        span.end()

    def dead_letters(self, sink: DeadLetterSink, topic_for: Callable[[str], str]) -> DeadLetterSink:
        return _TracedDeadLetters(sink, self._tracer, topic_for)

    def shutdown(self) -> None:
        self._provider.shutdown()


class _TracedDeadLetters:
    """A dead-letter sink that wraps each write in a PRODUCER span."""

    def __init__(self, inner: DeadLetterSink, tracer: Tracer, topic_for: Callable[[str], str]) -> None:
        self._inner = inner
        self._tracer = tracer
        self._topic_for = topic_for

    async def write(self, record: Record, outcome: Outcome, ctx: FailureContext) -> None:
        topic = str(self._topic_for(record.topic))
        attributes = {
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": topic,
            "ssc.reason": outcome.reason.value,
        }
        with self._tracer.start_as_current_span(
            f"send {topic}", kind=SpanKind.PRODUCER, attributes=attributes
        ):
            await self._inner.write(record, outcome, ctx)


def build(exporter: str, environ: Mapping[str, str], group_id: str) -> OtelTracing:
    """A provider exporting through ``exporter`` (``otlp``: endpoint and headers from the standard
    ``OTEL_EXPORTER_OTLP_*`` variables, read by the exporter; ``console``: stdout)."""
    span_exporter: SpanExporter = OTLPSpanExporter() if exporter == "otlp" else ConsoleSpanExporter()
    name = environ.get("OTEL_SERVICE_NAME") or SERVICE_NAME
    provider = TracerProvider(
        resource=Resource.create({"service.name": name, "service.version": __version__})
    )
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    return OtelTracing(provider, group_id)
