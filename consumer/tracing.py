"""OpenTelemetry tracing: optional, configured by the standard ``OTEL_*`` variables, off by default.

Three kinds of span, following OpenTelemetry's semantic conventions:

- ``process <topic>`` (CONSUMER) — one per record, from decode to done; its parent is the trace the
  event carries (the CloudEvents ``traceparent`` extension, or a W3C ``traceparent`` Kafka header), so
  the e-mail joins the trace of the request that caused it. Attributes: topic, partition, offset,
  consumer group, event type and id, outcome and reason.
- ``POST`` (CLIENT) — one per HubSpot HTTP request, a child of the record's span: method, server
  address and port, status code, ``error.type``. Never the body, the query string or a recipient.
- ``send <dlq topic>`` (PRODUCER) — one per dead-letter write.

Tracing is on when ``OTEL_TRACES_EXPORTER`` is ``otlp`` (OTLP over HTTP/protobuf, endpoint and headers
from ``OTEL_EXPORTER_OTLP_*``) or ``console``, and ``OTEL_SDK_DISABLED`` is not ``true``; it needs the
``otel`` extra. Otherwise :data:`NO_TRACING` is used: every hook is an empty method call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import aiohttp

from consumer.errors import ConfigError

if TYPE_CHECKING:
    from consumer.outcome import Outcome
    from consumer.ports import DeadLetterSink
    from consumer.records import Record

EXPORTERS = ("otlp", "console", "none")


class Tracing:
    """The hooks the engine calls; this base class does nothing (tracing off)."""

    enabled = False

    def record_started(
        self, record: Record, traceparent: str | None, event_type: str | None, event_id: str | None
    ) -> None:
        """The record's event is known (or could not be decoded: ``event_type`` is ``None``)."""

    def record_finished(self, outcome: Outcome) -> None:
        """The record is done with ``outcome``."""

    def http_trace_configs(self) -> Sequence[aiohttp.TraceConfig]:
        return ()

    def dead_letters(self, sink: DeadLetterSink, topic_for: Callable[[str], str]) -> DeadLetterSink:
        return sink

    def shutdown(self) -> None:
        """Export what is buffered (called once at stop)."""


NO_TRACING = Tracing()


def configure(environ: Mapping[str, str], group_id: str = "") -> Tracing:
    """Tracing as the ``OTEL_*`` variables in ``environ`` ask; :data:`NO_TRACING` unless an exporter is
    named. ``ConfigError`` names the variable when the request cannot be met."""
    exporter = environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true" or exporter in ("", "none"):
        return NO_TRACING
    if exporter not in EXPORTERS:
        raise ConfigError(f"{exporter!r} is not one of {', '.join(EXPORTERS)}", field="OTEL_TRACES_EXPORTER")
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if exporter == "otlp" and protocol not in (None, "", "http/protobuf"):
        raise ConfigError(
            f"{protocol!r}: only http/protobuf is supported", field="OTEL_EXPORTER_OTLP_PROTOCOL"
        )
    try:
        from consumer import otel  # noqa: PLC0415 - the optional extra, imported only when asked for
    except ImportError:
        raise ConfigError(
            "tracing needs the otel extra: pip install 'single-send-consumer[otel]'",
            field="OTEL_TRACES_EXPORTER",
        ) from None
    return otel.build(exporter, environ, group_id)
