"""Tracing is off unless the standard OTEL_* variables ask for it, and a request it cannot meet is a
one-line settings error naming the variable."""

from __future__ import annotations

import pytest

from consumer.errors import ConfigError
from consumer.tracing import NO_TRACING, configure


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"OTEL_TRACES_EXPORTER": "none"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},  # an endpoint alone turns nothing on
    ],
)
def test_tracing_is_off_unless_an_exporter_is_named(environ: dict[str, str]) -> None:
    assert configure(environ) is NO_TRACING


@pytest.mark.parametrize("exporter", ["otlp", "console", " OTLP "])
def test_a_named_exporter_turns_tracing_on(exporter: str) -> None:
    tracing = configure({"OTEL_TRACES_EXPORTER": exporter})
    try:
        assert tracing.enabled
        assert len(tracing.http_trace_configs()) == 1
    finally:
        tracing.shutdown()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"OTEL_TRACES_EXPORTER": "jaeger"},
            "OTEL_TRACES_EXPORTER: 'jaeger' is not one of otlp, console, none",
        ),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc': only http/protobuf is supported",
        ),
    ],
)
def test_an_unmet_request_names_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        configure(environ)
    assert str(err.value) == message


def test_tracing_off_hooks_change_nothing() -> None:
    sink = object()
    assert NO_TRACING.dead_letters(sink, str) is sink  # type: ignore[arg-type]
    assert NO_TRACING.http_trace_configs() == ()
